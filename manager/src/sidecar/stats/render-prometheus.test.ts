import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { MemoryStatsStore } from "./store.ts";
import { buildTagExtractors, defaultTagExtractors } from "./tag-extractor.ts";
import { renderPrometheus } from "./render-prometheus.ts";
import { formatG32, parseStatsParams } from "./render-support.ts";

const all = parseStatsParams(new URLSearchParams());

const BOUNDS = ["0.5", "1", "5", "10", "25", "50", "100", "250", "500", "1000", "2500", "5000", "10000", "30000", "60000", "300000", "600000", "1800000", "3600000"];

function smallStore(): MemoryStatsStore {
  const s = new MemoryStatsStore();
  s.counter("cluster.backend.upstream_rq_200").add(3);
  s.counter("cluster.backend.upstream_rq_503").inc();
  s.counter("cluster.alpha.upstream_rq_200").add(2);
  s.counter("cluster.backend.upstream_rq_5xx").inc();
  s.counter("wasmcustom.custom_header_value_counts_value=foo_reporter=wasmgosdk").add(3);
  s.gauge("cluster.backend.upstream_cx_active").set(2);
  s.gauge("server.live").set(1);
  const h = s.histogram("cluster.backend.upstream_rq_time");
  h.record(1);
  h.record(7);
  return s;
}

const goSdkTags = buildTagExtractors({
  useAllDefaultTags: true,
  statsTags: [
    { tagName: "value", regex: "(_value=([a-zA-Z]+))" },
    { tagName: "reporter", regex: "(_reporter=([a-zA-Z]+))" },
  ],
});

describe("renderPrometheus", () => {
  it("renders a small store exactly as Envoy does", () => {
    const bucketCounts = [0, 0, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2];
    const expected = [
      "# TYPE envoy_cluster_upstream_rq counter",
      'envoy_cluster_upstream_rq{envoy_response_code="200",envoy_cluster_name="alpha"} 2',
      'envoy_cluster_upstream_rq{envoy_response_code="200",envoy_cluster_name="backend"} 3',
      'envoy_cluster_upstream_rq{envoy_response_code="503",envoy_cluster_name="backend"} 1',
      "# TYPE envoy_cluster_upstream_rq_xx counter",
      'envoy_cluster_upstream_rq_xx{envoy_response_code_class="5",envoy_cluster_name="backend"} 1',
      "# TYPE custom_header_value_counts counter",
      'custom_header_value_counts{value="foo",reporter="wasmgosdk"} 3',
      "# TYPE envoy_cluster_upstream_cx_active gauge",
      'envoy_cluster_upstream_cx_active{envoy_cluster_name="backend"} 2',
      "# TYPE envoy_server_live gauge",
      "envoy_server_live{} 1",
      "# TYPE envoy_cluster_upstream_rq_time histogram",
      ...BOUNDS.map(
        (b, i) => `envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="backend",le="${b}"} ${bucketCounts[i]}`,
      ),
      'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="backend",le="+Inf"} 2',
      // Envoy's approximate sum: bin midpoints 1.05 + 7.05, printed with %.32g.
      'envoy_cluster_upstream_rq_time_sum{envoy_cluster_name="backend"} 8.0999999999999996447286321199499',
      'envoy_cluster_upstream_rq_time_count{envoy_cluster_name="backend"} 2',
      "",
    ].join("\n");
    expect(renderPrometheus(smallStore(), goSdkTags, all)).toBe(expected);
  });

  it("Go SDK example line from proxy-wasm-abi §2.6", () => {
    const out = renderPrometheus(smallStore(), goSdkTags, all);
    expect(out.split("\n")).toContain('custom_header_value_counts{value="foo",reporter="wasmgosdk"} 3');
  });

  it("Istio convention: wasmcustom stat with extraStatTags regexes gets labels, no envoy_ prefix", () => {
    const s = new MemoryStatsStore();
    s.counter("wasmcustom.reporter=.=destination;.;result=.=deny;.;my_filter.requests_total").add(4);
    const ex = buildTagExtractors({
      useAllDefaultTags: false,
      statsTags: [
        { tagName: "reporter", regex: "(reporter=\\.=(.*?);\\.;)" },
        { tagName: "result", regex: "(result=\\.=(.*?);\\.;)" },
      ],
    });
    expect(renderPrometheus(s, ex, all)).toBe(
      '# TYPE my_filter_requests_total counter\nmy_filter_requests_total{reporter="destination",result="deny"} 4\n',
    );
  });

  it("escapes label values, drops custom stats starting with a digit, honours usedonly and filter", () => {
    const s = new MemoryStatsStore();
    s.counter('wasmcustom.calls_v=a"b\\c').inc();
    s.counter("wasmcustom.9lives").inc();
    s.counter("cluster.x.upstream_rq_total");
    s.gauge("cluster.y.upstream_cx_active").set(0);
    const ex = buildTagExtractors({ useAllDefaultTags: true, statsTags: [{ tagName: "v", regex: "(_v=(.+))$" }] });
    expect(renderPrometheus(s, ex, parseStatsParams(new URLSearchParams("usedonly")))).toBe(
      [
        "# TYPE calls counter",
        'calls{v="a\\"b\\\\c"} 1',
        "# TYPE envoy_cluster_upstream_cx_active gauge",
        'envoy_cluster_upstream_cx_active{envoy_cluster_name="y"} 0',
        "",
      ].join("\n"),
    );
    expect(renderPrometheus(s, ex, parseStatsParams(new URLSearchParams("filter=upstream_rq_total")))).toBe(
      '# TYPE envoy_cluster_upstream_rq_total counter\nenvoy_cluster_upstream_rq_total{envoy_cluster_name="x"} 0\n',
    );
  });

  it("histograms without tags use an empty label set for _sum/_count", () => {
    const s = new MemoryStatsStore();
    s.histogram("wasmcustom.lat").record(0);
    const out = renderPrometheus(s, defaultTagExtractors(), all).split("\n");
    expect(out[1]).toBe('lat_bucket{le="0.5"} 1');
    expect(out).toContain('lat_bucket{le="+Inf"} 1');
    expect(out).toContain("lat_sum{} 0");
    expect(out).toContain("lat_count{} 1");
  });

  it("formats %.32g like printf", () => {
    expect(formatG32(0.5)).toBe("0.5");
    expect(formatG32(3600000)).toBe("3600000");
    expect(formatG32(1.05)).toBe("1.0500000000000000444089209850063");
    expect(formatG32(125)).toBe("125");
  });

  const promtool = spawnSync("promtool", ["--version"], { encoding: "utf8" });
  const havePromtool = promtool.status === 0;
  it.skipIf(!havePromtool)("is accepted by promtool check metrics", () => {
    const s = smallStore();
    s.counter("wasmcustom.reporter=.=source;.;grpc_calls").inc();
    s.histogram("wasmcustom.grpc.latency_ms").record(12);
    const text = renderPrometheus(s, goSdkTags, all);
    const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    // Lint findings (naming advice) are reported with exit code 3; parse errors with 1.
    expect(r.stderr + r.stdout).not.toMatch(/error while linting|parse|invalid|unexpected/i);
    expect([0, 3]).toContain(r.status);
  });
});
