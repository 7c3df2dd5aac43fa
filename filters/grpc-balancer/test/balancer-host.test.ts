/**
 * grpc-balancer in the real proxy-wasm host on a virtual clock: configuration accepted and
 * rejected with path-precise errors; passthrough (non-gRPC, unknown cluster, too few endpoints);
 * passive discovery; the session header (base64 "ip:port", the echo stripped, an application's
 * own session left alone) and the override_host header ("best,second", a client's value
 * replaced); steering away from slow and failing endpoints, pushback, resets and cancellations;
 * streaming RPCs measured to their response headers; ORCA load; slow start; static endpoints;
 * ageing; and the metrics.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { PluginLoadError } from "../../../manager/src/sidecar/host/index.ts";
import { b64, filterWasm, labelOf, loadBalancer, metric, requested, rpc, series, warm, type Loaded, type RpcSpec } from "./host-harness.ts";

beforeAll(async () => {
  await filterWasm();
}, 120_000);

const A = "10.0.0.1:8080";
const B = "10.0.0.2:8080";
const C = "10.0.0.3:8080";

/** Counts which address each of `n` RPCs was steered to (undefined: left to Envoy). */
function tally(l: Loaded, n: number, latency: (addr: string | undefined) => number, spec: RpcSpec = {}) {
  const counts = new Map<string | undefined, number>();
  for (let i = 0; i < n; i++) {
    const a = steer(l, latency, spec);
    counts.set(a, (counts.get(a) ?? 0) + 1);
  }
  return counts;
}

/** One RPC whose latency depends on the address it was steered to; returns that address. */
function steer(l: Loaded, latency: (addr: string | undefined) => number, spec: RpcSpec = {}): string | undefined {
  const r = rpc(l, { fallback: A, ...spec, respond: (served) => ({ latencyMs: latency(served), ...(spec.respond?.(served) ?? {}) }) });
  return requested(l, r.header);
}

describe("configuration", () => {
  it("accepts an empty configuration and logs what it runs with", async () => {
    const l = await loadBalancer({});
    expect(l.env.logLines().some((s) => /configured: mode SESSION_HEADER, header x-meshwasm-endpoint, explore 0.05/.test(s))).toBe(true);
  });

  it.each([
    [{ mode: "ROUND_ROBIN" }, 'mode: expected one of "SESSION_HEADER", "OVERRIDE_HOST"'],
    [{ header: "X-Upper" }, "header: expected a lower-case header name"],
    [{ endpoints: [{ address: "10.0.0.1" }] }, 'endpoints[0].address: expected "ip:port" or "[ipv6]:port"'],
    [{ endpoints: [{ cluster: "c" }] }, "endpoints[0].address: missing, expected string"],
    [{ discovery: { path: "/x" } }, "discovery.cluster: missing, expected string"],
    [{ discovery: { cluster: "admin", interval_ms: 5 } }, "discovery.interval_ms: expected integer in [100, 3600000], got 5"],
    [{ discovery: { cluster: "admin", format: "XML" } }, 'discovery.format: expected one of "ENVOY_ADMIN", "ENDPOINTS"'],
    [{ explore_share: 1.5 }, "explore_share: expected number in [0, 1], got 1.5"],
    [{ penalty_ms: 9000, max_penalty_ms: 1000 }, "penalty_ms: must not exceed max_penalty_ms"],
    [{ streaming_methods: ["Watch"] }, 'streaming_methods[0]: expected "package.Service/Method"'],
    [{ slow_start: { window_ms: -1 } }, "slow_start.window_ms: expected integer in [0, 3600000], got -1"],
    [{ orca: { blend: 2 } }, "orca.blend: expected number in [0, 1], got 2"],
    [{ tick_ms: 1 }, "tick_ms: expected integer in [10, 60000], got 1"],
    [{ balance: true }, "balance: unknown field"],
  ])("rejects %j: %s", async (config, message) => {
    const err = await loadBalancer(config).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PluginLoadError);
    expect((err as PluginLoadError).reason).toMatch(/on_configure returned false/);
    const env = (await import("../../../manager/src/sidecar/host/index.ts")).createTestEnvironment();
    await loadBalancer(config, { env }).catch(() => {});
    const line = env.logLines().find((s) => s.includes("invalid configuration"));
    expect(line).toContain(message);
  });

  it("rejects JSON that does not parse, naming the offset", async () => {
    const env = (await import("../../../manager/src/sidecar/host/index.ts")).createTestEnvironment();
    await expect(loadBalancer('{"mode": ', { env })).rejects.toBeInstanceOf(PluginLoadError);
    expect(env.logLines().find((s) => s.includes("invalid configuration"))).toMatch(/at byte 9|offset 9|9/);
  });
});

