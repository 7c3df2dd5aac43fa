/**
 * What the SDK's test harnesses share on the Node side: instantiating a harness whose only import
 * is `env.proxy_log` (each line it logs is collected, decoded as UTF-8), and calling a guest
 * export with bytes copied into a block from the harness's `alloc` export, handed back with its
 * `release` export afterwards, whatever the call does.
 */
import { wasmApi, type WasmMemory } from "../../../manager/src/build/index.ts";

/** The exports every harness has: its memory and the pinned-block allocator. */
export interface GuestAllocator {
  memory: WasmMemory;
  alloc?: (len: number) => number;
  release?: (ptr: number) => unknown;
}

/** Calls fn(ptr, len) with `bytes` in a fresh guest block, releasing the block afterwards. */
export function withGuestBytes<T>(exports: GuestAllocator, bytes: Uint8Array, fn: (ptr: number, len: number) => T): T {
  const ptr = exports.alloc!(bytes.length);
  new Uint8Array(exports.memory.buffer, ptr, bytes.length).set(bytes);
  try {
    return fn(ptr, bytes.length);
  } finally {
    exports.release!(ptr);
  }
}

/** Instantiates `wasm` with `env.proxy_log` only, runs `_initialize`, returns its exports and log lines. */
export async function instantiateWithLog<E extends { memory: WasmMemory }>(wasm: Uint8Array): Promise<{ exports: E; logs: string[] }> {
  const logs: string[] = [];
  let memory: WasmMemory | undefined;
  const env = {
    proxy_log: (_level: number, ptr: number, len: number) => {
      logs.push(Buffer.from(new Uint8Array(memory!.buffer, ptr, len)).toString("utf8"));
      return 0;
    },
  };
  const { instance } = await wasmApi.instantiate(wasm, { env });
  const exports = instance.exports as unknown as E & { _initialize?: () => void };
  memory = exports.memory;
  exports._initialize!();
  return { exports, logs };
}
