/**
 * Test support for grpc-balancer in the proxy-wasm host: the compiled filter (once per test
 * file), a plugin per configuration on a virtual clock, and scripted gRPC RPCs whose upstream is
 * chosen the way Envoy's override mechanisms would (the session header's base64 address, the
 * first address of the override_host header, else a fallback standing for Envoy's balancer),
 * with the served address exposed as `upstream.address` and, in session mode, the session
 * filter's echo of the served host on the response. Metrics are read back by name and labels.
 */
import { compileAssemblyScript } from "../../../manager/src/build/index.ts";
import {
  createPlugin,
  createTestEnvironment,
  openTestStream,
  testPluginConfig,
  type Plugin,
  type TestEnvironment,
  type TestStream,
} from "../../../manager/src/sidecar/host/index.ts";
import { StreamInfo, type ResponseFlag } from "../../../manager/src/sidecar/http/stream-info.ts";

export const ENTRY = "filters/grpc-balancer/assembly/index.ts";
export const SESSION_HEADER = "x-meshwasm-endpoint";
export const OVERRIDE_HEADER = "x-gateway-destination-endpoint";

let compiled: Promise<Uint8Array> | undefined;
/** The release build of the filter (as `meshwasm build` makes it). */
export function filterWasm(): Promise<Uint8Array> {
  return (compiled ??= compileAssemblyScript(ENTRY, { target: "grpc-balancer" }));
}

export interface Loaded {
  env: TestEnvironment;
  plugin: Plugin;
  mode: "session" | "override";
  header: string;
}

export async function loadBalancer(
  config: Record<string, unknown> | string = {},
  opts: { concurrency?: number; env?: TestEnvironment; name?: string } = {},
): Promise<Loaded> {
  const env = opts.env ?? createTestEnvironment({ concurrency: opts.concurrency, logLevel: 2 });
  const text = typeof config === "string" ? config : JSON.stringify(config);
  const plugin = await createPlugin(
    testPluginConfig(await filterWasm(), {
      name: opts.name ?? "grpc-balancer",
      rootId: "",
      vmId: "balancer",
      codeSource: "grpc-balancer.wasm",
      configuration: new TextEncoder().encode(text),
      failurePolicy: "FAIL_CLOSED",
    }),
    env,
  );
  const parsed = typeof config === "string" ? {} : config;
  const mode = parsed.mode === "OVERRIDE_HOST" ? "override" : "session";
  const header = typeof parsed.header === "string" ? parsed.header : mode === "override" ? OVERRIDE_HEADER : SESSION_HEADER;
  return { env, plugin, mode, header };
}

export const b64 = (s: string): string => Buffer.from(s).toString("base64");
export const unb64 = (s: string): string => Buffer.from(s, "base64").toString("utf8");

/** A gRPC length-prefixed message of `n` bytes. */
export function frame(n = 4): Uint8Array {
  const b = Buffer.alloc(5 + n, 0x61);
  b[0] = 0;
  b.writeUInt32BE(n, 1);
  return new Uint8Array(b);
}

export interface RpcSpec {
  cluster?: string | null;
  path?: string;
  requestHeaders?: Array<[string, string]>;
  /** What Envoy's balancer picks when the filter did not steer (default: the first of `pool`). */
  fallback?: string;
  latencyMs?: number;
  /** grpc-status sent in the trailers (or in the headers when `trailersOnly`); default 0; null: none. */
  status?: number | null;
  trailersOnly?: boolean;
  /** `:status` of the response (default 200). */
  httpStatus?: number;
  responseHeaders?: Array<[string, string]>;
  trailers?: Array<[string, string]>;
  requestMessages?: number;
  responseMessages?: number;
  /** "reset": no response, with `flags`; "cancel": the client goes away before any response. */
  outcome?: "complete" | "reset" | "cancel";
  flags?: ResponseFlag[];
  /** Response-side settings that depend on the address the RPC went to. */
  respond?: (served: string | undefined) => Omit<RpcSpec, "respond" | "cluster" | "path" | "requestHeaders" | "fallback">;
}

export interface RpcResult {
  stream: TestStream;
  /** The filter's request header, as the upstream saw it (undefined: not steered). */
  header?: string;
  /** The address that served the RPC. */
  served?: string;
}

/** The address the filter's header asks for (first of the override list). */
export function requested(l: Loaded, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return l.mode === "session" ? unb64(value) : value.split(",")[0];
}