describe("passthrough", () => {
  it("leaves non-gRPC requests, unknown clusters and clusters with one endpoint to Envoy", async () => {
    const l = await loadBalancer({ explore_share: 0 });
    // Non-gRPC: nothing happens at all.
    const { openTestStream } = await import("../../../manager/src/sidecar/host/index.ts");
    const s = openTestStream(l.plugin);
    s.sendRequestHeaders([[":method", "GET"], [":path", "/"], [":authority", "x"], [":scheme", "http"]], true);
    expect(s.upstream.headers?.get(l.header)).toBeUndefined();
    // First RPC: the cluster is not known yet.
    expect(rpc(l, { fallback: A }).header).toBeUndefined();
    l.env.clock.advance(100);
    // One endpoint known: nothing to choose between.
    rpc(l, { fallback: A });
    l.env.clock.advance(100);
    expect(rpc(l, { fallback: A }).header).toBeUndefined();
    expect(metric(l.env, "grpc_balancer_rpcs_total", { decision: "passthrough" })).toBe(3);
    expect(metric(l.env, "grpc_balancer_rpcs_total", { decision: "directed" })).toBe(0);
  });

  it("only balances the allowed clusters", async () => {
    const l = await loadBalancer({ explore_share: 0, clusters: ["backend"] });
    warm(l, [A, B], "other");
    expect(rpc(l, { cluster: "other", fallback: A }).header).toBeUndefined();
    warm(l, [A, B], "backend");
    expect(rpc(l, { cluster: "backend", fallback: A }).header).toBeDefined();
  });
});

describe("session header mode", () => {
  it("learns endpoints from upstream.address and steers with base64(ip:port); the echo is stripped", async () => {
    const l = await loadBalancer({ explore_share: 0 });
    warm(l, [A, B, C]);
    const seen = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const r = rpc(l, { latencyMs: 5 });
      expect(r.header).toBeDefined();
      expect([A, B, C].map(b64)).toContain(r.header);
      seen.add(requested(l, r.header)!);
      expect(r.stream.downstream.headers?.get(l.header)).toBeUndefined();
    }
    expect(seen).toEqual(new Set([A, B, C]));
    expect(metric(l.env, "grpc_balancer_rpcs_total", { decision: "directed" })).toBe(60);
    expect(metric(l.env, "grpc_balancer_picks_total")).toBe(60);
  });

  it("explores the configured share; the session filter's echo of the explored host is removed", async () => {
    const l = await loadBalancer({ explore_share: 0.25, seed: 3 });
    warm(l, [A, B]);
    let explored = 0;
    for (let i = 0; i < 400; i++) {
      const r = rpc(l, { fallback: B, latencyMs: 1 });
      if (r.header === undefined) {
        explored++;
        expect(r.stream.downstream.headers?.get(l.header)).toBeUndefined();
      }
    }
    expect(explored).toBeGreaterThan(70);
    expect(explored).toBeLessThan(130);
    expect(metric(l.env, "grpc_balancer_rpcs_total", { decision: "explored" })).toBe(explored);
  });

  it("leaves an application's own session alone (pinned)", async () => {
    const l = await loadBalancer({ explore_share: 0 });
    warm(l, [A, B]);
    const r = rpc(l, { requestHeaders: [[l.header, b64(B)]], latencyMs: 1 });
    expect(r.header).toBe(b64(B));
    expect(metric(l.env, "grpc_balancer_rpcs_total", { decision: "pinned" })).toBe(1);
  });
});

describe("override_host mode", () => {
  it("writes the best and the second candidate, and replaces a client's value", async () => {
    const l = await loadBalancer({ mode: "OVERRIDE_HOST", explore_share: 0 });
    warm(l, [A, B, C]);
    for (let i = 0; i < 30; i++) {
      const r = rpc(l, { latencyMs: 2, requestHeaders: [[l.header, "6.6.6.6:1"]] });
      const [first, second, ...rest] = r.header!.split(",");
      expect(rest).toEqual([]);
      expect([A, B, C]).toContain(first);
      expect([A, B, C]).toContain(second);
      expect(first).not.toBe(second);
    }
  });

  it("explored RPCs carry no override header at all", async () => {
    const l = await loadBalancer({ mode: "OVERRIDE_HOST", explore_share: 1 });
    warm(l, [A, B]);
    expect(rpc(l, { requestHeaders: [[l.header, A]] }).header).toBeUndefined();
  });
});

