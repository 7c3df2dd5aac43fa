/**
 * One filter's place in a stream's chain and its iteration state per direction (Envoy's
 * ActiveStreamDecoderFilter / ActiveStreamEncoderFilter, source/common/http/filter_manager.h):
 * whether it stopped iteration and how, whether its headers were continued, whether it saw
 * the end of the stream. The filter manager (filter-manager.ts) reads and writes this state.
 */
import type { StreamFilter } from "../../http/filter.ts";
import { FilterCallbacks } from "./filter-callbacks.ts";
import type { FilterManager } from "./filter-manager.ts";

export enum Side {
  Decode = 0,
  Encode = 1,
}

export enum Iter {
  Continue,
  StopSingle,
  StopAllBuffer,
  StopAllWatermark,
}

export class FilterEntry {
  readonly callbacks: FilterCallbacks;
  iter: [Iter, Iter] = [Iter.Continue, Iter.Continue];
  headersContinued: [boolean, boolean] = [false, false];
  endStream: [boolean, boolean] = [false, false];
  sawHeaders: [boolean, boolean] = [false, false];
  constructor(
    readonly fm: FilterManager,
    readonly filter: StreamFilter,
    readonly index: number,
  ) {
    this.callbacks = new FilterCallbacks(fm, this);
  }
  stoppedAll(side: Side): boolean {
    return this.iter[side] === Iter.StopAllBuffer || this.iter[side] === Iter.StopAllWatermark;
  }
}

/** The filters that saw the request headers, last first (the order encode* runs in). */
export function encoderOrderOf(entries: FilterEntry[]): FilterEntry[] {
  const order: FilterEntry[] = [];
  for (let i = entries.length - 1; i >= 0; i--) if (entries[i]!.sawHeaders[Side.Decode]) order.push(entries[i]!);
  return order;
}
