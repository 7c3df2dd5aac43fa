/**
 * Loads the labelled-metrics test guest (harness/metrics-harness.as.ts) into Node's WebAssembly
 * with the proxy-wasm metric imports served by the host's own MetricsRegistry over an in-memory
 * stats store (the code the sidecar uses), so names and values land where Envoy would put them.
 */
import { compileAssemblyScript, wasmApi, type WasmMemory } from "../../../manager/src/build/index.ts";
import { withGuestBytes } from "./guest-loader.ts";
import { MetricsRegistry } from "../../../manager/src/sidecar/host/metrics.ts";
import { MemoryStatsStore } from "../../../manager/src/sidecar/stats/store.ts";
import { WasmResult } from "../../../manager/src/sidecar/host/abi.ts";

type Fn = (...args: Array<number | bigint>) => number;

export const METRICS_HARNESS_ENTRY = "filters/sdk/test/harness/metrics-harness.as.ts";

export function compileMetricsHarness(): Promise<Uint8Array> {
  return compileAssemblyScript(METRICS_HARNESS_ENTRY);
}

export interface MetricsHarness {
  exports: Record<string, Fn> & { memory: WasmMemory };
  stats: MemoryStatsStore;
  /** Names passed to proxy_define_metric, in order. */
  defined: string[];
  logs: string[];
  /** When set, proxy_define_metric answers this status instead of defining. */
  refuseDefine?: WasmResult;
  withString<T>(s: string, fn: (ptr: number, len: number) => T): T;
  outString(): string;
  family(type: number, name: string, labels: string[], maxSeries?: number, boundedLabels?: number): number;
  set(family: number, values: string[]): void;
  memoryBytes(): number;
}

export async function loadMetricsHarness(wasm: Uint8Array): Promise<MetricsHarness> {
  const stats = new MemoryStatsStore();
  const registry = new MetricsRegistry(stats);
  const defined: string[] = [];
  const logs: string[] = [];
  let memory: WasmMemory | undefined;
  const bytes = (ptr: number, len: number) => new Uint8Array(memory!.buffer, ptr, len);
  const h = {} as MetricsHarness;
  const env = {
    proxy_log: (_level: number, ptr: number, len: number) => {
      logs.push(Buffer.from(bytes(ptr, len)).toString("utf8"));
      return 0;
    },
    proxy_define_metric: (type: number, ptr: number, len: number, idPtr: number) => {
      if (h.refuseDefine !== undefined) return h.refuseDefine;
      const name = Buffer.from(bytes(ptr, len)).toString("utf8");
      const r = registry.define(type, name);
      if (r.result !== WasmResult.Ok) return r.result;
      defined.push(name);
      new DataView(memory!.buffer).setUint32(idPtr, r.id!, true);
      return WasmResult.Ok;
    },
    proxy_increment_metric: (id: number, delta: bigint) => registry.increment(id >>> 0, BigInt(delta)),
    proxy_record_metric: (id: number, value: bigint) => registry.record(id >>> 0, BigInt(value)),
    proxy_get_metric: (id: number, ptr: number) => {
      const r = registry.get(id >>> 0);
      if (r.result === WasmResult.Ok) new DataView(memory!.buffer).setBigUint64(ptr, r.value!, true);
      return r.result;
    },
  };
  const { instance } = await wasmApi.instantiate(wasm, { env });
  const exports = instance.exports as unknown as MetricsHarness["exports"];
  memory = exports.memory;
  exports._initialize!();
  const withString = <T>(s: string, fn: (ptr: number, len: number) => T): T => withGuestBytes(exports, Buffer.from(s, "utf8"), fn);
  Object.assign(h, {
    exports,
    stats,
    defined,
    logs,
    withString,
    outString: () => Buffer.from(new Uint8Array(exports.memory.buffer, exports.outPtr!(), exports.outLen!())).toString("utf8"),
    family: (type: number, name: string, labels: string[], maxSeries = 1000, boundedLabels = 0) =>
      withString(name, (np, nl) =>
        withString(labels.join("\n"), (lp, ll) => exports.newFamily!(type, np, nl, lp, ll, maxSeries, boundedLabels)),
      ),
    set: (family: number, values: string[]) =>
      values.forEach((v, i) => withString(v, (p, l) => exports.setValue!(family, i, p, l))),
    memoryBytes: () => exports.memory.buffer.byteLength,
  });
  return h;
}