describe("steering", () => {
  it("avoids an endpoint ten times slower", async () => {
    const l = await loadBalancer({ explore_share: 0, seed: 1 });
    warm(l, [A, B, C]);
    const counts = tally(l, 300, (addr) => (addr === C ? 50 : 5));
    expect(counts.get(C) ?? 0).toBeLessThan(10);
    expect((counts.get(A) ?? 0) + (counts.get(B) ?? 0)).toBeGreaterThan(290);
  });

  it("penalises UNAVAILABLE (then avoids the endpoint) and counts the penalty", async () => {
    const l = await loadBalancer({ explore_share: 0, seed: 2 });
    warm(l, [A, B, C]);
    let failures = 0;
    const counts = new Map<string, number>();
    for (let i = 0; i < 200; i++) {
      const target = steer(l, () => 1, { respond: (a) => (a === B ? { status: 14, trailersOnly: true } : {}) });
      counts.set(target!, (counts.get(target!) ?? 0) + 1);
      if (target === B) failures++;
    }
    // The first pick of B fails, the peak penalty keeps it out afterwards (the fake clock moves
    // 1 ms per RPC: the 5 s penalty over a ~1 ms baseline dwarfs everything else).
    expect(failures).toBeLessThanOrEqual(2);
    expect(metric(l.env, "grpc_balancer_penalties_total", { endpoint: labelOf(B) })).toBe(failures);
  });

  it.each([
    ["grpc-retry-pushback-ms: 0 (retry now)", [["grpc-retry-pushback-ms", "0"]], "keeps"],
    ["retry-after: 0", [["retry-after", "0"]], "keeps"],
    ["grpc-retry-pushback-ms: 60000", [["grpc-retry-pushback-ms", "60000"]], "drops"],
    ["no pushback (5 s base penalty)", [], "drops"],
  ])("pushback %s: the endpoint's penalty %s it", async (_name, trailers, effect) => {
    const l = await loadBalancer({ explore_share: 0, seed: 4 });
    warm(l, [A, B]);
    let failedOnce = false;
    let laterPicks = 0;
    for (let i = 0; i < 50; i++) {
      const fail = !failedOnce;
      const target = steer(l, () => 1, {
        respond: (a) => (a === B && fail ? { status: 14, trailers: trailers as Array<[string, string]> } : {}),
      });
      if (target === B) {
        if (failedOnce) laterPicks++;
        failedOnce = true;
      }
    }
    expect(failedOnce).toBe(true);
    if (effect === "keeps") expect(laterPicks).toBeGreaterThan(5);
    else expect(laterPicks).toBe(0);
  });

  it("an upstream reset or connect failure is a penalty; a client cancellation is not", async () => {
    const l = await loadBalancer({ explore_share: 0, seed: 5 });
    warm(l, [A, B]);
    const before = metric(l.env, "grpc_balancer_penalties_total");
    rpc(l, { outcome: "reset", flags: ["UR"], latencyMs: 1 });
    rpc(l, { outcome: "reset", flags: ["UF"], latencyMs: 1 });
    expect(metric(l.env, "grpc_balancer_penalties_total") - before).toBe(2);
    rpc(l, { outcome: "cancel", latencyMs: 1 });
    rpc(l, { outcome: "reset", flags: ["DC"], latencyMs: 1 });
    expect(metric(l.env, "grpc_balancer_penalties_total") - before).toBe(2);
  });

  it("an HTTP 5xx without grpc-status is a failure; grpc-status 0 wins over the :status", async () => {
    const l = await loadBalancer({ explore_share: 0, seed: 6 });
    warm(l, [A, B]);
    const before = metric(l.env, "grpc_balancer_penalties_total");
    rpc(l, { httpStatus: 503, status: null, responseMessages: 0, latencyMs: 1 });
    expect(metric(l.env, "grpc_balancer_penalties_total") - before).toBe(1);
    rpc(l, { httpStatus: 503, status: 0, latencyMs: 1 });
    expect(metric(l.env, "grpc_balancer_penalties_total") - before).toBe(1);
  });
});

