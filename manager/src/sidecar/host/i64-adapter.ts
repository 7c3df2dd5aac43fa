/**
 * i64 adapters for the metric imports: `proxy_increment_metric(u32 id, i64 delta)` and
 * `proxy_record_metric(u32 id, u64 value)` (proxy-wasm ABI 0.2.x) reach the host without a
 * BigInt.
 *
 * The WebAssembly JS API hands an i64 argument to a JavaScript import as a BigInt (a heap
 * allocation per call, then BigInt arithmetic), and the metric updates are the most frequent
 * host calls of a metrics filter. So the host links those two imports to the exports of a tiny
 * Wasm module (assembled below, byte by byte) with the ABI's own signature `(i32, i64) -> i32`:
 * each splits the i64 into its low and high 32-bit halves and calls the JavaScript
 * implementation with three i32 arguments. A Wasm function imported into another module is
 * called Wasm to Wasm, so the guest sees the same import with the same signature, results and
 * traps as before; only the JavaScript side changes. The halves are rejoined as a number when
 * exact (|value| < 2^53) and as a BigInt otherwise (`joinSigned`, `joinUnsigned`).
 *
 * A guest that declares either import with another signature cannot link a Wasm function (the
 * JS API checks Wasm-to-Wasm signatures): the VM then links the plain JavaScript imports instead
 * (vm.ts), as before.
 *
 * The module, in WAT:
 *   (module
 *     (import "h" "i" (func $i (param i32 i32 i32) (result i32)))
 *     (import "h" "r" (func $r (param i32 i32 i32) (result i32)))
 *     (func (export "i") (param i32 i64) (result i32)
 *       (call $i (local.get 0) (i32.wrap_i64 (local.get 1)) (i32.wrap_i64 (i64.shr_u (local.get 1) (i64.const 32)))))
 *     (func (export "r") (param i32 i64) (result i32)
 *       (call $r (local.get 0) (i32.wrap_i64 (local.get 1)) (i32.wrap_i64 (i64.shr_u (local.get 1) (i64.const 32))))))
 */

/** Body of an adapter calling import `index`: (id, lo, hi) from (id, i64). */
function adapterBody(index: number): number[] {
  // locals: none; local.get 0; local.get 1; i32.wrap_i64; local.get 1; i64.const 32; i64.shr_u;
  // i32.wrap_i64; call index; end
  const code = [0x00, 0x20, 0x00, 0x20, 0x01, 0xa7, 0x20, 0x01, 0x42, 0x20, 0x88, 0xa7, 0x10, index, 0x0b];
  return [code.length, ...code];
}

function section(id: number, content: number[]): number[] {
  return [id, content.length, ...content]; // every section here is shorter than 128 bytes
}

const ADAPTER_BYTES = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  // types: 0 = (i32 i32 i32) -> i32, 1 = (i32 i64) -> i32
  ...section(1, [0x02, 0x60, 0x03, 0x7f, 0x7f, 0x7f, 0x01, 0x7f, 0x60, 0x02, 0x7f, 0x7e, 0x01, 0x7f]),
  // imports: h.i and h.r, functions of type 0
  ...section(2, [0x02, 0x01, 0x68, 0x01, 0x69, 0x00, 0x00, 0x01, 0x68, 0x01, 0x72, 0x00, 0x00]),
  // functions 2 and 3, of type 1
  ...section(3, [0x02, 0x01, 0x01]),
  // exports: "i" = function 2, "r" = function 3
  ...section(7, [0x02, 0x01, 0x69, 0x00, 0x02, 0x01, 0x72, 0x00, 0x03]),
  ...section(10, [0x02, ...adapterBody(0), ...adapterBody(1)]),
]);

let adapterModule: WebAssembly.Module | undefined;

/** An i64 import's implementation taking the value as two 32-bit halves (as Wasm i32s: signed). */
export type SplitI64Import = (id: number, lo: number, hi: number) => number;

export interface I64Imports {
  proxy_increment_metric: Function;
  proxy_record_metric: Function;
}

/** The two metric imports as Wasm functions of signature (i32, i64) -> i32 calling `split`. */
export function adaptI64Imports(split: { increment: SplitI64Import; record: SplitI64Import }): I64Imports {
  adapterModule ??= new WebAssembly.Module(ADAPTER_BYTES);
  const instance = new WebAssembly.Instance(adapterModule, { h: { i: split.increment, r: split.record } });
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
