/**
 * The real-Prometheus harness (test/support/prometheus.ts) scraping the sidecar's
 * `/stats/prometheus` every second: Prometheus accepts the exposition (target up, no scrape
 * error), and PromQL sees exact values: a built-in counter after N RPCs, a Wasm counter with
 * labels from Istio-style `stats_tags`, and a histogram through histogram_quantile. A query
 * Prometheus rejects surfaces as PromQueryError.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { echoClient, unary } from "../support/grpc-echo.ts";
import { startHarness, type Harness } from "../support/sidecar-harness.ts";
import { wasmFilter } from "../support/envoy-config.ts";
import { prometheusGate, PromQueryError, singleValue, startPrometheus, type TestPrometheus } from "../support/prometheus.ts";
import { Guest, OUT_3 } from "../conformance/guest.ts";

const gate = prometheusGate();
const RPCS = 7;

/** Per request: `result=.=ok;.;scrape_test_total` += 1 and one sample (40) in `scrape_test_ms`. */
function guest(): Guest {
  const g = new Guest();
  g.raw("(global $c (mut i32) (i32.const 0)) (global $h (mut i32) (i32.const 0))");
  g.on(
    "proxy_on_configure",
    `(drop ${g.hc("proxy_define_metric", 0, g.str("result=.=ok;.;scrape_test_total"), OUT_3)}) (global.set $c (i32.load (i32.const ${OUT_3})))
     (drop ${g.hc("proxy_define_metric", 2, g.str("scrape_test_ms"), OUT_3)}) (global.set $h (i32.load (i32.const ${OUT_3})))`,
    "(i32.const 1)",
  );
  g.on(
    "proxy_on_request_headers",
    `(drop ${g.hc("proxy_increment_metric", "(global.get $c)", "(i64.const 1)")}) (drop ${g.hc("proxy_record_metric", "(global.get $h)", "(i64.const 40)")})`,
    "(i32.const 0)",
  );
  return g;
}

describe.skipIf(gate.skip)(`a real Prometheus scraping the sidecar${gate.skip ? ` (skipped: ${gate.reason})` : ""}`, () => {
  let h: Harness;
  let prom: TestPrometheus;

  beforeAll(async () => {
    h = await startHarness({
      files: { "m.wasm": await guest().build() },
      config: () => ({ admin: true, httpFilters: [wasmFilter({ name: "m", filename: "m.wasm" })] }),
      edit: (b) => {
        b.stats_config = { stats_tags: [{ tag_name: "result", regex: "(result=\\.=(.*?);\\.;)" }] };
      },
    });
    prom = await startPrometheus({
      targets: [{ job: "sidecar", address: `127.0.0.1:${h.sidecar.adminPort}`, metricsPath: "/stats/prometheus", labels: { namespace: "test", app: "echo" } }],
    });
    const client = echoClient(h.port);
    try {
      for (let i = 0; i < RPCS; i++) await unary(client, { message: `m${i}` });
    } finally {
      client.close();
    }
  }, 60_000);

  afterAll(async () => {
    await prom?.stop();
    await h?.stop();
  });

  it("scrapes the target without errors", async () => {
    await prom.waitForQuery('up{job="sidecar"}', (r) => singleValue(r) === 1);
    const [target] = await prom.targets();
    expect(target).toMatchObject({ job: "sidecar", health: "up", lastError: "" });
    expect(target!.labels).toMatchObject({ namespace: "test", app: "echo" });
  });

  it("a built-in counter has the exact value through PromQL", async () => {
    const r = await prom.waitForQuery('envoy_cluster_upstream_rq_total{envoy_cluster_name="backend"}', (q) => singleValue(q) === RPCS);
    expect(r.resultType).toBe("vector");
    expect(r.resultType === "vector" && r.result[0]!.metric).toMatchObject({ job: "sidecar", namespace: "test", app: "echo" });
  });

  it("a Wasm counter carries its stats_tags label; a histogram answers histogram_quantile", async () => {
    await prom.waitForQuery('scrape_test_total{result="ok"}', (q) => singleValue(q) === RPCS);
    // every sample is 40 (bin [40,41)), bounds ... 25, 50 ...: the median interpolates inside (25, 50]
    const p50 = await prom.waitForQuery("histogram_quantile(0.5, sum by (le) (scrape_test_ms_bucket))", (q) => singleValue(q) !== undefined && !Number.isNaN(singleValue(q)));
    expect(singleValue(p50)).toBe(37.5);
    expect(singleValue(await prom.query("sum(scrape_test_ms_count)"))).toBe(RPCS);
  });

  it("a query Prometheus rejects is a PromQueryError naming it", async () => {
    const err = await prom.query("sum(rate(scrape_test_total[1m]) by").catch((e) => e);
    expect(err).toBeInstanceOf(PromQueryError);
    expect((err as PromQueryError).errorType).toBe("bad_data");
    expect((err as Error).message).toContain("sum(rate(scrape_test_total[1m]) by");
  });
});