describe("streaming", () => {
  it("a streaming method is measured to its response headers, not to its end", async () => {
    const l = await loadBalancer({ explore_share: 0, seed: 7 });
    warm(l, [A, B]);
    const path = "/meshtest.Echo/ServerStream";
    // A answers headers in 2 ms then streams for 3 s; B answers headers in 40 ms and ends at once.
    const counts = new Map<string, number>();
    for (let i = 0; i < 80; i++) {
      const target = steer(l, (a) => (a === A ? 2 : 40), { path, responseMessages: 3 });
      counts.set(target!, (counts.get(target!) ?? 0) + 1);
      if (target === A) l.env.clock.advance(3000);
    }
    expect(counts.get(A) ?? 0).toBeGreaterThan(60);
  });
});

describe("ORCA load reports", () => {
  it("an endpoint reporting high utilisation gets less traffic", async () => {
    const l = await loadBalancer({ explore_share: 0, seed: 8, orca: { blackout_ms: 0, blend: 1 } });
    warm(l, [A, B]);
    const counts = new Map<string, number>();
    for (let i = 0; i < 200; i++) {
      const target = steer(l, () => 2, {
        respond: (a) => ({ trailers: [["endpoint-load-metrics", `TEXT cpu_utilization=${a === A ? "0.9" : "0.1"}`]] }),
      });
      counts.set(target!, (counts.get(target!) ?? 0) + 1);
    }
    expect(counts.get(B) ?? 0).toBeGreaterThan(150);
  });
});

describe("slow start", () => {
  it("a new endpoint's share ramps over the window", async () => {
    const l = await loadBalancer({ explore_share: 0, seed: 9, slow_start: { window_ms: 3000 } });
    warm(l, [A, B, C]);
    l.env.clock.advance(5000); // A, B, C are past their ramp
    const D = "10.0.0.4:8080";
    rpc(l, { fallback: D, latencyMs: 5, requestHeaders: [[l.header, b64(D)]] }); // pinned: D is learned
    l.env.clock.advance(100);
    const share: number[] = [];
    for (let second = 0; second < 5; second++) {
      let d = 0;
      for (let i = 0; i < 200; i++) if (steer(l, () => 5) === D) d++;
      share.push(d / 200);
    }
    // ~0.1 of a full share (0.25) at first, ramping to about a full share once the window passed.
    expect(share[0]).toBeLessThan(0.12);
    expect(share[4]).toBeGreaterThan(0.17);
    expect(share[4]).toBeGreaterThan(share[0]! * 2);
  });
});

describe("static endpoints and ageing", () => {
  it("static endpoints are balanced from the start and never age out; learned ones do", async () => {
    const l = await loadBalancer({
      explore_share: 0,
      endpoints: [{ cluster: "backend", address: A }, { cluster: "backend", address: B }],
      endpoint_ttl_ms: 2000,
    });
    l.env.clock.advance(100); // the first fold
    const r = rpc(l, { latencyMs: 1 });
    expect([A, B]).toContain(requested(l, r.header));
    rpc(l, { requestHeaders: [[l.header, b64(C)]], fallback: C, latencyMs: 1 }); // C learned
    l.env.clock.advance(100);
    expect(metric(l.env, "grpc_balancer_endpoints", { cluster: "backend" })).toBe(3);
    l.env.clock.advance(3000);
    expect(metric(l.env, "grpc_balancer_endpoints", { cluster: "backend" })).toBe(2);
  });
});

describe("metrics", () => {
  it("publishes the cost and in-flight gauges per endpoint", async () => {
    const l = await loadBalancer({ explore_share: 0.3, seed: 10 });
    warm(l, [A, B]);
    // 20 s of traffic, every third RPC left to "Envoy" (alternating A and B), so both keep
    // being measured; the initial estimate (the class median) fades with tau.
    for (let i = 0; i < 1000; i++) {
      steer(l, (a) => (a === A ? 2 : 20), { fallback: i % 2 === 0 ? A : B });
      l.env.clock.advance(10);
    }
    l.env.clock.advance(100);
    const cost = (addr: string) => metric(l.env, "grpc_balancer_endpoint_cost", { cluster: "backend", endpoint: labelOf(addr) });
    expect(cost(A)).toBeGreaterThan(0);
    expect(cost(B)).toBeGreaterThan(cost(A) * 3);
    expect(series(l.env, "grpc_balancer_endpoint_in_flight").length).toBe(2);
    expect(metric(l.env, "grpc_balancer_endpoint_in_flight")).toBe(0);
  });
});
