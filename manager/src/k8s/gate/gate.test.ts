import { describe, expect, it } from "vitest";
import type { GateConfig } from "../render/config.ts";
import { counterDelta, judge, type CounterReadings } from "./evaluate.ts";
import { counterQueries, latencyP99Query } from "./queries.ts";

const config: GateConfig = { prometheus: "http://p", bakeMs: 60_000, maxErrorRatio: 0.05, maxLatencyP99Ms: 250, minRequests: 10, namespaceLabel: "namespace", podLabel: "pod" };
const zero: CounterReadings = { requests: 0, serverErrors: 0, fetchFailures: 0, configRejections: 0, denyFallback: 0 };

describe("gate queries", () => {
  const scope = { namespace: "shop", pods: ["checkout-0", "checkout.canary-0"], namespaceLabel: "namespace", podLabel: "pod", objects: [{ kind: "WasmPlugin" as const, namespace: "shop", name: "grpc-metrics-checkout" }] };
  it("select the wave's pods by positive matchers, regex-escaped", () => {
    const q = counterQueries(scope);
    expect(q.requests).toBe('sum(grpc_server_handled_total{namespace="shop",pod=~"checkout-0|checkout\\\\.canary-0"})');
    expect(q.serverErrors).toContain('grpc_code=~"Unknown|DeadlineExceeded|Unimplemented|Internal|Unavailable|DataLoss"');
    expect(q.fetchFailures).toBe('sum(istio_agent_wasm_remote_fetch_count{namespace="shop",pod=~"checkout-0|checkout\\\\.canary-0",result!="success"})');
    expect(q.configRejections).toContain("envoy_extension_config_discovery_http_filter_extensions_istio_io_wasmplugin_shop_grpc_metrics_checkout_config_fail");
    expect(latencyP99Query(scope, 30)).toMatch(/^histogram_quantile\(0\.99, sum by \(le\) \(grpc_server_handling_milliseconds_bucket\{.*\}\) - \(sum by \(le\) \(.* offset 30s\) or sum by \(le\) \(.*\) \* 0\)\)$/);
  });
});

describe("judge", () => {
  it("passes healthy traffic and lists every reading", () => {
    const v = judge(config, zero, { ...zero, requests: 200, serverErrors: 2 }, 42, ["a"]);
    expect(v).toEqual({
      passed: true,
      readings: [
        'module fetch failures (istio_agent_wasm_remote_fetch_count{result!="success"}) 0 = 0',
        "configurations Envoy rejected (ECDS config_fail) 0 = 0",
        "requests denied by istio-agent's deny-all fallback 0 = 0",
        "gRPC requests from 1 pod(s) 200 >= 10 (minRequests)",
        "server error ratio 0.010 (2 of 200 RPCs) <= 0.05",
        "p99 latency 42.0 ms <= 250 ms",
      ],
    });
  });
  it.each([
    ["server errors", { ...zero, requests: 100, serverErrors: 40 }, 10, "server error ratio 0.400 (40 of 100 RPCs) > 0.05"],
    ["too little traffic", { ...zero, requests: 3 }, 10, "gRPC requests from 1 pod(s) 3 < 10 (minRequests)"],
    ["slow RPCs", { ...zero, requests: 100 }, 900, "p99 latency 900.0 ms > 250 ms"],
    ["a failed fetch first, even with errors", { ...zero, requests: 100, serverErrors: 100, fetchFailures: 1 }, 10, 'module fetch failures (istio_agent_wasm_remote_fetch_count{result!="success"}) 1 > 0'],
    ["a rejected configuration", { ...zero, requests: 100, configRejections: 2 }, 10, "configurations Envoy rejected (ECDS config_fail) 2 > 0"],
  ])("fails on %s with that reading", (_what, after, p99, failure) => {
    const v = judge(config, zero, after, p99, ["a"]);
    expect(v.passed).toBe(false);
    expect(v.failure).toBe(failure);
  });
  it("counts from the reading at the start of the wave; a counter that went down was reset", () => {
    expect(counterDelta(100, 130)).toBe(30);
    expect(counterDelta(100, 7)).toBe(7);
    expect(judge(config, { ...zero, requests: 1000, serverErrors: 500 }, { ...zero, requests: 1100, serverErrors: 501 }, 1, ["a"]).passed).toBe(true);
  });
});
