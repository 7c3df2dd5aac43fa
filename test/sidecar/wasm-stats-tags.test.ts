/**
 * Wasm custom metrics through the sidecar the way Istio exports them (issue 8): a filter
 * defines metrics with proxy_define_metric under names that carry Istio's tag encoding
 * (`<tag>=.=<value>;.;` segments), the bootstrap has Istio's `stats_tags` regexes
 * (`(<tag>=\.=(.*?);\.;)`, use_all_default_tags false) and `histogram_bucket_settings` as the
 * `sidecar.istio.io/statsHistogramBuckets: '{"wasmcustom":[...]}'` annotation renders them
 * (`match: {prefix: wasmcustom}`). `/stats/prometheus` then shows the metrics without the
 * `envoy_` prefix, with the tags as labels and the histogram with the configured buckets,
 * cumulative, with +Inf, while Envoy's own histograms keep the default buckets.
 */
import { afterEach, describe, expect, it } from "vitest";
import { echoClient, unary } from "../support/grpc-echo.ts";
import { startHarness, type Harness } from "../support/sidecar-harness.ts";
import { wasmFilter } from "../support/envoy-config.ts";
import { Guest, OUT_3 } from "../conformance/guest.ts";
import { formatG32 } from "../../manager/src/sidecar/stats/render-support.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const TAGS = ["grpc_type", "grpc_service", "grpc_method", "grpc_code"];
const SERVICE_TAGS = "grpc_type=.=unary;.;grpc_service=.=a.b.Svc;.;grpc_method=.=Echo;.;";
const HANDLED = `${SERVICE_TAGS}grpc_code=.=OK;.;grpc_server_handled_total`;
const HANDLING = `${SERVICE_TAGS}grpc_server_handling_ms`;
const SAMPLES = [3, 7, 60, 250];

/** Per request: grpc_server_handled_total += 1 and four samples into grpc_server_handling_ms. */
function metricsGuest(): Guest {
  const g = new Guest();
  g.raw("(global $handled (mut i32) (i32.const 0)) (global $handling (mut i32) (i32.const 0))");
  g.on(
    "proxy_on_configure",
    `(drop ${g.hc("proxy_define_metric", 0, g.str(HANDLED), OUT_3)}) (global.set $handled (i32.load (i32.const ${OUT_3})))
     (drop ${g.hc("proxy_define_metric", 2, g.str(HANDLING), OUT_3)}) (global.set $handling (i32.load (i32.const ${OUT_3})))`,
    "(i32.const 1)",
  );
  g.on(
    "proxy_on_request_headers",
    [
      `(drop ${g.hc("proxy_increment_metric", "(global.get $handled)", "(i64.const 1)")})`,
      ...SAMPLES.map((v) => `(drop ${g.hc("proxy_record_metric", "(global.get $handling)", `(i64.const ${v})`)})`),
    ].join("\n"),
    "(i32.const 0)",
  );
  return g;
}

describe("Istio's stats_tags convention and histogram_bucket_settings through the sidecar", () => {
  it("renders the filter's metrics as Prometheus families with labels and the configured buckets", async () => {
    h = await startHarness({
      files: { "metrics.wasm": await metricsGuest().build() },
      config: () => ({ admin: true, httpFilters: [wasmFilter({ name: "metrics", filename: "metrics.wasm" })] }),
      edit: (bootstrap) => {
        bootstrap.stats_config = {
          use_all_default_tags: false,
          stats_tags: TAGS.map((t) => ({ tag_name: t, regex: `(${t}=\\.=(.*?);\\.;)` })),
          histogram_bucket_settings: [{ match: { prefix: "wasmcustom" }, buckets: [1, 5, 10, 50, 100] }],
        };
      },
    });
    const client = echoClient(h.port);
    try {
      await unary(client, { message: "1" });
      await unary(client, { message: "2" });
    } finally {
      client.close();
    }
    const text = await (await fetch(`http://127.0.0.1:${h.sidecar.adminPort}/stats/prometheus`)).text();
    const labels = 'grpc_type="unary",grpc_service="a.b.Svc",grpc_method="Echo"';
    expect(text).toContain(
      `# TYPE grpc_server_handled_total counter\ngrpc_server_handled_total{${labels},grpc_code="OK"} 2\n`,
    );
    const sum = formatG32(2 * (3.05 + 7.05 + 60.5 + 255));
    expect(text).toContain(
      [
        "# TYPE grpc_server_handling_ms histogram",
        `grpc_server_handling_ms_bucket{${labels},le="1"} 0`,
        `grpc_server_handling_ms_bucket{${labels},le="5"} 2`,
        `grpc_server_handling_ms_bucket{${labels},le="10"} 4`,
        `grpc_server_handling_ms_bucket{${labels},le="50"} 4`,
        `grpc_server_handling_ms_bucket{${labels},le="100"} 6`,
        `grpc_server_handling_ms_bucket{${labels},le="+Inf"} 8`,
        `grpc_server_handling_ms_sum{${labels}} ${sum}`,
        `grpc_server_handling_ms_count{${labels}} 8`,
        "",
      ].join("\n"),
    );
    expect(text).not.toMatch(/envoy_grpc_server|wasmcustom/);
    // Envoy's own histograms are not matched by the rule: default buckets, up to 3600000 (no
    // default tag extraction, as Istio configures it)
    expect(text).toMatch(/\nenvoy_http_ingress_http_downstream_rq_time_bucket\{le="0\.5"\} \d+\n/);
    expect(text).toMatch(/\nenvoy_http_ingress_http_downstream_rq_time_bucket\{le="3600000"\} 2\n/);
  });
});
