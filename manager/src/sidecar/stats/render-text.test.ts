import { describe, expect, it } from "vitest";
import { MemoryStatsStore } from "./store.ts";
import { renderStatsJson, renderStatsText } from "./render-text.ts";
import { formatShortest, parseStatsParams } from "./render-support.ts";

const params = (q = "") => parseStatsParams(new URLSearchParams(q));

function store(): MemoryStatsStore {
  const s = new MemoryStatsStore();
  s.counter("cluster.b.upstream_rq_total").add(5);
  s.gauge("cluster.b.upstream_cx_active").set(1);
  s.counter("wasmcustom.grpc_requests_total").add(2);
  s.counter("cluster.a.upstream_rq_total");
  s.histogram("cluster.b.upstream_rq_time").record(1);
  s.histogram("http.ingress.downstream_rq_time");
  return s;
}

describe("renderStatsText", () => {
  it("sorts counters and gauges together, then histograms, strips wasmcustom.", () => {
    expect(renderStatsText(store(), params())).toBe(
      [
        "cluster.a.upstream_rq_total: 0",
        "cluster.b.upstream_cx_active: 1",
        "cluster.b.upstream_rq_total: 5",
        "grpc_requests_total: 2",
        "cluster.b.upstream_rq_time: P0(nan,1) P25(nan,1.025) P50(nan,1.05) P75(nan,1.075) P90(nan,1.09) P95(nan,1.095) P99(nan,1.099) P99.5(nan,1.0995) P99.9(nan,1.0999) P100(nan,1.1)",
        "http.ingress.downstream_rq_time: No recorded values",
        "",
      ].join("\n"),
    );
  });

  it("shows the last merged interval in the first half of each pair", () => {
    const s = new MemoryStatsStore();
    const h = s.histogram("h");
    h.record(10);
    s.mergeHistograms();
    h.record(20);
    expect(renderStatsText(s, params())).toBe(
      "h: P0(10,10) P25(10.25,10.5) P50(10.5,11) P75(10.75,20.5) P90(10.9,20.8) P95(10.95,20.9) P99(10.99,20.98) P99.5(10.995,20.99) P99.9(10.999,20.998) P100(11,21)\n",
    );
  });

  it("filters by regex and usedonly", () => {
    expect(renderStatsText(store(), params("usedonly"))).toBe(
      [
        "cluster.b.upstream_cx_active: 1",
        "cluster.b.upstream_rq_total: 5",
        "grpc_requests_total: 2",
        "cluster.b.upstream_rq_time: P0(nan,1) P25(nan,1.025) P50(nan,1.05) P75(nan,1.075) P90(nan,1.09) P95(nan,1.095) P99(nan,1.099) P99.5(nan,1.0995) P99.9(nan,1.0999) P100(nan,1.1)",
        "",
      ].join("\n"),
    );
    expect(renderStatsText(store(), params("filter=^cluster\\.a\\."))).toBe("cluster.a.upstream_rq_total: 0\n");
    expect(renderStatsText(store(), params("filter=wasmcustom"))).toBe("grpc_requests_total: 2\n");
    expect(() => params("filter=(")).toThrow();
  });
});

describe("renderStatsJson", () => {
  it("uses Envoy's JSON shape with null for missing quantiles", () => {
    const json = JSON.parse(renderStatsJson(store(), params("filter=cluster\\.b")));
    expect(json.stats.slice(0, 2)).toEqual([
      { name: "cluster.b.upstream_cx_active", value: 1 },
      { name: "cluster.b.upstream_rq_total", value: 5 },
    ]);
    const h = json.stats[2].histograms;
    expect(h.supported_quantiles).toEqual([0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 100]);
    expect(h.computed_quantiles[0].name).toBe("cluster.b.upstream_rq_time");
    expect(h.computed_quantiles[0].values[0]).toEqual({ interval: null, cumulative: 1 });
    expect(h.computed_quantiles[0].values[9]).toEqual({ interval: null, cumulative: 1.1 });
  });
});

describe("formatShortest", () => {
  it("prints like fmt {}", () => {
    expect(formatShortest(Number.NaN)).toBe("nan");
    expect(formatShortest(1.5)).toBe("1.5");
    expect(formatShortest(3600000)).toBe("3600000");
    expect(formatShortest(1e16)).toBe("1e+16");
    expect(formatShortest(0.00001)).toBe("1e-05");
  });
});
