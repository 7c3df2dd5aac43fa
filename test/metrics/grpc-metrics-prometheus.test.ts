/**
 * grpc-metrics end to end: @grpc/grpc-js clients through two local sidecars running the built
 * filter (build/filters/grpc-metrics.wasm) — one on an INBOUND listener (grpc_server_*), one on
 * an OUTBOUND listener (grpc_client_*) — with Istio's stats_tags and histogram bucket settings,
 * scraped every second by a real Prometheus (test/support/prometheus.ts). Known traffic:
 *  - per method and code: unary OK / NOT_FOUND / INVALID_ARGUMENT, server streams of 3 messages,
 *    client streams of 4, bidi streams of 5 each way, a cancelled server stream, a call to a
 *    cluster that refuses connections (the router's UNAVAILABLE), a malformed path;
 *  - known latencies: server streams sleep 3 × 20 ms (so none is faster than 60 ms);
 *  - non-gRPC HTTP/1.1 requests, which must leave no series.
 * Exact counter values, message counts, in-flight, the "other" bound and histogram quantiles are
 * asserted through PromQL over Prometheus's HTTP API.
 */
import { readFile } from "node:fs/promises";
import net from "node:net";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { echoClient, unary, type EchoClient } from "../support/grpc-echo.ts";
import { startHarness, type Harness } from "../support/sidecar-harness.ts";
import { clusterConfig, wasmFilter } from "../support/envoy-config.ts";
import { prometheusGate, singleValue, startPrometheus, type QueryResult, type TestPrometheus } from "../support/prometheus.ts";

const gate = prometheusGate();
const TAGS = ["grpc_type", "grpc_service", "grpc_method", "grpc_code"];
const BUCKETS = [1, 2, 5, 10, 20, 40, 80, 160, 320, 640, 1280];
const CONFIG = JSON.stringify({
  max_methods: 5,
  method_types: { "meshtest.Echo/ServerStream": "server_stream", "meshtest.Echo/Bidi": "bidi_stream" },
});
const N = { ok: 12, notFound: 3, invalid: 2, serverStreams: 6, clientStreams: 4, bidi: 3 };

/** A loopback port nothing listens on (the "dead" cluster's endpoint). */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function sidecar(wasm: Buffer, direction: "INBOUND" | "OUTBOUND", deadPort: number): Promise<Harness> {
  return startHarness({
    files: { "grpc-metrics.wasm": wasm },
    config: (ports) => ({
      admin: true,
      clusters: [
        { name: "backend", ports },
        { name: "dead", ports: [deadPort] },
      ],
      routes: [
        { match: { prefix: "/dead.Service/" }, route: { cluster: "dead" } },
        { match: { prefix: "/" }, route: { cluster: "backend" } },
      ],
      httpFilters: [wasmFilter({ name: "grpc-metrics", filename: "grpc-metrics.wasm", configuration: CONFIG })],
    }),
    edit: (b) => {
      b.stats_config = {
        use_all_default_tags: false,
        stats_tags: TAGS.map((t) => ({ tag_name: t, regex: `(${t}=\\.=(.*?);\\.;)` })),
        histogram_bucket_settings: [{ match: { prefix: "wasmcustom.grpc_type=" }, buckets: BUCKETS }],
      };
      const listener = (b.static_resources as { listeners: Array<Record<string, unknown>> }).listeners[0]!;
      listener.traffic_direction = direction;
      const clusters = (b.static_resources as { clusters: Array<Record<string, unknown>> }).clusters;
      clusters[1] = clusterConfig({ name: "dead", ports: [deadPort], connectTimeout: "0.25s" });
    },
  });
}

function serverStream(client: EchoClient, count: number, delayMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0;
    const call = client.ServerStream({ message: "s", count, delay_ms: delayMs });
    call.on("data", () => n++);
    call.on("error", reject);
    call.on("end", () => resolve(n));
  });
}

function clientStream(client: EchoClient, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const call = client.ClientStream(new grpc.Metadata(), {}, (err) => (err ? reject(err) : resolve()));
    for (let i = 0; i < count; i++) call.write({ message: `m${i}`, payload: new Uint8Array(10) });
    call.end();
  });
}

function bidi(client: EchoClient, count: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0;
    const call = client.Bidi();
    call.on("data", () => n++);
    call.on("error", reject);
    call.on("end", () => resolve(n));
    for (let i = 0; i < count; i++) call.write({ message: `b${i}` });
    call.end();
  });
}

/** A unary call to an arbitrary path (empty messages); resolves with the status code. */
function rawUnary(port: number, path: string): Promise<number> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return new Promise<number>((resolve) => {
    client.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.alloc(0),
      (err) => resolve(err ? (err as grpc.ServiceError).code : 0),
    );
  }).finally(() => client.close());
}

