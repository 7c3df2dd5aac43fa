import { describe, expect, it } from "vitest";
import { formatMethodMetrics, histogramQuantile, methodMetrics, parsePrometheusText } from "./metrics-report.ts";

const TEXT = `# TYPE grpc_server_handled_total counter
grpc_server_handled_total{grpc_type="unary",grpc_service="a.Svc",grpc_method="Get",grpc_code="OK"} 90
grpc_server_handled_total{grpc_type="unary",grpc_service="a.Svc",grpc_method="Get",grpc_code="NotFound"} 10
grpc_server_handled_total{grpc_type="server_stream",grpc_service="a.Svc",grpc_method="List",grpc_code="OK"} 4
grpc_server_handled_total{grpc_type="unary",grpc_service="a.Svc",grpc_method="Old",grpc_code="OK"} 0
# TYPE grpc_server_handling_milliseconds histogram
grpc_server_handling_milliseconds_bucket{grpc_type="unary",grpc_service="a.Svc",grpc_method="Get",le="1"} 50
grpc_server_handling_milliseconds_bucket{grpc_type="unary",grpc_service="a.Svc",grpc_method="Get",le="5"} 90
grpc_server_handling_milliseconds_bucket{grpc_type="unary",grpc_service="a.Svc",grpc_method="Get",le="10"} 98
grpc_server_handling_milliseconds_bucket{grpc_type="unary",grpc_service="a.Svc",grpc_method="Get",le="+Inf"} 100
grpc_server_handling_milliseconds_sum{grpc_type="unary",grpc_service="a.Svc",grpc_method="Get"} 210
grpc_server_handling_milliseconds_count{grpc_type="unary",grpc_service="a.Svc",grpc_method="Get"} 100
envoy_cluster_upstream_rq_total{envoy_cluster_name="x"} 7
odd_label{v="a \\"quoted\\" \\\\ value"} 1
`;

describe("parsePrometheusText", () => {
  it("reads names, labels (unescaped) and values, skipping comments", () => {
    const s = parsePrometheusText(TEXT);
    expect(s).toHaveLength(12);
    expect(s[0]).toEqual({
      name: "grpc_server_handled_total",
      labels: { grpc_type: "unary", grpc_service: "a.Svc", grpc_method: "Get", grpc_code: "OK" },
      value: 90,
    });
    expect(s.find((x) => x.name === "odd_label")?.labels.v).toBe('a "quoted" \\ value');
  });
});

describe("histogramQuantile (Prometheus's bucketQuantile)", () => {
  const b = [
    { le: 1, count: 50 },
    { le: 5, count: 90 },
    { le: 10, count: 98 },
    { le: Infinity, count: 100 },
  ];
  it.each([
    [0.5, 1], // rank 50 is the last sample of the first bucket
    [0.25, 0.5], // from 0 inside the first bucket
    [0.7, 3], // 1 + 4 * (70 - 50) / 40
    [0.9, 5],
    [0.95, 5 + (5 * 5) / 8], // 5 + 5 * (95 - 90) / 8
    [0.99, 10], // the rank falls in +Inf: the highest finite bound
  ])("q=%f -> %f", (q, v) => {
    expect(histogramQuantile(q, b)).toBeCloseTo(v, 12);
  });
  it("is NaN without samples or without the +Inf bucket", () => {
    expect(histogramQuantile(0.5, [{ le: 1, count: 0 }, { le: Infinity, count: 0 }])).toBeNaN();
    expect(histogramQuantile(0.5, [{ le: 1, count: 3 }])).toBeNaN();
  });
});

describe("methodMetrics and its table", () => {
  it("gives per-method RPCs, codes and quantiles, busiest first, without empty series", () => {
    const rows = methodMetrics(parsePrometheusText(TEXT));
    expect(rows.map((r) => `${r.service}/${r.method}`)).toEqual(["a.Svc/Get", "a.Svc/List"]);
    expect(rows[0]).toMatchObject({ rpcs: 100, byCode: { OK: 90, NotFound: 10 }, p50Ms: 1, p99Ms: 10 });
    expect(rows[1]!.p99Ms).toBeNaN();
    const table = formatMethodMetrics(rows, 2000).split("\n");
    expect(table[0]).toMatch(/^method\s+RPCs\s+RPC\/s\s+p50 ms\s+p99 ms\s+codes$/);
    expect(table[1]).toMatch(/^a\.Svc\/Get\s+100\s+50\.0\s+1\.0\s+10\.0\s+OK 90, NotFound 10$/);
    expect(table[2]).toMatch(/^a\.Svc\/List\s+4\s+2\.0\s+-\s+-\s+OK 4$/);
  });
});
