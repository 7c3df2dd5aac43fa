/**
 * The metric adapter: `proxy_increment_metric(u32 id, i64 delta)` and
 * `proxy_record_metric(u32 id, u64 value)` (proxy-wasm ABI 0.2.x) are linked to the exports of a
 * small Wasm module (metric-adapter-module.ts) with the ABI's own signature `(i32, i64) -> i32`.
 *
 * - The common case never calls JavaScript: a counter increment, a counter record or a gauge
 *   increment of an id the host marked in the adapter's memory (FastMetricTable,
 *   metric-fast-table.ts) is added to that id's pending sum there, and folded into the stats store
 *   before any read. The marks exist only while the VM runs guest code (not during start-up or
 *   the allocator, where the host's restricted-callback check must see the call).
 * - Anything else (an unknown id, a histogram, a gauge set, a counter delta <= 0, a sum that would
 *   overflow 64 bits) calls the JavaScript implementation with the i64 split into its low and high
 *   32-bit halves, as before: the WebAssembly JS API would hand an i64 to a JavaScript import as
 *   a BigInt (a heap allocation per call). The halves are rejoined as a number when exact
 *   (|value| < 2^53) and as a BigInt otherwise (`joinSigned`, `joinUnsigned`).
 *
 * A Wasm function imported into another module is called Wasm to Wasm, so the guest sees the
 * same import with the same signature, results and traps. A guest that declares either import
 * with another signature cannot link a Wasm function (the JS API checks Wasm-to-Wasm
 * signatures): the VM then links the plain JavaScript imports instead (vm.ts).
 */
import { METRIC_ADAPTER_BYTES } from "./metric-adapter-module.ts";
import type { FastMetricTable } from "./metric-fast-table.ts";

let adapterModule: WebAssembly.Module | undefined;

/** An i64 import's implementation taking the value as two 32-bit halves (as Wasm i32s: signed). */
export type SplitI64Import = (id: number, lo: number, hi: number) => number;

export interface I64Imports {
  proxy_increment_metric: Function;
  proxy_record_metric: Function;
}

/**
 * The two metric imports as Wasm functions of signature (i32, i64) -> i32: updates marked in
 * `table` are summed there, every other call reaches `split` (all of them without a table).
 */
export function adaptI64Imports(
  split: { increment: SplitI64Import; record: SplitI64Import },
  table?: FastMetricTable,
): I64Imports {
  adapterModule ??= new WebAssembly.Module(METRIC_ADAPTER_BYTES);
  const memory = table?.memory ?? new WebAssembly.Memory({ initial: 1 }); // all zero: nothing marked
  const instance = new WebAssembly.Instance(adapterModule, { h: { i: split.increment, r: split.record, m: memory } });
  return {
    proxy_increment_metric: instance.exports["i"] as Function,
    proxy_record_metric: instance.exports["r"] as Function,
  };
}

const TWO_POW_32 = 4294967296;
/** Highest half whose value stays a safe integer: |hi * 2^32 + lo| < 2^53. */
const SAFE_HIGH = 0x1fffff;

/** The i64 of the halves (two's complement): a number when exact, else a BigInt. */
export function joinSigned(lo: number, hi: number): number | bigint {
  const h = hi | 0;
  if (h >= -SAFE_HIGH - 1 && h <= SAFE_HIGH) {
    const v = h * TWO_POW_32 + (lo >>> 0);
    if (Number.isSafeInteger(v)) return v;
  }
  return (BigInt(h) << 32n) | BigInt(lo >>> 0);
}

/** The u64 of the halves: a number when exact, else a BigInt. */
export function joinUnsigned(lo: number, hi: number): number | bigint {
  const h = hi >>> 0;
  if (h <= SAFE_HIGH) return h * TWO_POW_32 + (lo >>> 0);
  return (BigInt(h) << 32n) | BigInt(lo >>> 0);
}
