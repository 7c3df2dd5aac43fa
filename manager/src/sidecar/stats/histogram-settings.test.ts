import { describe, expect, it } from "vitest";
import { histogramBuckets } from "./histogram-settings.ts";
import { DEFAULT_BUCKETS } from "./log-linear-histogram.ts";
import { MemoryStatsStore } from "./store.ts";
import { renderPrometheus } from "./render-prometheus.ts";
import { buildTagExtractors } from "./tag-extractor.ts";
import { formatG32, parseStatsParams } from "./render-support.ts";

describe("histogramBuckets (Envoy's HistogramSettingsImpl)", () => {
  it("gives Envoy's default buckets without rules or without a match", () => {
    expect(histogramBuckets()("cluster.a.upstream_rq_time")).toEqual(DEFAULT_BUCKETS);
    const f = histogramBuckets([{ match: { exact: "x", ignoreCase: false }, buckets: [1] }]);
    expect(f("y")).toEqual(DEFAULT_BUCKETS);
    expect(DEFAULT_BUCKETS).toEqual([0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000]);
  });

  it("tries the rules in order: the first match wins", () => {
    const f = histogramBuckets([
      { match: { suffix: "_ms", ignoreCase: false }, buckets: [1, 2] },
      { match: { prefix: "wasmcustom", ignoreCase: false }, buckets: [3, 4] },
    ]);
    expect(f("wasmcustom.latency_ms")).toEqual([1, 2]);
    expect(f("wasmcustom.size")).toEqual([3, 4]);
    expect(f("cluster.a.upstream_rq_time")).toEqual(DEFAULT_BUCKETS);
  });

  it("matches each StringMatcher kind against the full name", () => {
    const one = (match: object) => histogramBuckets([{ match: { ignoreCase: false, ...match }, buckets: [7] }]);
    const name = "wasmcustom.grpc_method=.=Echo;.;grpc_server_handling_ms";
    expect(one({ exact: name })(name)).toEqual([7]);
    expect(one({ exact: "grpc_server_handling_ms" })(name)).toEqual(DEFAULT_BUCKETS);
    expect(one({ prefix: "wasmcustom.grpc_method=" })(name)).toEqual([7]);
    expect(one({ suffix: "handling_ms" })(name)).toEqual([7]);
    expect(one({ contains: "=.=Echo;" })(name)).toEqual([7]);
    expect(one({ prefix: "WASMCUSTOM", ignoreCase: true })(name)).toEqual([7]);
    expect(one({ prefix: "WASMCUSTOM" })(name)).toEqual(DEFAULT_BUCKETS);
    // safe_regex is a full match (RE2 FullMatch), not a search
    expect(one({ safeRegex: "wasmcustom\\..*_ms" })(name)).toEqual([7]);
    expect(one({ safeRegex: "grpc_server" })(name)).toEqual(DEFAULT_BUCKETS);
  });
});

describe("a store with bucket settings", () => {
  it("creates each histogram with its buckets and renders them cumulative, with +Inf, sum and count", () => {
    const store = new MemoryStatsStore({
      histogramBuckets: histogramBuckets([{ match: { suffix: "_ms", ignoreCase: false }, buckets: [1, 5, 10, 50, 100] }]),
    });
    const h = store.histogram("wasmcustom.grpc_method=.=Echo;.;handling_ms");
    for (const v of [3, 7, 60, 250]) h.record(v);
    store.histogram("cluster.backend.upstream_rq_time").record(3);
    expect(h.snapshot().bounds).toEqual([1, 5, 10, 50, 100]);
    const extractors = buildTagExtractors({
      useAllDefaultTags: true,
      statsTags: [{ tagName: "grpc_method", regex: "(grpc_method=\\.=(.*?);\\.;)" }],
    });
    const text = renderPrometheus(store, extractors, parseStatsParams(new URLSearchParams()));
    // bins [3,3.1) [7,7.1) [60,61) [250,260): a bin counts once its upper edge is <= le
    const sum = formatG32(3.05 + 7.05 + 60.5 + 255);
    expect(text).toContain(
      [
        "# TYPE handling_ms histogram",
        'handling_ms_bucket{grpc_method="Echo",le="1"} 0',
        'handling_ms_bucket{grpc_method="Echo",le="5"} 1',
        'handling_ms_bucket{grpc_method="Echo",le="10"} 2',
        'handling_ms_bucket{grpc_method="Echo",le="50"} 2',
        'handling_ms_bucket{grpc_method="Echo",le="100"} 3',
        'handling_ms_bucket{grpc_method="Echo",le="+Inf"} 4',
        `handling_ms_sum{grpc_method="Echo"} ${sum}`,
        'handling_ms_count{grpc_method="Echo"} 4',
        "",
      ].join("\n"),
    );
    // the built-in histogram keeps Envoy's defaults
    expect(text).toContain('envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="backend",le="3600000"} 1\n');
    expect(text.match(/envoy_cluster_upstream_rq_time_bucket/g)).toHaveLength(DEFAULT_BUCKETS.length + 1);
  });

  it("prints fractional bounds with %.32g", () => {
    const store = new MemoryStatsStore({ histogramBuckets: () => [0.005, 0.25] });
    store.histogram("wasmcustom.s").record(0);
    const text = renderPrometheus(store, buildTagExtractors({ useAllDefaultTags: false, statsTags: [] }), parseStatsParams(new URLSearchParams()));
    expect(text).toContain(`s_bucket{le="${formatG32(0.005)}"} 1\ns_bucket{le="0.25"} 1\ns_bucket{le="+Inf"} 1\n`);
    expect(formatG32(0.005)).toBe("0.0050000000000000001040834085586084");
  });
});