async function traffic(port: number): Promise<{ cancelled: number }> {
  const client = echoClient(port);
  try {
    for (let i = 0; i < N.ok; i++) await unary(client, { message: "ok" });
    for (let i = 0; i < N.notFound; i++) await unary(client, { message: "x", fail_code: grpc.status.NOT_FOUND }).catch(() => {});
    for (let i = 0; i < N.invalid; i++) await unary(client, { message: "x", fail_code: grpc.status.INVALID_ARGUMENT }).catch(() => {});
    for (let i = 0; i < N.serverStreams; i++) expect(await serverStream(client, 3, 20)).toBe(3);
    for (let i = 0; i < N.clientStreams; i++) await clientStream(client, 4);
    for (let i = 0; i < N.bidi; i++) expect(await bidi(client, 5)).toBe(5);
    // A server stream the client cancels after its first message.
    await new Promise<void>((resolve) => {
      const call = client.ServerStream({ message: "c", count: 50, delay_ms: 50 });
      call.on("data", () => call.cancel());
      call.on("error", () => resolve());
      call.on("end", () => resolve());
    });
    expect(await rawUnary(port, "/dead.Service/Call")).toBe(grpc.status.UNAVAILABLE);
    expect(await rawUnary(port, "/no-method")).not.toBe(0);
    // Methods past max_methods (5: Unary, ServerStream, ClientStream, Bidi, dead.Service/Call) fold into "other".
    for (const m of ["A", "B", "C"]) expect(await rawUnary(port, `/meshtest.Echo/Extra${m}`)).toBe(grpc.status.UNIMPLEMENTED);
    // Plain HTTP/1.1 is not gRPC and leaves nothing.
    expect((await fetch(`http://127.0.0.1:${port}/meshtest.Echo/Unary`, { method: "POST", body: "x" })).status).toBeGreaterThan(0);
  } finally {
    client.close();
  }
  return { cancelled: 1 };
}

const byLabels = (r: QueryResult, key: string): Record<string, number> =>
  r.resultType === "vector" ? Object.fromEntries(r.result.map((s) => [s.metric[key] ?? "", Number(s.value[1])])) : {};

