/**
 * filters/sdk/metrics.ts: Istio-convention names, define-once caching, recording without
 * allocation, the per-family series bound with its overflow value, label sanitizing, and how the
 * names come out of the sidecar's /stats and /stats/prometheus renderers with Istio's stats_tags.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { WasmResult } from "../../../manager/src/sidecar/host/abi.ts";
import { buildTagExtractors } from "../../../manager/src/sidecar/stats/tag-extractor.ts";
import { renderPrometheus } from "../../../manager/src/sidecar/stats/render-prometheus.ts";
import { renderStatsText } from "../../../manager/src/sidecar/stats/render-text.ts";
import { compileMetricsHarness, loadMetricsHarness, type MetricsHarness } from "./metrics-harness.ts";

const COUNTER = 0;
const GAUGE = 1;
const HISTOGRAM = 2;
const LABELS = ["grpc_type", "grpc_service", "grpc_method"];

let wasm: Uint8Array;
beforeAll(async () => {
  wasm = await compileMetricsHarness();
});

const counterValue = (h: MetricsHarness, name: string) => (h.stats.find(`wasmcustom.${name}`) as { value(): bigint } | undefined)?.value();

describe("metric names", () => {
  it("puts one `label=.=value;.;` segment per label before the base name", async () => {
    const h = await loadMetricsHarness(wasm);
    const f = h.family(COUNTER, "grpc_server_started_total", LABELS);
    h.set(f, ["unary", "pkg.v1.Svc", "Get"]);
    h.exports.nameOf!(f);
    expect(h.outString()).toBe("grpc_type=.=unary;.;grpc_service=.=pkg.v1.Svc;.;grpc_method=.=Get;.;grpc_server_started_total");
    expect(h.exports.add!(f, 3n)).toBe(WasmResult.Ok);
    expect(h.defined).toEqual(["grpc_type=.=unary;.;grpc_service=.=pkg.v1.Svc;.;grpc_method=.=Get;.;grpc_server_started_total"]);
    expect(counterValue(h, h.defined[0]!)).toBe(3n);
  });

  it("a family without labels is the plain name", async () => {
    const h = await loadMetricsHarness(wasm);
    const f = h.family(COUNTER, "grpc_metrics_other_rpcs_total", []);
    h.exports.add!(f, 1n);
    expect(h.defined).toEqual(["grpc_metrics_other_rpcs_total"]);
  });

  it("gives Istio's extraStatTags regex for a label", async () => {
    const h = await loadMetricsHarness(wasm);
    h.withString("grpc_method", (p, l) => h.exports.tagRegex!(p, l));
    expect(h.outString()).toBe("(grpc_method=\\.=(.*?);\\.;)");
  });

  it("accepts only Prometheus label names", async () => {
    const h = await loadMetricsHarness(wasm);
    const valid = (s: string) => h.withString(s, (p, l) => h.exports.validLabelName!(p, l));
    for (const ok of ["grpc_method", "_x", "A9"]) expect(valid(ok)).toBe(1);
    for (const bad of ["", "9a", "grpc-method", "a.b", "é"]) expect(valid(bad)).toBe(0);
  });
});

describe("label values", () => {
  const table: Array<[string, string]> = [
    ["meshwasm.demo.v1.Echo", "meshwasm.demo.v1.Echo"],
    ["pkg.Svc/Method", "pkg.Svc/Method"],
    ["Get-Item_2", "Get-Item_2"],
    ["a;.;b=.=c", "a_._b_._c"],
    ["x:y z", "x_y_z"],
    ["caf\u00e9\u{1f600}", "caf___"],
    ["", ""],
    ["a".repeat(200), "a".repeat(128)],
  ];
  it.each(table)("%j -> %j", async (input, expected) => {
    const h = await loadMetricsHarness(wasm);
    h.withString(input, (p, l) => h.exports.sanitize!(p, l));
    expect(h.outString()).toBe(expected);
  });

  it("returns a clean value itself (no copy) and copies only what it changes", async () => {
    const h = await loadMetricsHarness(wasm);
    const same = (s: string) => h.withString(s, (p, l) => h.exports.sanitizeIsIdentity!(p, l));
    expect(same("pkg.v1.Svc")).toBe(1);
    expect(same("pkg;Svc")).toBe(0);
  });

  it("never lets a value contain a tag delimiter (property)", async () => {
    const h = await loadMetricsHarness(wasm);
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 300 }), (s) => {
        h.withString(s, (p, l) => h.exports.sanitize!(p, l));
        const out = h.outString();
        expect(out).toMatch(/^[A-Za-z0-9_.\-/]*$/);
        expect(out.length).toBeLessThanOrEqual(128);
      }),
      { numRuns: 2000 },
    );
  });

  it("values that sanitize alike share one series", async () => {
    const h = await loadMetricsHarness(wasm);
    const f = h.family(COUNTER, "c_total", ["m"]);
    for (const v of ["a;b", "a=b", "a:b", "a_b"]) {
      h.set(f, [v]);
      h.exports.add!(f, 1n);
    }
    expect(h.defined).toEqual(["m=.=a_b;.;c_total"]);
    expect(counterValue(h, "m=.=a_b;.;c_total")).toBe(4n);
  });
});

describe("series cache", () => {
  it("defines each series once and keeps ids stable while the table grows", async () => {
    const h = await loadMetricsHarness(wasm);
    const f = h.family(COUNTER, "c_total", ["a", "b"]);
    const ids = new Map<string, number>();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 300; i++) {
        h.set(f, [`s${i % 17}`, `m${i}`]);
        const id = h.exports.seriesId!(f);
        const key = `${i % 17}/${i}`;
        if (round === 0) ids.set(key, id);
        else expect(id).toBe(ids.get(key));
        h.exports.add!(f, 1n);
      }
    }
    expect(h.defined).toHaveLength(300);
    expect(h.exports.size!(f)).toBe(300);
    expect(new Set(ids.values()).size).toBe(300);
    expect(counterValue(h, "a=.=s5;.;b=.=m5;.;c_total")).toBe(3n);
  });

  it("does not confuse values that concatenate alike", async () => {
    const h = await loadMetricsHarness(wasm);
    const f = h.family(COUNTER, "c_total", ["a", "b"]);
    h.set(f, ["ab", "c"]);
    h.exports.add!(f, 1n);
    h.set(f, ["a", "bc"]);
    h.exports.add!(f, 2n);
    expect(counterValue(h, "a=.=ab;.;b=.=c;.;c_total")).toBe(1n);
    expect(counterValue(h, "a=.=a;.;b=.=bc;.;c_total")).toBe(2n);
  });

  it("records gauges up and down and histogram samples", async () => {
    const h = await loadMetricsHarness(wasm);
    const g = h.family(GAUGE, "in_flight", ["m"]);
    h.set(g, ["Get"]);
    h.exports.add!(g, 1n);
    h.exports.add!(g, 1n);
    h.exports.add!(g, -1n);
    expect((h.stats.find("wasmcustom.m=.=Get;.;in_flight") as { value(): bigint }).value()).toBe(1n);
    const hist = h.family(HISTOGRAM, "lat_ms", ["m"]);
    h.set(hist, ["Get"]);
    for (const v of [1n, 7n, 300n]) expect(h.exports.record!(hist, v)).toBe(WasmResult.Ok);
    const snap = (h.stats.find("wasmcustom.m=.=Get;.;lat_ms") as { snapshot(): { count: number } }).snapshot();
    expect(snap.count).toBe(3);
  });

  it("records on an existing series without allocating (memory stays flat without a collection)", async () => {
    const h = await loadMetricsHarness(wasm);
    const f = h.family(COUNTER, "c_total", LABELS);
    h.set(f, ["unary", "meshwasm.demo.v1.Echo", "Unary"]);
    h.exports.add!(f, 1n);
    h.exports.addMany!(f, 1000);
    const before = h.memoryBytes();
    h.exports.addMany!(f, 300_000);
    expect(h.memoryBytes()).toBe(before);
    expect(counterValue(h, h.defined[0]!)).toBe(301_001n);
    // The same loop with a value that must be sanitized allocates a copy per call: memory grows.
    h.set(f, ["unary", "meshwasm.demo.v1.Echo", "Un:ary"]);
    h.exports.addMany!(f, 300_000);
    expect(h.memoryBytes()).toBeGreaterThan(before);
  });

  it("a refused define costs one host call, then recordings are dropped without trapping", async () => {
    const h = await loadMetricsHarness(wasm);
    h.refuseDefine = WasmResult.BadArgument;
    const f = h.family(COUNTER, "c_total", ["m"]);
    h.set(f, ["Get"]);
    expect(h.exports.seriesId!(f)).toBe(0);
    expect(h.exports.add!(f, 1n)).toBe(WasmResult.NotFound);
    expect(h.exports.defineFailures!(f)).toBe(1);
    h.refuseDefine = undefined;
    h.exports.add!(f, 1n);
    expect(h.defined).toEqual([]);
  });
});

describe("series bound", () => {
  it("folds new combinations past maxSeries into the overflow value, keeping bounded labels", async () => {
    const h = await loadMetricsHarness(wasm);
    // Bound 3; label 0 (grpc_type) is bounded (bit 0): it keeps its value on overflow.
    const f = h.family(COUNTER, "c_total", LABELS, 3, 0b001);
    for (const m of ["A", "B", "C"]) {
      h.set(f, ["unary", "pkg.Svc", m]);
      h.exports.add!(f, 1n);
    }
    h.set(f, ["unary", "pkg.Svc", "D"]);
    h.exports.add!(f, 1n);
    h.set(f, ["bidi_stream", "pkg.Other", "E"]);
    h.exports.add!(f, 1n);
    h.set(f, ["unary", "pkg.Svc", "B"]); // existing series still used
    h.exports.add!(f, 1n);
    expect(counterValue(h, "grpc_type=.=unary;.;grpc_service=.=pkg.Svc;.;grpc_method=.=B;.;c_total")).toBe(2n);
    expect(counterValue(h, "grpc_type=.=unary;.;grpc_service=.=other;.;grpc_method=.=other;.;c_total")).toBe(1n);
    expect(counterValue(h, "grpc_type=.=bidi_stream;.;grpc_service=.=other;.;grpc_method=.=other;.;c_total")).toBe(1n);
    expect(h.exports.overflowed!(f)).toBe(2n);
    expect(h.exports.size!(f)).toBe(5);
  });

  it("keeps the number of series bounded under 100,000 random values", async () => {
    const h = await loadMetricsHarness(wasm);
    const f = h.family(COUNTER, "c_total", ["grpc_type", "grpc_method"], 100, 0b01);
    const types = ["unary", "client_stream", "server_stream", "bidi_stream"];
    fc.assert(
      fc.property(fc.nat(3), fc.string({ maxLength: 40 }), (t, m) => {
        h.set(f, [types[t]!, m]);
        h.exports.add!(f, 1n);
      }),
      { numRuns: 100_000 },
    );
    expect(h.exports.size!(f)).toBeLessThanOrEqual(100 + types.length);
    expect(h.defined.length).toBe(h.exports.size!(f));
    const total = h.stats.counters().reduce((n, c) => n + c.value(), 0n);
    expect(total).toBe(100_000n);
  });
});

describe("how the names appear in the sidecar's /stats and /stats/prometheus", () => {
  const statsConfig = (regex: (label: string) => string) => ({
    useAllDefaultTags: true,
    statsTags: [...LABELS, "grpc_code"].map((tagName) => ({ tagName, regex: regex(tagName) })),
  });
  const params = { usedOnly: false, filter: null };

  it("Istio's extraStatTags regexes turn the segments into labels of one clean family", async () => {
    const h = await loadMetricsHarness(wasm);
    const started = h.family(COUNTER, "grpc_server_started_total", LABELS);
    const handled = h.family(COUNTER, "grpc_server_handled_total", [...LABELS, "grpc_code"]);
    h.set(started, ["unary", "meshwasm.demo.v1.Echo", "Unary"]);
    h.exports.add!(started, 2n);
    h.set(started, ["server_stream", "meshwasm.demo.v1.Echo", "Stream"]);
    h.exports.add!(started, 1n);
    h.set(handled, ["unary", "meshwasm.demo.v1.Echo", "Unary", "PermissionDenied"]);
    h.exports.add!(handled, 2n);
    const extractors = buildTagExtractors(statsConfig((l) => `(${l}=\\.=(.*?);\\.;)`));
    const prom = renderPrometheus(h.stats, extractors, params);
    expect(prom).toContain("# TYPE grpc_server_started_total counter\n");
    expect(prom).toContain('grpc_server_started_total{grpc_type="unary",grpc_service="meshwasm.demo.v1.Echo",grpc_method="Unary"} 2\n');
    expect(prom).toContain('grpc_server_started_total{grpc_type="server_stream",grpc_service="meshwasm.demo.v1.Echo",grpc_method="Stream"} 1\n');
    expect(prom).toContain(
      'grpc_server_handled_total{grpc_type="unary",grpc_service="meshwasm.demo.v1.Echo",grpc_method="Unary",grpc_code="PermissionDenied"} 2\n',
    );
    // /stats shows the full names without the wasmcustom namespace.
    const text = renderStatsText(h.stats, params);
    expect(text).toContain("grpc_type=.=unary;.;grpc_service=.=meshwasm.demo.v1.Echo;.;grpc_method=.=Unary;.;grpc_server_started_total: 2\n");
  });

  it("histograms get the labels on every bucket line", async () => {
    const h = await loadMetricsHarness(wasm);
    const f = h.family(HISTOGRAM, "grpc_server_handling_milliseconds", LABELS);
    h.set(f, ["unary", "pkg.Svc", "Get"]);
    h.exports.record!(f, 3n);
    const prom = renderPrometheus(h.stats, buildTagExtractors(statsConfig((l) => `(${l}=\\.=(.*?);\\.;)`)), params);
    expect(prom).toContain('grpc_server_handling_milliseconds_bucket{grpc_type="unary",grpc_service="pkg.Svc",grpc_method="Get",le="5"} 1\n');
    expect(prom).toContain('grpc_server_handling_milliseconds_count{grpc_type="unary",grpc_service="pkg.Svc",grpc_method="Get"} 1\n');
  });

  it("without stats_tags every series is a family of its own (why the tags must be configured)", async () => {
    const h = await loadMetricsHarness(wasm);
    const f = h.family(COUNTER, "grpc_server_started_total", LABELS);
    h.set(f, ["unary", "pkg.Svc", "Get"]);
    h.exports.add!(f, 1n);
    const prom = renderPrometheus(h.stats, buildTagExtractors({ useAllDefaultTags: true, statsTags: [] }), params);
    expect(prom).toContain("grpc_type___unary___grpc_service___pkg_Svc___grpc_method___Get___grpc_server_started_total{} 1\n");
  });

  it("the both-sides form ((?:;\\.;)?label=\\.=(.*?);\\.;) also cleans names whose segments follow the base", () => {
    // Names written by other tools with the base first: `base;.;label=.=value;.;...`.
    const extractors = buildTagExtractors(statsConfig((l) => `((?:;\\.;)?${l}=\\.=(.*?);\\.;)`));
    for (const name of [
      "wasmcustom.grpc_type=.=unary;.;grpc_service=.=a.B;.;grpc_method=.=M;.;grpc_server_started_total",
      "wasmcustom.grpc_server_started_total;.;grpc_type=.=unary;.;grpc_service=.=a.B;.;grpc_method=.=M;.;",
    ]) {
      const { tagExtractedName, tags } = extractors.extract(name);
      expect(tagExtractedName).toBe("wasmcustom.grpc_server_started_total");
      expect(Object.fromEntries(tags.map((t) => [t.name, t.value]))).toEqual({ grpc_type: "unary", grpc_service: "a.B", grpc_method: "M" });
    }
  });
});