export function rpc(l: Loaded, given: RpcSpec = {}): RpcResult {
  let spec = given;
  const info = new StreamInfo({ wallNs: 1_700_000_000_000_000_000n, monoNs: 0n });
  if (spec.cluster !== null) info.clusterName = spec.cluster ?? "backend";
  const s = openTestStream(l.plugin, { streamInfo: info });
  s.sendRequestHeaders([
    [":method", "POST"],
    [":scheme", "http"],
    [":path", spec.path ?? "/meshtest.Echo/Unary"],
    [":authority", "echo"],
    ["content-type", "application/grpc"],
    ["te", "trailers"],
    ...(spec.requestHeaders ?? []),
  ]);
  const header = s.upstream.headers?.get(l.header);
  const reqMsgs = spec.requestMessages ?? 1;
  for (let i = 0; i < reqMsgs; i++) s.sendRequestBody(frame(3), i === reqMsgs - 1);
  const target = requested(l, header) ?? spec.fallback;
  if (spec.respond) spec = { ...spec, ...spec.respond(target) };
  if (spec.outcome === "cancel" || spec.outcome === "reset") {
    if (spec.latencyMs) l.env.clock.advance(spec.latencyMs);
    if (target && spec.outcome === "reset") info.upstreamHost = hostOf(target);
    for (const f of spec.flags ?? []) info.responseFlags.add(f);
    s.complete();
    return { stream: s, header, served: target };
  }
  if (target) info.upstreamHost = hostOf(target);
  if (spec.latencyMs) l.env.clock.advance(spec.latencyMs);
  const headers: Array<[string, string]> = [
    [":status", String(spec.httpStatus ?? 200)],
    ["content-type", "application/grpc"],
    ...(spec.responseHeaders ?? []),
  ];
  // The session filter (after this one in the chain) echoes the served host when it differs.
  if (l.mode === "session" && target && (header === undefined || unb64(header) !== target)) headers.push([l.header, b64(target)]);
  const status: Array<[string, string]> = spec.status === null ? [] : [["grpc-status", String(spec.status ?? 0)]];
  if (spec.trailersOnly) {
    s.sendResponseHeaders([...headers, ...status], true);
  } else {
    s.sendResponseHeaders(headers, false);
    const n = spec.responseMessages ?? 1;
    for (let i = 0; i < n; i++) s.sendResponseBody(frame(4), false);
    if (status.length > 0 || spec.trailers) s.sendResponseTrailers([...status, ...(spec.trailers ?? [])]);
    else s.sendResponseBody(new Uint8Array(0), true);
  }
  s.complete();
  return { stream: s, header, served: target };
}

export function hostOf(address: string): { address: string; port: number } {
  const i = address.lastIndexOf(":");
  const host = address.slice(0, i);
  return { address: host.startsWith("[") ? host.slice(1, -1) : host, port: Number(address.slice(i + 1)) };
}

/**
 * Passthrough RPCs served by each address, then ticks: the cluster and endpoints are known to
 * every worker VM (each VM sees the others' discoveries one fold later).
 */
export function warm(l: Loaded, addresses: string[], cluster = "backend", tickMs = 100): void {
  const vms = Math.max(1, l.plugin.workerVms().length);
  for (let i = 0; i < vms; i++) rpc(l, { cluster, fallback: addresses[0] }); // the cluster: known at the next fold
  l.env.clock.advance(tickMs);
  for (const a of addresses) for (let i = 0; i < vms; i++) rpc(l, { cluster, fallback: a });
  l.env.clock.advance(tickMs * 2);
}

// ===== metrics =====

export interface Series {
  name: string;
  labels: Record<string, string>;
  value: bigint;
}

/** `wasmcustom.a=.=1;.;b=.=2;.;base` -> { name: "base", labels: {a: "1", b: "2"} }. */
function parseName(full: string): { name: string; labels: Record<string, string> } {
  const rest = full.startsWith("wasmcustom.") ? full.slice("wasmcustom.".length) : full;
  const parts = rest.split(";.;");
  const labels: Record<string, string> = {};
  for (const p of parts.slice(0, -1)) {
    const i = p.indexOf("=.=");
    labels[p.slice(0, i)] = p.slice(i + 3);
  }
  return { name: parts[parts.length - 1]!, labels };
}

export function series(env: TestEnvironment, name: string, labels: Record<string, string> = {}): Series[] {
  const all: Series[] = [];
  for (const c of env.stats.counters()) all.push({ ...parseName(c.name), value: c.value() });
  for (const g of env.stats.gauges()) all.push({ ...parseName(g.name), value: g.value() });
  return all.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** Sum of the matching series. */
export function metric(env: TestEnvironment, name: string, labels: Record<string, string> = {}): number {
  return Number(series(env, name, labels).reduce((n, s) => n + s.value, 0n));
}

/** Label-sanitized form of an address (":" kept? no: only [A-Za-z0-9_.-/] survive). */
export const labelOf = (s: string): string => s.replace(/[^A-Za-z0-9_.\-/]/g, "_");

/** Starts an RPC and leaves it in flight (request sent, no response): returns the stream and its header. */
export function openRpc(l: Loaded, cluster = "backend", path = "/meshtest.Echo/Unary"): RpcResult {
  const info = new StreamInfo({ wallNs: 1_700_000_000_000_000_000n, monoNs: 0n });
  info.clusterName = cluster;
  const s = openTestStream(l.plugin, { streamInfo: info });
  s.sendRequestHeaders([
    [":method", "POST"],
    [":scheme", "http"],
    [":path", path],
    [":authority", "echo"],
    ["content-type", "application/grpc"],
    ["te", "trailers"],
  ]);
  const header = s.upstream.headers?.get(l.header);
  s.sendRequestBody(frame(3), true);
  return { stream: s, header, served: requested(l, header) };
}

/** An Envoy admin `/clusters?format=json` body listing `hosts` of `cluster` (flags per host). */
export function adminClusters(cluster: string, hosts: Array<{ address: string; outlier?: boolean; hc?: boolean; eds?: string }>): string {
  return JSON.stringify({
    cluster_statuses: [
      { name: "unrelated", host_statuses: [{ address: { socket_address: { address: "192.168.9.9", port_value: 9 } } }] },
      {
        name: cluster,
        host_statuses: hosts.map((h) => {
          const i = h.address.lastIndexOf(":");
          const health: Record<string, unknown> = { eds_health_status: h.eds ?? "HEALTHY" };
          if (h.outlier) health.failed_outlier_check = true;
          if (h.hc) health.failed_active_health_check = true;
          return {
            address: { socket_address: { address: h.address.slice(0, i), port_value: Number(h.address.slice(i + 1)) } },
            stats: [{ type: "GAUGE", name: "rq_active" }],
            health_status: health,
            locality: {},
          };
        }),
      },
    ],
  });
}
