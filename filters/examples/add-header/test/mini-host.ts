/**
 * A deliberately tiny proxy-wasm host for the add-header filter's unit tests: just the imports
 * the filter reaches (log, log level, property, plugin configuration buffer, metrics, header add,
 * effective context), each following Envoy's semantics for the cases used. Anything else returns
 * Unimplemented (12). The full host lives in manager/src/sidecar/host.
 */
import { wasmApi, type WasmMemory } from "../../../../manager/src/build/index.ts";

type Exports = Record<string, (...args: number[]) => number> & { memory: WasmMemory };

export interface MiniHost {
  exports: Exports;
  logs: Array<{ level: number; message: string }>;
  /** Added headers per map type (0 request, 2 response). */
  headers: Map<number, Array<[string, string]>>;
  counters: Map<string, bigint>;
  memoryBytes(): number;
}

export async function startMiniHost(wasm: Uint8Array, config: string, logLevel = 1): Promise<MiniHost> {
  let exports!: Exports;
  const logs: MiniHost["logs"] = [];
  const headers = new Map<number, Array<[string, string]>>();
  const metricNames = new Map<number, string>();
  const counters = new Map<string, bigint>();
  const bytes = () => new Uint8Array(exports.memory.buffer);
  const view = () => new DataView(exports.memory.buffer);
  const text = (ptr: number, len: number) => Buffer.from(bytes().subarray(ptr, ptr + len)).toString("utf8");
  const give = (data: Uint8Array, outPtr: number, outLen: number) => {
    const ptr = data.length ? exports.malloc!(data.length) : 0;
    bytes().set(data, ptr);
    view().setUint32(outPtr, ptr, true);
    view().setUint32(outLen, data.length, true);
  };
  const impl: Record<string, (...a: never[]) => number> = {
    proxy_log: (level: number, ptr: number, len: number) => { logs.push({ level, message: text(ptr, len) }); return 0; },
    proxy_get_log_level: (out: number) => { view().setUint32(out, logLevel, true); return 0; },
    proxy_get_property: () => 1, // NotFound: no plugin_root_id configured
    proxy_get_buffer_bytes: (type: number, start: number, max: number, outPtr: number, outLen: number) => {
      if (type !== 7) return 1;
      give(Buffer.from(config).subarray(start, start + max), outPtr, outLen);
      return 0;
    },
    proxy_define_metric: (type: number, ptr: number, len: number, out: number) => {
      const id = 4 * (metricNames.size + 1) + type;
      metricNames.set(id, text(ptr, len));
      view().setUint32(out, id, true);
      return 0;
    },
    proxy_increment_metric: (id: number, delta: bigint) => {
      const name = metricNames.get(id);
      if (name === undefined) return 1;
      if (delta <= 0n) return 2;
      counters.set(name, (counters.get(name) ?? 0n) + delta);
      return 0;
    },
    proxy_add_header_map_value: (type: number, kp: number, kl: number, vp: number, vl: number) => {
      const list = headers.get(type) ?? [];
      list.push([text(kp, kl).toLowerCase(), text(vp, vl)]);
      headers.set(type, list);
      return 0;
    },
    proxy_set_effective_context: () => 0,
  };
  const env = new Proxy(impl, { get: (t, name: string) => t[name] ?? (() => 12) });
  const { instance } = await wasmApi.instantiate(wasm, { env });
  exports = instance.exports as unknown as Exports;
  exports._initialize!();
  return { exports, logs, headers, counters, memoryBytes: () => exports.memory.buffer.byteLength };
}

/** Creates root 1 and configures it; returns proxy_on_configure's result. */
export function configureRoot(host: MiniHost, config: string): boolean {
  host.exports.proxy_on_context_create!(1, 0);
  if (host.exports.proxy_on_vm_start!(1, 0) !== 1) return false;
  return host.exports.proxy_on_configure!(1, Buffer.byteLength(config)) === 1;
}

/** One HTTP stream through every callback in Envoy's order; returns the header callbacks' results. */
export function runStream(host: MiniHost, id: number): [number, number] {
  const e = host.exports;
  e.proxy_on_context_create!(id, 1);
  const req = e.proxy_on_request_headers!(id, 4, 1);
  const resp = e.proxy_on_response_headers!(id, 1, 0);
  e.proxy_on_response_body!(id, 10, 1);
  e.proxy_on_log!(id);
  e.proxy_on_done!(id);
  e.proxy_on_delete!(id);
  return [req, resp];
}
