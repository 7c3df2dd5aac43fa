/**
 * Loads the AssemblyScript gRPC harness (harness/grpc-harness.as.ts) into Node's WebAssembly,
 * with `env.proxy_log` as its only import, and wraps its exports with byte/string helpers.
 */
import type { WasmMemory } from "../../../manager/src/build/index.ts";
import { compileCached } from "../../../test/support/compile-cache.ts";
import { instantiateWithLog, withGuestBytes } from "./guest-loader.ts";

type Fn = (...args: number[]) => number;
type BigFn = (...args: number[]) => bigint;

export interface GrpcHarness {
  exports: Record<string, Fn> & { memory: WasmMemory };
  logs: string[];
  /** Copies bytes into a fresh pinned guest block; returns its pointer. */
  put(bytes: Uint8Array): number;
  release(ptr: number): void;
  /** Calls fn(ptr, len, ...rest) with `bytes` in guest memory. */
  withBytes(bytes: Uint8Array, fn: (ptr: number, len: number) => number): number;
  out(): Uint8Array;
  outString(): string;
  big(name: string): bigint;
  memoryBytes(): number;
}

export const HARNESS_ENTRY = "filters/sdk/test/harness/grpc-harness.as.ts";

/** Compiles the harness (release target), once per source state across test files (compile-cache.ts). */
export async function compileHarness(): Promise<Uint8Array> {
  return compileCached(HARNESS_ENTRY);
}

export async function loadHarness(wasm: Uint8Array): Promise<GrpcHarness> {
  const { exports, logs } = await instantiateWithLog<GrpcHarness["exports"]>(wasm);
  const put = (bytes: Uint8Array): number => {
    const ptr = exports.alloc!(bytes.length);
    new Uint8Array(exports.memory.buffer, ptr, bytes.length).set(bytes);
    return ptr;
  };
  return {
    exports,
    logs,
    put,
    release: (ptr) => void exports.release!(ptr),
    withBytes: (bytes, fn) => withGuestBytes(exports, bytes, fn),
    out: () => new Uint8Array(exports.memory.buffer, exports.outPtr!(), exports.outLen!()).slice(),
    outString: () => Buffer.from(new Uint8Array(exports.memory.buffer, exports.outPtr!(), exports.outLen!())).toString("utf8"),
    big: (name) => (exports[name] as unknown as BigFn)(),
    memoryBytes: () => exports.memory.buffer.byteLength,
  };
}

/** Serializes a header map in the proxy-wasm pairs format (ABI note §1.6). */
export function encodePairs(pairs: Array<[string, string]>): Uint8Array {
  const parts = pairs.map(([k, v]) => [Buffer.from(k), Buffer.from(v)] as const);
  const size = 4 + parts.reduce((n, [k, v]) => n + 8 + k.length + v.length + 2, 0);
  const buf = Buffer.alloc(size);
  buf.writeUInt32LE(parts.length, 0);
  let data = 4 + parts.length * 8;
  parts.forEach(([k, v], i) => {
    buf.writeUInt32LE(k.length, 4 + i * 8);
    buf.writeUInt32LE(v.length, 8 + i * 8);
    k.copy(buf, data); data += k.length + 1;
    v.copy(buf, data); data += v.length + 1;
  });
  return new Uint8Array(buf);
}
