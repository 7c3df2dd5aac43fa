import { describe, expect, it } from "vitest";
import { MemoryStatsStore } from "./store.ts";

describe("MemoryStatsStore", () => {
  it("returns the same counter for the same name and adds bigint/number deltas", () => {
    const s = new MemoryStatsStore();
    const c = s.counter("cluster.a.upstream_rq_total");
    c.inc();
    s.counter("cluster.a.upstream_rq_total").add(2);
    c.add(10n);
    expect(c.value()).toBe(13n);
    expect(s.counters()).toHaveLength(1);
    expect(s.find("cluster.a.upstream_rq_total")).toBe(c);
    expect(s.find("nope")).toBeUndefined();
  });

  it("gauges set, add and sub; used flag set by the first write, even of zero", () => {
    const s = new MemoryStatsStore();
    const g = s.gauge("cluster.a.upstream_cx_active");
    expect(g.used()).toBe(false);
    g.set(0);
    expect(g.used()).toBe(true);
    g.add(5);
    g.sub(2n);
    expect(g.value()).toBe(3n);
    expect(s.counter("x").used()).toBe(false);
  });

  it("keeps counters, gauges and histograms in separate namespaces", () => {
    const s = new MemoryStatsStore();
    s.counter("x").inc();
    s.gauge("x").set(7);
    expect(s.counter("x").value()).toBe(1n);
    expect(s.gauge("x").value()).toBe(7n);
  });

  it("histogram snapshot uses Envoy's default buckets and log-linear approximations", () => {
    const s = new MemoryStatsStore();
    const h = s.histogram("cluster.a.upstream_rq_time");
    for (const v of [0, 1, 5, 7, 120, 4000]) h.record(v);
    const snap = h.snapshot();
    expect(snap.bounds).toEqual([
      0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000,
      1800000, 3600000,
    ]);
    expect(snap.count).toBe(6);
    // bins: 0 | [1,1.1) | [5,5.1) | [7,7.1) | [120,130) | [4000,4100)
    expect(snap.cumulative).toEqual([1, 1, 2, 4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6]);
    expect(snap.sum).toBeCloseTo(0 + 1.05 + 5.05 + 7.05 + 125 + 4050, 9);
  });

  it("truncates recorded values to non-negative integers like Envoy's uint64 samples", () => {
    const h = new MemoryStatsStore().histogram("h");
    h.record(2.9);
    h.record(-4);
    h.record(10n);
    const snap = h.snapshot();
    expect(snap.count).toBe(3);
    expect(snap.sum).toBeCloseTo(0 + 2.05 + 10.5, 9);
  });

  it("interval bins are those of the last merge", () => {
    const s = new MemoryStatsStore();
    const h = s.histogram("h");
    h.record(3);
    expect(h.intervalBins().size).toBe(0);
    s.mergeHistograms();
    h.record(40);
    expect([...h.intervalBins()]).toEqual([[3, 1]]);
    expect([...h.cumulativeBins()].sort()).toEqual([[3, 1], [40, 1]]);
  });
});
