/**
 * FastMetricTable: the host's side of the metric adapter's memory (layout in
 * metric-adapter-module.ts). Counter increments, counter records and gauge increments of ids the
 * host marked foldable are summed there by the adapter without calling JavaScript; `fold()` adds
 * every pending sum to its stat (`Counter.add` / `Gauge.add`, so the stat's `used` flag and value
 * end up exactly as if each update had reached it: additions commute, a touched slot with a zero
 * sum still adds 0) and clears the slots.
 *
 * Only the host grows the memory (in `enable`), so the views made after a growth stay valid. A
 * slot index beyond `MAX_SLOT_INDEX` is never marked: its updates take the host path.
 */
import type { Counter, Gauge } from "../stats/types.ts";
import { joinSigned, joinUnsigned } from "./i64-adapter.ts";

const HEADER_BYTES = 16;
const SLOT_BYTES = 16;
const INDEX_BYTES = 32; // a counter slot and a gauge slot per id >>> 2
const PAGE = 65536;
/** Highest metric index (id >>> 2) given a slot: 2^18 indexes, 8 MiB of table. */
export const MAX_SLOT_INDEX = (1 << 18) - 1;
const MAX_PAGES = Math.ceil((HEADER_BYTES + (MAX_SLOT_INDEX + 1) * INDEX_BYTES) / PAGE);

// Header fields, as i32 indexes.
const ENABLED = 0, FAST_UPDATES = 1, DIRTY = 2, CAPACITY = 3;

interface FoldableSlot {
  /** i32 index of the slot's pending sum (low half; high half next, state, touched). */
  at: number;
  signed: boolean;
  stat: Counter | Gauge;
}

export class FastMetricTable {
  readonly memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES });
  private words = new Int32Array(this.memory.buffer);
  private readonly slots: FoldableSlot[] = [];

  constructor() {
    this.setCapacity();
  }

  /** Turns the Wasm path on (the VM runs guest code) or off (start-up, allocator). */
  setEnabled(on: boolean): void {
    this.words[ENABLED] = on ? 1 : 0;
  }

  /** Updates answered in Wasm so far. */
  fastUpdates(): number {
    return this.words[FAST_UPDATES]! >>> 0;
  }

  /**
   * Lets the adapter update the counter (type 0) or gauge (type 1) `id` of `stat`; false when
   * the id is beyond the table (its updates then take the host path).
   */
  enable(id: number, stat: Counter | Gauge): boolean {
    const index = id >>> 2;
    if (index > MAX_SLOT_INDEX) return false;
    while (index >= this.words[CAPACITY]!) {
      this.memory.grow(1);
      this.words = new Int32Array(this.memory.buffer);
      this.setCapacity();
    }
    const at = (HEADER_BYTES + index * INDEX_BYTES + (id & 1) * SLOT_BYTES) >> 2;
    this.words[at] = 0;
    this.words[at + 1] = 0;
    this.words[at + 2] = 1;
    this.words[at + 3] = 0;
    this.slots.push({ at, signed: (id & 1) === 1, stat });
    return true;
  }

  /** Adds every pending sum to its stat and clears it (nothing to do unless an update came). */
  fold(): void {
    const w = this.words;
    if (w[DIRTY] === 0) return;
    w[DIRTY] = 0;
    for (const s of this.slots) {
      if (w[s.at + 3] === 0) continue;
      const lo = w[s.at]!, hi = w[s.at + 1]!;
      w[s.at] = 0;
      w[s.at + 1] = 0;
      w[s.at + 3] = 0;
      s.stat.add(s.signed ? joinSigned(lo, hi) : joinUnsigned(lo, hi));
    }
  }

  /** Folds, then stops the Wasm path for good (every update reaches the host). */
  close(): void {
    this.fold();
    this.setEnabled(false);
    this.words[CAPACITY] = 0;
    this.slots.length = 0;
  }

  private setCapacity(): void {
    this.words[CAPACITY] = Math.min(MAX_SLOT_INDEX + 1, Math.floor((this.memory.buffer.byteLength - HEADER_BYTES) / INDEX_BYTES));
  }
}
