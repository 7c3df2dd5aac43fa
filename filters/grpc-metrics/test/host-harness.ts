/**
 * Test support for grpc-metrics in the proxy-wasm host: the compiled filter (compiled once per
 * test file), a plugin per configuration, scripted gRPC streams, and readers for the metrics the
 * filter defined (names parsed back from Istio's `label=.=value;.;` convention).
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
import { StreamInfo } from "../../../manager/src/sidecar/http/stream-info.ts";

export const ENTRY = "filters/grpc-metrics/assembly/index.ts";

let compiled: Promise<Uint8Array> | undefined;
/** The release build of the filter (as `meshwasm build` makes it). */
export function filterWasm(): Promise<Uint8Array> {
  return (compiled ??= compileAssemblyScript(ENTRY, { target: "grpc-metrics" }));
}

export interface Loaded {
  env: TestEnvironment;
  plugin: Plugin;
}

/** `listenerDirection`: the plugin's listener (as the sidecar sets it per listener), readable in the root. */
export async function loadFilter(
  config: unknown = {},
  opts: { logLevel?: number; env?: TestEnvironment; listenerDirection?: number } = {},
): Promise<Loaded> {
  const env = opts.env ?? createTestEnvironment({ logLevel: opts.logLevel ?? 2 });
  const text = typeof config === "string" ? config : JSON.stringify(config);
  const plugin = await createPlugin(
    testPluginConfig(await filterWasm(), {
      name: "grpc-metrics",
      rootId: "grpc-metrics",
      vmId: "",
      codeSource: "grpc-metrics.wasm",
      configuration: new TextEncoder().encode(text),
      listenerDirection: opts.listenerDirection,
    }),
    env,
  );
  return { env, plugin };
}

/** One length-prefixed message per payload length (bytes 0x61), optionally compressed. */
export function frames(lengths: number[], compressed = false): Uint8Array {
  const parts: Buffer[] = [];
  for (const n of lengths) {
    const prefix = Buffer.alloc(5);
    prefix[0] = compressed ? 1 : 0;
    prefix.writeUInt32BE(n, 1);
    parts.push(prefix, Buffer.alloc(n, 0x61));
  }
  return new Uint8Array(Buffer.concat(parts));
}

export function requestHeaders(path: string, extra: Array<[string, string]> = []): Array<[string, string]> {
  return [
    [":method", "POST"],
    [":scheme", "http"],
    [":path", path],
    [":authority", "echo.default.svc:8080"],
    ["content-type", "application/grpc"],
    ["te", "trailers"],
    ...extra,
  ];
}

export const OK_HEADERS: Array<[string, string]> = [
  [":status", "200"],
  ["content-type", "application/grpc"],
];

/** Opens a stream; `direction` sets the listener's xds.listener_direction (1 inbound, 2 outbound). */
export function open(plugin: Plugin, direction?: number): TestStream {
  const streamInfo = new StreamInfo({ wallNs: 1_700_000_000_000_000_000n, monoNs: 0n });
  if (direction !== undefined) streamInfo.xds = { listenerDirection: direction };
  return openTestStream(plugin, { streamInfo });
}

export interface UnaryOptions {
  path?: string;
  /** grpc-status in the trailers (default "0"). */
  status?: string;
  requestBytes?: number;
  responseBytes?: number;
  direction?: number;
  /** ms the virtual clock advances between request and response. */
  latencyMs?: number;
}

/** A complete unary RPC: request headers + one message, response headers, one message, trailers. */
export function unary(loaded: Loaded, o: UnaryOptions = {}): TestStream {
  const s = open(loaded.plugin, o.direction);
  s.sendRequestHeaders(requestHeaders(o.path ?? "/meshwasm.demo.v1.Echo/Unary"));
  s.sendRequestBody(frames([o.requestBytes ?? 7]), true);
  if (o.latencyMs) loaded.env.clock.advance(o.latencyMs);
  s.sendResponseHeaders(OK_HEADERS);
  s.sendResponseBody(frames([o.responseBytes ?? 11]));
  s.sendResponseTrailers([["grpc-status", o.status ?? "0"]]);
  s.complete();
  return s;
}

export interface Series {
  /** The base name, e.g. grpc_server_started_total. */
  name: string;
  labels: Record<string, string>;
  kind: "counter" | "gauge" | "histogram";
  value: bigint;
  /** Histogram samples (count) and their sum. */
  count?: number;
  sum?: number;
  bounds?: number[];
  cumulative?: number[];
}

