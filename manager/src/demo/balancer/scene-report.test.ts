import { describe, expect, it } from "vitest";
import { summarizeLatencies } from "../latency.ts";
import { parseBootstrap } from "../../sidecar/config/parse-bootstrap.ts";
import { balancerCosts, counterDelta, formatScene, parseClusterCounters, shares, summarizeScene, type SceneOutcome } from "./scene-report.ts";
import { BALANCED_CLUSTER, LEAST_REQUEST_CLUSTER, renderSceneConfig } from "./scene-config.ts";

// Envoy's admin /clusters text (ClustersHandler): one `<cluster>::<host>::<stat>::<value>` per line.
const CLUSTERS = [
  "demo_backends::observability_name::demo_backends",
  "demo_backends::default_priority::max_connections::1024",
  "demo_backends::127.0.0.1:50051::cx_active::1",
  "demo_backends::127.0.0.1:50051::rq_total::40",
  "demo_backends::127.0.0.1:50052::rq_total::7",
  "demo_backends::127.0.0.1:50052::health_flags::healthy",
  "demo_backends_least_request::127.0.0.1:50051::rq_total::12",
  "demo_backends_least_request::[::1]:50053::rq_total::3",
  "broken::127.0.0.1:1::rq_total::x",
  "",
].join("\n");

describe("the balancer scene's numbers", () => {
  it("reads per-host rq_total from admin /clusters text, other stats and malformed lines skipped", () => {
    const c = parseClusterCounters(CLUSTERS);
    expect([...c.keys()]).toEqual(["demo_backends", "demo_backends_least_request"]);
    expect(Object.fromEntries(c.get("demo_backends")!)).toEqual({ "127.0.0.1:50051": 40, "127.0.0.1:50052": 7 });
    expect(Object.fromEntries(c.get("demo_backends_least_request")!)).toEqual({ "127.0.0.1:50051": 12, "[::1]:50053": 3 });
    expect(parseClusterCounters(CLUSTERS, "cx_active").get("demo_backends")!.get("127.0.0.1:50051")).toBe(1);
  });

  it("a phase is the difference of two snapshots; shares are per named backend", () => {
    const before = parseClusterCounters("c::10.0.0.1:80::rq_total::5\nc::10.0.0.2:80::rq_total::1");
    const after = parseClusterCounters("c::10.0.0.1:80::rq_total::35\nc::10.0.0.2:80::rq_total::11\nc::10.0.0.3:80::rq_total::20");
    const delta = counterDelta(before, after, "c");
    expect(Object.fromEntries(delta)).toEqual({ "10.0.0.1:80": 30, "10.0.0.2:80": 10, "10.0.0.3:80": 20 });
    expect(counterDelta(before, after, "other").size).toBe(0);
    const names = new Map([["10.0.0.1:80", "a"], ["10.0.0.2:80", "b"], ["10.0.0.3:80", "c"], ["10.0.0.4:80", "d"]]);
    expect(shares(delta, names)).toEqual({ a: 0.5, b: 10 / 60, c: 20 / 60, d: 0 });
    expect(shares(new Map(), names)).toEqual({ a: 0, b: 0, c: 0, d: 0 });
  });

  it("reads grpc-balancer's cost gauge per endpoint (millionths, ':' written as '_')", () => {
    const samples = [
      { name: "grpc_balancer_endpoint_cost", labels: { cluster: "demo_backends", endpoint: "127.0.0.1_50051" }, value: 2_500_000 },
      { name: "grpc_balancer_endpoint_cost", labels: { cluster: "other", endpoint: "127.0.0.1_50052" }, value: 1_000_000 },
      { name: "grpc_balancer_picks_total", labels: { cluster: "demo_backends", endpoint: "127.0.0.1_50052" }, value: 9 },
    ];
    expect(Object.fromEntries(balancerCosts(samples, "demo_backends"))).toEqual({ "127.0.0.1:50051": 2.5 });
  });

  it("prints one block per policy: shares with counts per phase, grpc-balancer's costs, p50 / p99, failures", () => {
    const lat = (p50: number, p99: number) => ({ ...summarizeLatencies([]), p50, p99 });
    const scene: SceneOutcome = {
      phases: [
        { name: "before", seconds: 3, note: "2 ms per RPC" },
        { name: "during", seconds: 5, note: "150 ms per RPC" },
        { name: "after", seconds: 5, note: "2 ms again" },
      ],
      backends: ["backend-a", "backend-b"],
      degraded: "backend-a",
      ratePerSecond: 40,
      policies: [
        { policy: "grpc-balancer", cluster: "demo_backends", requests: [{ "backend-a": 60, "backend-b": 60 }, { "backend-a": 4, "backend-b": 196 }, { "backend-a": 50, "backend-b": 150 }],
          latency: [lat(3, 9), lat(4.25, 12), lat(3, 10)], failed: [0, 0, 0], cost: [{ "backend-a": 1, "backend-b": 1.04 }, { "backend-a": 25, "backend-b": 1 }, { "backend-a": 3.5 }] },
        { policy: "LEAST_REQUEST", cluster: "demo_backends_least_request", requests: [{ "backend-a": 61, "backend-b": 59 }, { "backend-a": 70, "backend-b": 130 }, { "backend-a": 100, "backend-b": 100 }],
          latency: [lat(3, 9), lat(20, 152), lat(3, 9)], failed: [0, 2, 0] },
      ],
    };
    expect(formatScene(scene).split("\n")).toEqual([
      "                      before (3 s)        during (5 s)        after (5 s)",
      "grpc-balancer (demo_backends)",
      "  backend-a *         50% (60)            2.0% (4)            25% (50)",
      "  backend-b           50% (60)            98% (196)           75% (150)",
      "  cost at the end     1.00 1.04           25.0 1.00           3.50 -",
      "  p50 / p99 ms        3.0 / 9.0           4.3 / 12.0          3.0 / 10.0",
      "LEAST_REQUEST (demo_backends_least_request)",
      "  backend-a *         51% (61)            35% (70)            50% (100)",
      "  backend-b           49% (59)            65% (130)           50% (100)",
      "  p50 / p99 ms        3.0 / 9.0           20.0 / 152          3.0 / 9.0",
      "  failed RPCs         0                   2                   0",
      "* backend-a: before: 2 ms per RPC; during: 150 ms per RPC; after: 2 ms again",
    ]);
    expect(summarizeScene(scene)).toBe(
      "While backend-a was slow it got grpc-balancer 2.0%, LEAST_REQUEST 35% of the RPCs (a fair share is 50%); p99 grpc-balancer 12.0 ms vs LEAST_REQUEST 152 ms.",
    );
  });

  it("the scene's bootstrap is a valid Envoy bootstrap: two listeners, two LEAST_REQUEST clusters over the same backends, the session filter only on the balanced one", () => {
    const text = renderSceneConfig({ backendPorts: [50051, 50052, 50053] });
    const b = parseBootstrap(text, { sourceName: "scene.yaml", baseDir: "." });
    const listeners = b.listeners;
    expect(listeners.map((l) => [l.name, l.httpConnectionManager.httpFilters.map((f) => f.kind)])).toEqual([
      ["balanced", ["stateful_session", "router"]],
      ["least_request", ["router"]],
    ]);
    expect(b.clusters.map((c) => c.name)).toEqual([BALANCED_CLUSTER, LEAST_REQUEST_CLUSTER]);
    expect(b.stats.statsTags.map((t) => t.tagName)).toEqual(["cluster", "endpoint", "decision", "result"]);
    expect(text.match(/port_value: 5005[123]/g)).toHaveLength(6);
  });
});
