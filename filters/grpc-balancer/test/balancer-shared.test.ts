/**
 * grpc-balancer across worker VMs and with active discovery, in the proxy-wasm host:
 *  - with two worker VMs (Envoy --concurrency 2) streams alternate between VMs; a penalty seen by
 *    one VM reaches the other at the next fold, in-flight counts add up across VMs, and each VM
 *    has its own row in the shared table;
 *  - the discovery http_call (Envoy admin /clusters?format=json, or the ENDPOINTS format) is
 *    made by one VM per interval; listed endpoints are learned, ejected or unhealthy ones
 *    skipped, unlisted ones dropped; failures are counted and logged.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { createTestEnvironment } from "../../../manager/src/sidecar/host/index.ts";
import { adminClusters, filterWasm, loadBalancer, metric, openRpc, requested, rpc, warm } from "./host-harness.ts";

beforeAll(async () => {
  await filterWasm();
}, 120_000);

const A = "10.0.0.1:8080";
const B = "10.0.0.2:8080";
const C = "10.0.0.3:8080";
const body = (s: string) => new Uint8Array(Buffer.from(s));

describe("two worker VMs", () => {
  it("a penalty seen by one VM steers the other after the next fold", async () => {
    const l = await loadBalancer({ explore_share: 0, seed: 1 }, { concurrency: 2 });
    expect(l.plugin.workerVms().length).toBe(2);
    warm(l, [A, B, C]);
    // Fail B once, on whichever VM picks it first.
    let failedOn = -1;
    for (let i = 0; i < 100 && failedOn < 0; i++) {
      const r = rpc(l, { respond: (a) => (a === B ? { status: 14, trailersOnly: true, latencyMs: 1 } : { latencyMs: 1 }) });
      if (requested(l, r.header) === B) failedOn = i % 2;
    }
    expect(failedOn).toBeGreaterThanOrEqual(0);
    l.env.clock.advance(200); // both VMs fold twice: each has seen the other's events
    let toB = 0;
    for (let i = 0; i < 200; i++) if (requested(l, rpc(l, { latencyMs: 1 }).header) === B) toB++;
    expect(toB).toBe(0);
    expect(metric(l.env, "grpc_balancer_rpcs_total", { decision: "directed" })).toBeGreaterThan(200);
  });

  it("RPCs in flight on one VM count on the other", async () => {
    const l = await loadBalancer({ explore_share: 0, seed: 2 }, { concurrency: 2 });
    warm(l, [A, B]);
    l.env.clock.advance(100); // both VMs have folded after each other
    // Eight RPCs held open, alternating between the VMs: each VM's P2C sees its own two or
    // three in flight and alternates between A and B.
    const held = Array.from({ length: 8 }, () => openRpc(l));
    expect(held.every((r) => r.served === A || r.served === B)).toBe(true);
    const onA = held.filter((r) => r.served === A).length;
    l.env.clock.advance(200);
    const gauge = (addr: string) => metric(l.env, "grpc_balancer_endpoint_in_flight", { endpoint: addr.replace(/:/g, "_") });
    // The gauge is what every VM sees: its own RPCs plus the other VM's.
    expect(gauge(A)).toBe(onA);
    expect(gauge(B)).toBe(8 - onA);
    // A new RPC on either VM weighs all eight.
    const extra = openRpc(l);
    const fewer = onA < 8 - onA ? A : onA > 8 - onA ? B : undefined;
    if (fewer) expect(extra.served).toBe(fewer);
    extra.stream.complete();
    for (const r of held) r.stream.complete();
    l.env.clock.advance(200);
    expect(gauge(A)).toBe(0);
    expect(gauge(B)).toBe(0);
  });

  it("each VM has its own row in one shared table", async () => {
    const l = await loadBalancer({ seed: 3 }, { concurrency: 2 });
    warm(l, [A, B]);
    const keys = l.env.shared.data.keys("balancer").filter((k) => k.startsWith("grpc_balancer/grpc-balancer/"));
    expect(keys.length).toBe(2); // the table and the VM counter
    const counter = l.env.shared.data.get("balancer", keys.find((k) => k.endsWith("/vm"))!);
    expect(Buffer.from(counter.value!).readBigUInt64LE(0)).toBe(2n); // two workers (not the canary VM)
  });
});

describe("discovery through http_call", () => {
  const config = (format?: string) => ({
    explore_share: 0,
    seed: 4,
    clusters: ["backend"],
    discovery: { cluster: "admin", interval_ms: 1000, ...(format ? { format } : {}) },
  });

  it("learns the admin's hosts of the balanced cluster, skips ejected ones, drops unlisted ones", async () => {
    const env = createTestEnvironment({ concurrency: 2 });
    let hosts: Array<{ address: string; outlier?: boolean; hc?: boolean }> = [{ address: A }, { address: B, outlier: true }, { address: C }];
    env.httpCalls.addCluster("admin", () => ({ headers: [[":status", "200"]], body: body(adminClusters("backend", hosts)), trailers: [] }));
    const l = await loadBalancer(config(), { env });
    env.clock.advance(100); // the lease is taken at a fold; the answer is applied at the next one
    env.clock.advance(100);
    expect(env.httpCalls.requests.length).toBe(1);
    expect(env.httpCalls.requests[0]!.headers).toContainEqual([":path", "/clusters?format=json"]);
    const picks = new Set(Array.from({ length: 60 }, () => requested(l, rpc(l, { latencyMs: 1 }).header)));
    expect(picks).toEqual(new Set([A, C]));
    // One call per interval however many VMs there are.
    env.clock.advance(1000);
    expect(env.httpCalls.requests.length).toBe(2);
    hosts = [{ address: B }, { address: C, hc: true }];
    env.clock.advance(1000);
    env.clock.advance(100);
    const after = new Set(Array.from({ length: 60 }, () => requested(l, rpc(l, { latencyMs: 1 }).header)));
    // A was not listed (gone), C fails its health check: only B is usable: Envoy chooses.
    expect(after).toEqual(new Set([undefined]));
    expect(metric(env, "grpc_balancer_endpoints", { cluster: "backend" })).toBe(1);
    expect(metric(env, "grpc_balancer_discovery_total", { result: "ok" })).toBeGreaterThanOrEqual(3);
  });

  it("an endpoint that passes its health check again starts its slow start then", async () => {
    const env = createTestEnvironment();
    let cHealthy = false;
    env.httpCalls.addCluster("admin", () => ({
      headers: [[":status", "200"]],
      body: body(adminClusters("backend", [{ address: A }, { address: B }, { address: C, hc: !cHealthy }])),
      trailers: [],
    }));
    const l = await loadBalancer({ ...config(), slow_start: { window_ms: 3000 } }, { env });
    env.clock.advance(200);
    env.clock.advance(10_000); // A, B and C (unhealthy) are all older than the window
    cHealthy = true;
    env.clock.advance(1100); // the next discovery answer, applied at a fold
    const shareOfC = (n: number) => {
      let c = 0;
      for (let i = 0; i < n; i++) if (requested(l, rpc(l, { latencyMs: 1 }).header) === C) c++;
      return c / n;
    };
    const early = shareOfC(300); // ~0.3 s into the ramp
    env.clock.advance(5000);
    const late = shareOfC(300);
    expect(early).toBeLessThan(0.15);
    expect(late).toBeGreaterThan(0.25);
  });

  it("reads the ENDPOINTS format", async () => {
    const env = createTestEnvironment();
    const answer = { endpoints: [{ cluster: "backend", address: A }, { cluster: "backend", address: B, healthy: true }, { cluster: "backend", address: "nope" }] };
    env.httpCalls.addCluster("admin", () => ({ headers: [[":status", "200"]], body: body(JSON.stringify(answer)), trailers: [] }));
    const l = await loadBalancer(config("ENDPOINTS"), { env });
    env.clock.advance(200);
    const picks = new Set(Array.from({ length: 40 }, () => requested(l, rpc(l, { latencyMs: 1 }).header)));
    expect(picks).toEqual(new Set([A, B]));
  });

  it.each([
    ["a 500", () => ({ headers: [[":status", "500"]] as Array<[string, string]>, body: body("oops"), trailers: [] }), /discovery: status 500 from cluster admin/],
    ["invalid JSON", () => ({ headers: [[":status", "200"]] as Array<[string, string]>, body: body("{\"cluster_statuses\": [}"), trailers: [] }), /discovery: invalid JSON at byte 22/],
    ["a reset", () => "reset" as const, /discovery: the call failed from cluster admin/],
  ])("counts and logs %s", async (_name, handler, line) => {
    const env = createTestEnvironment();
    env.httpCalls.addCluster("admin", handler);
    await loadBalancer(config(), { env });
    env.clock.advance(200);
    expect(metric(env, "grpc_balancer_discovery_total", { result: "error" })).toBe(1);
    expect(env.logLines().some((s) => line.test(s))).toBe(true);
  });

  it("a discovery cluster the host does not know is counted, and traffic is unaffected", async () => {
    const env = createTestEnvironment();
    const l = await loadBalancer(config(), { env });
    env.clock.advance(100);
    expect(metric(env, "grpc_balancer_discovery_total", { result: "error" })).toBe(1);
    warm(l, [A, B]);
    expect(rpc(l, { latencyMs: 1 }).header).toBeDefined();
  });
});