/** `wasmcustom.a=.=1;.;b=.=2;.;base` -> { name: "base", labels: {a: "1", b: "2"} }. */
export function parseName(full: string): { name: string; labels: Record<string, string> } {
  const rest = full.startsWith("wasmcustom.") ? full.slice("wasmcustom.".length) : full;
  const parts = rest.split(";.;");
  const labels: Record<string, string> = {};
  for (const p of parts.slice(0, -1)) {
    const i = p.indexOf("=.=");
    labels[p.slice(0, i)] = p.slice(i + 3);
  }
  return { name: parts[parts.length - 1]!, labels };
}

/** Every metric the filter defined. */
export function allSeries(env: TestEnvironment): Series[] {
  const out: Series[] = [];
  for (const c of env.stats.counters()) out.push({ ...parseName(c.name), kind: "counter", value: c.value() });
  for (const g of env.stats.gauges()) out.push({ ...parseName(g.name), kind: "gauge", value: g.value() });
  for (const h of env.stats.histograms()) {
    const snap = h.snapshot();
    out.push({
      ...parseName(h.name),
      kind: "histogram",
      value: BigInt(snap.count),
      count: snap.count,
      sum: snap.sum,
      bounds: snap.bounds,
      cumulative: snap.cumulative,
    });
  }
  return out.filter((s) => s.name !== "");
}

const matches = (s: Series, name: string, labels: Record<string, string>) =>
  s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v);

/** Sum of the values of every series of `name` whose labels include `labels`. */
export function total(env: TestEnvironment, name: string, labels: Record<string, string> = {}): bigint {
  return allSeries(env)
    .filter((s) => matches(s, name, labels))
    .reduce((n, s) => n + s.value, 0n);
}

/** The series of `name` with labels including `labels` (for histograms: count, sum, buckets). */
export function find(env: TestEnvironment, name: string, labels: Record<string, string> = {}): Series[] {
  return allSeries(env).filter((s) => matches(s, name, labels));
}

/** Filter state "wasm.<key>" of a stream, as text. */
export function filterState(s: TestStream, key: string): string | undefined {
  const v = s.streamInfo.filterState.get(`wasm.${key}`);
  return v ? Buffer.from(v.bytes).toString("utf8") : undefined;
}

/** Every (type, service, method) series satisfies started = sum(handled) + in_flight. */
export function checkConsistency(env: TestEnvironment, side = "server"): { started: bigint; handled: bigint; inFlight: bigint } {
  const series = allSeries(env);
  const key = (s: Series) => `${s.labels.grpc_type}|${s.labels.grpc_service}|${s.labels.grpc_method}`;
  const sums = new Map<string, { started: bigint; handled: bigint; inFlight: bigint }>();
  const get = (k: string) => sums.get(k) ?? (sums.set(k, { started: 0n, handled: 0n, inFlight: 0n }), sums.get(k)!);
  for (const s of series) {
    if (s.name === `grpc_${side}_started_total`) get(key(s)).started += s.value;
    else if (s.name === `grpc_${side}_handled_total`) get(key(s)).handled += s.value;
    else if (s.name === `grpc_${side}_in_flight`) get(key(s)).inFlight += s.value;
  }
  const all = { started: 0n, handled: 0n, inFlight: 0n };
  for (const [k, v] of sums) {
    if (v.started !== v.handled + v.inFlight) {
      throw new Error(`series ${k}: started ${v.started} != handled ${v.handled} + in_flight ${v.inFlight}`);
    }
    all.started += v.started;
    all.handled += v.handled;
    all.inFlight += v.inFlight;
  }
  return all;
}

/**
 * The one histogram series of `name` with `labels`: its count, the cumulative count at each
 * bucket bound (`le(bound)`), and its sum (Envoy's log-linear approximation: within a few percent).
 */
export function histogram(env: TestEnvironment, name: string, labels: Record<string, string> = {}) {
  const found = find(env, name, labels).filter((s) => s.kind === "histogram");
  if (found.length !== 1) throw new Error(`expected one histogram ${name} ${JSON.stringify(labels)}, found ${found.length}`);
  const h = found[0]!;
  return {
    count: h.count!,
    sum: h.sum!,
    le(bound: number): number {
      const i = h.bounds!.indexOf(bound);
      if (i < 0) throw new Error(`no bucket bound ${bound}`);
      return h.cumulative![i]!;
    },
  };
}

/** True when `approx` is Envoy's approximation of `exact` (the histogram bins keep 2 significant digits). */
export function near(approx: number, exact: number): boolean {
  return Math.abs(approx - exact) <= Math.max(0.051, exact * 0.03);
}
