/**
 * Loads the grpc-balancer pure-module guest (harness/balancer-harness.as.ts) into Node's
 * WebAssembly: the estimator, chooser, table model and parsers as plain functions. Time is a
 * fake clock the tests pass in nanoseconds (bigint for u64 parameters).
 */
import { compileAssemblyScript, wasmApi, type WasmMemory } from "../../../manager/src/build/index.ts";

export const BALANCER_HARNESS_ENTRY = "filters/grpc-balancer/test/harness/balancer-harness.as.ts";

type Fn = (...args: Array<number | bigint>) => number;

export interface PureHarness {
  x: Record<string, Fn> & { memory: WasmMemory };
  logs: string[];
  /** Calls `fn(ptr, len)` with `text` as UTF-8 in guest memory. */
  withBytes<T>(text: string | Uint8Array, fn: (ptr: number, len: number) => T): T;
}

let compiled: Promise<Uint8Array> | undefined;

export async function loadPureHarness(): Promise<PureHarness> {
  const wasm = await (compiled ??= compileAssemblyScript(BALANCER_HARNESS_ENTRY));
  const logs: string[] = [];
  let memory: WasmMemory | undefined;
  const env = {
    proxy_log: (_level: number, ptr: number, len: number) => {
      logs.push(Buffer.from(new Uint8Array(memory!.buffer, ptr, len)).toString("utf8"));
      return 0;
    },
  };
  const { instance } = await wasmApi.instantiate(wasm, { env });
  const x = instance.exports as unknown as PureHarness["x"];
  memory = x.memory;
  x._initialize!();
  return {
    x,
    logs,
    withBytes(text, fn) {
      const bytes = typeof text === "string" ? Buffer.from(text, "utf8") : text;
      const ptr = x.alloc!(Math.max(bytes.length, 1));
      new Uint8Array(x.memory.buffer, ptr, bytes.length).set(bytes);
      try {
        return fn(ptr, bytes.length);
      } finally {
        x.release!(ptr);
      }
    },
  };
}

/** ms -> ns as the guest's u64. */
export const ms = (v: number): bigint => BigInt(Math.round(v * 1e6));