describe.skipIf(gate.skip)(`grpc-metrics through the sidecar into a real Prometheus${gate.skip ? ` (skipped: ${gate.reason})` : ""}`, () => {
  let inbound: Harness;
  let outbound: Harness;
  let prom: TestPrometheus;
  const TOTAL = N.ok + N.notFound + N.invalid + N.serverStreams + N.clientStreams + N.bidi + 1 + 1 + 1 + 3;

  beforeAll(async () => {
    // `npm test` builds the filters first; a missing build is a failure, not a skip.
    const wasm = await readFile("build/filters/grpc-metrics.wasm");
    const dead = await closedPort();
    inbound = await sidecar(wasm, "INBOUND", dead);
    outbound = await sidecar(wasm, "OUTBOUND", dead);
    prom = await startPrometheus({
      targets: [
        { job: "inbound", address: `127.0.0.1:${inbound.sidecar.adminPort}`, metricsPath: "/stats/prometheus", labels: { app: "echo" } },
        { job: "outbound", address: `127.0.0.1:${outbound.sidecar.adminPort}`, metricsPath: "/stats/prometheus", labels: { app: "caller" } },
      ],
    });
    await prom.waitForQuery("sum(up)", (r) => singleValue(r) === 2);
    await traffic(inbound.port);
    await traffic(outbound.port);
    await prom.waitForQuery('sum(grpc_server_handled_total{job="inbound"})', (r) => singleValue(r) === TOTAL, 30_000);
    await prom.waitForQuery('sum(grpc_client_handled_total{job="outbound"})', (r) => singleValue(r) === TOTAL, 30_000);
  }, 180_000);

  afterAll(async () => {
    await prom?.stop();
    await inbound?.stop();
    await outbound?.stop();
  });

  it("counts every RPC by method and code, exactly", async () => {
    const unaryCodes = byLabels(await prom.query('sum by (grpc_code) (grpc_server_handled_total{job="inbound",grpc_service="meshtest.Echo",grpc_method="Unary"})'), "grpc_code");
    expect(unaryCodes).toEqual({ OK: N.ok, NotFound: N.notFound, InvalidArgument: N.invalid });
    const methods = byLabels(await prom.query('sum by (grpc_method) (grpc_server_handled_total{job="inbound",grpc_service="meshtest.Echo"})'), "grpc_method");
    expect(methods).toEqual({
      Unary: N.ok + N.notFound + N.invalid,
      ServerStream: N.serverStreams + 1,
      ClientStream: N.clientStreams,
      Bidi: N.bidi,
      other: 3,
    });
    expect(singleValue(await prom.query('sum(grpc_server_handled_total{job="inbound",grpc_method="ServerStream",grpc_code="Canceled"})'))).toBe(1);
    expect(singleValue(await prom.query('sum(grpc_server_handled_total{job="inbound",grpc_service="dead.Service",grpc_code="Unavailable"})'))).toBe(1);
    expect(singleValue(await prom.query('sum(grpc_server_handled_total{job="inbound",grpc_service="unknown",grpc_method="unknown"})'))).toBe(1);
    expect(singleValue(await prom.query('sum(grpc_server_handled_total{job="inbound",grpc_method="other",grpc_code="Unimplemented"})'))).toBe(3);
    expect(singleValue(await prom.query('grpc_metrics_server_other_rpcs_total{job="inbound"}'))).toBe(3);
  });

  it("started = handled + in flight, with nothing left in flight", async () => {
    const started = singleValue(await prom.query('sum(grpc_server_started_total{job="inbound"})'));
    const inFlight = singleValue(await prom.query('sum(grpc_server_in_flight{job="inbound"})'));
    expect(started).toBe(TOTAL);
    expect(inFlight).toBe(0);
  });

  it("counts messages each way for each RPC shape", async () => {
    const received = byLabels(await prom.query('sum by (grpc_method) (grpc_server_msg_received_total{job="inbound",grpc_service="meshtest.Echo"})'), "grpc_method");
    const sent = byLabels(await prom.query('sum by (grpc_method) (grpc_server_msg_sent_total{job="inbound",grpc_service="meshtest.Echo"})'), "grpc_method");
    // Unary: one request each; one response for each OK. Failures are trailers-only (no message).
    expect(received.Unary).toBe(N.ok + N.notFound + N.invalid);
    expect(sent.Unary).toBe(N.ok);
    expect(received.ClientStream).toBe(N.clientStreams * 4);
    expect(sent.ClientStream).toBe(N.clientStreams);
    expect(received.Bidi).toBe(N.bidi * 5);
    expect(sent.Bidi).toBe(N.bidi * 5);
    // Server streams: 3 each, plus at least the one message of the cancelled stream.
    expect(received.ServerStream).toBe(N.serverStreams + 1);
    expect(sent.ServerStream).toBeGreaterThanOrEqual(N.serverStreams * 3 + 1);
    const bytes = singleValue(await prom.query('sum(grpc_server_msg_received_bytes_total{job="inbound",grpc_method="ClientStream"})'))!;
    expect(bytes).toBeGreaterThanOrEqual(N.clientStreams * 4 * 12); // payload(10) + message fields
  });

  it("labels types as configured, and learns the unconfigured client-streaming method", async () => {
    const types = byLabels(await prom.query('sum by (grpc_type) (grpc_server_started_total{job="inbound",grpc_method="ClientStream"})'), "grpc_type");
    expect(types).toEqual({ unary: 1, client_stream: N.clientStreams - 1 });
    const ss = byLabels(await prom.query('sum by (grpc_type) (grpc_server_started_total{job="inbound",grpc_method="ServerStream"})'), "grpc_type");
    expect(ss).toEqual({ server_stream: N.serverStreams + 1 });
  });

  it("puts latencies in the right bucket of the configured buckets", async () => {
    // Server streams sleep 3 x 20 ms (the cancelled one 50 ms before its first message), so none
    // can land at or below le="40"; how much longer they take depends on the machine, so the
    // upper side is only checked against the highest configured bound.
    const sel = 'job="inbound",grpc_method="ServerStream",grpc_type="server_stream"';
    expect(singleValue(await prom.query(`sum(grpc_server_handling_milliseconds_bucket{${sel},le="40"})`))).toBe(0);
    expect(singleValue(await prom.query(`sum(grpc_server_handling_milliseconds_bucket{${sel},le="+Inf"})`))).toBe(N.serverStreams + 1);
    const p50 = singleValue(await prom.query(`histogram_quantile(0.5, sum by (le) (grpc_server_handling_milliseconds_bucket{${sel}}))`))!;
    expect(p50).toBeGreaterThan(40);
    expect(p50).toBeLessThanOrEqual(1280);
    // Unary calls do not sleep: every one of them is in the histogram, and its buckets are the
    // configured ones (Envoy's defaults would give le="0.5", "25", ...).
    const unaryCount = singleValue(await prom.query('sum(grpc_server_handling_milliseconds_count{job="inbound",grpc_method="Unary"})'));
    expect(unaryCount).toBe(N.ok + N.notFound + N.invalid);
    const buckets = await prom.series('grpc_server_handling_milliseconds_bucket{job="inbound",grpc_method="Unary"}');
    expect(new Set(buckets.map((s) => s.le))).toEqual(new Set([...BUCKETS.map(String), "+Inf"]));
  });

  it("the outbound sidecar counts the same traffic as grpc_client_*, from the client's view", async () => {
    const codes = byLabels(await prom.query('sum by (grpc_code) (grpc_client_handled_total{job="outbound",grpc_method="Unary"})'), "grpc_code");
    expect(codes).toEqual({ OK: N.ok, NotFound: N.notFound, InvalidArgument: N.invalid });
    // The client sends the requests and receives the responses.
    expect(singleValue(await prom.query('sum(grpc_client_msg_sent_total{job="outbound",grpc_method="ClientStream"})'))).toBe(N.clientStreams * 4);
    expect(singleValue(await prom.query('sum(grpc_client_msg_received_total{job="outbound",grpc_method="ClientStream"})'))).toBe(N.clientStreams);
    expect(singleValue(await prom.query('sum(grpc_server_started_total{job="outbound"})') )).toBeUndefined();
  });
});
