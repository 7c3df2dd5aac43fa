import { describe, expect, it } from "vitest";
import { between, firstServed, maxDeviation, p99Series, shareOf, shareProfile, shares, steady, summarize, timeToShare, type Rpc } from "./analysis.ts";
import { verdicts } from "./goals.ts";
import type { Scenario } from "./scenarios.ts";

const rpc = (t: number, latencyMs: number, backend = 0, code = 0, method = 0): Rpc => ({ t, latencyMs, code, method, backend });

describe("latency summary", () => {
  it("reads nearest-rank percentiles over 1..1000 ms", () => {
    const rpcs = Array.from({ length: 1000 }, (_, i) => rpc(i / 100, i + 1));
    const m = summarize(rpcs, 2000);
    expect(m).toEqual({ count: 1000, p50: 500, p99: 990, p999: 999, success: 1 });
  });

  it("counts success as status OK within the deadline; unfinished RPCs sort last", () => {
    const rpcs = [rpc(0, 10), rpc(0, 10, 0, 14), rpc(0, 1500), rpc(0, Infinity, -1, -1)];
    const m = summarize(rpcs, 1000);
    expect(m.success).toBe(0.25);
    expect(m.p999).toBe(Infinity);
    expect(summarize([], 1000)).toEqual({ count: 0, p50: 0, p99: 0, p999: 0, success: 0 });
  });
});

describe("warm-up steadiness", () => {
  it("needs every RPC OK and the p99 within the bound", () => {
    const lat = Float64Array.from({ length: 100 }, (_, i) => (i < 99 ? 100 : 900));
    const ok = new Int16Array(100);
    expect(steady(lat, ok, 200)).toBe(true); // p99 (nearest rank) is the 99th value: 100
    lat[98] = 250;
    expect(steady(lat, ok, 200)).toBe(false);
    lat[98] = 100;
    ok[3] = 4;
    expect(steady(lat, ok, 200)).toBe(false);
    expect(steady([], [], 200)).toBe(false);
  });
});

describe("shares", () => {
  it("counts only RPCs that reached a backend", () => {
    const rpcs = [rpc(0, 1, 0), rpc(0, 1, 1), rpc(0, 1, 1), rpc(0, 1, -1)];
    expect(shareOf(rpcs, 1)).toBeCloseTo(2 / 3);
    expect(shares(rpcs, 3)).toEqual([1 / 3, 2 / 3, 0]);
    expect(shareOf([], 0)).toBe(0);
    expect(between(rpcs.map((r, i) => ({ ...r, t: i })), 1, 3).map((r) => r.t)).toEqual([1, 2]);
  });

  it("measures the largest relative deviation from the mean", () => {
    expect(maxDeviation([0.1, 0.1, 0.1])).toBeCloseTo(0, 12);
    expect(maxDeviation([0.1, 0.2, 0.3])).toBeCloseTo(0.5);
    expect(maxDeviation([])).toBe(0);
  });
});

describe("p99 over time", () => {
  it("takes each bucket's p99 at its midpoint and skips empty buckets", () => {
    const rpcs = [
      ...Array.from({ length: 100 }, (_, i) => rpc(0.5, i < 99 ? 10 : 500)),
      ...Array.from({ length: 100 }, (_, i) => rpc(4.2, i < 98 ? 20 : 900)),
    ];
    expect(p99Series(rpcs, 2, 6)).toEqual([
      { t: 1, value: 10 },
      { t: 5, value: 900 },
    ]);
  });
});

/** 100 RPCs per second over 11 backends from 0 to 20 s; backend 10 gets `weight(t)` of its fair share from `addAt`. */
function addedRun(addAt: number, weight: (sinceAdd: number) => number): Rpc[] {
  const out: Rpc[] = [];
  let credit = 0;
  for (let i = 0; i < 2000; i++) {
    const t = i / 100;
    const w = t < addAt ? 0 : Math.min(1, weight(t - addAt));
    credit += w / 11;
    if (credit >= 1) {
      credit -= 1;
      out.push(rpc(t, 50, 10));
    } else out.push(rpc(t, 50, i % 10));
  }
  return out;
}

describe("time to share", () => {
  it("finds a step 0.6 s after it (the 2 s window's smoothing) and a linear ramp where it crosses 80%", () => {
    const step = addedRun(5, () => 1);
    const tStep = timeToShare(step, 10, 5, 20, 1 / 11)!;
    expect(tStep).toBeGreaterThan(0.5);
    expect(tStep).toBeLessThan(0.8);
    const ramp = addedRun(5, (s) => s / 3); // 3 s linear slow start: 80% at 2.4 s
    const tRamp = timeToShare(ramp, 10, 5, 20, 1 / 11)!;
    expect(tRamp).toBeGreaterThan(2.2);
    expect(tRamp).toBeLessThan(2.7);
    expect(firstServed(ramp, 10, 0)).toBeGreaterThanOrEqual(5);
    const profile = shareProfile(ramp, 10, 5, 4, 1, 1 / 11);
    expect(profile[0]).toBeLessThan(0.3);
    expect(profile[3]).toBeGreaterThan(0.9);
  });

  it("is null when the share is never reached", () => {
    expect(timeToShare(addedRun(5, () => 0.5), 10, 5, 20, 1 / 11)).toBeNull();
  });
});

describe("goal verdicts", () => {
  const base = { title: "t", warmupS: 0, ratePerSec: 100, heavyShare: 0, deadlineMs: 1000, changes: [] };
  const fleet = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `b${i}`, lightMs: 50, heavyMs: 1000, jitter: 0 }));
  const lat = (p99: number) => Array.from({ length: 1000 }, (_, i) => rpc(i / 100, i < 985 ? 50 : p99, i % 10));

  it("(a) compares p99 with LEAST_REQUEST's and ROUND_ROBIN's", () => {
    const s: Scenario = { ...base, id: "a", backends: fleet(10), seconds: 10 };
    const runs = [
      { policy: "ROUND_ROBIN" as const, rpcs: lat(500) },
      { policy: "LEAST_REQUEST" as const, rpcs: lat(300) },
      { policy: "BALANCER_SESSION" as const, rpcs: lat(90) },
    ];
    const [v] = verdicts(s, runs);
    expect(v!.verdict.met).toBe(true);
    expect(v!.verdict.text).toContain("0.30× LEAST_REQUEST's");
    runs[2] = { policy: "BALANCER_SESSION", rpcs: lat(120) };
    expect(verdicts(s, runs)[0]!.verdict.met).toBe(false);
  });

  it("(b) counts the failing backend's share inside the window only", () => {
    const s: Scenario = { ...base, id: "b", backends: fleet(10), seconds: 10, subject: "b9", window: [2, 4] };
    const rpcs = Array.from({ length: 1000 }, (_, i) => rpc(i / 100, 50, i / 100 >= 2 && i / 100 < 4 ? (i % 25 === 0 ? 9 : 0) : 9));
    const [v] = verdicts(s, [{ policy: "BALANCER_OVERRIDE", rpcs }]);
    expect(v!.verdict.text).toMatch(/^4\.00% of the window's RPCs/);
    expect(v!.verdict.met).toBe(true);
  });

  it("(e) needs the slow backend under half its share and balanced healthy backends per method", () => {
    const s: Scenario = { ...base, id: "e", backends: fleet(10), seconds: 10, subject: "b9", heavyShare: 0.5 };
    // Healthy b0..b8 equal for both methods, b9 at 2%.
    const rpcs: Rpc[] = [];
    for (let i = 0; i < 9800; i++) rpcs.push(rpc(0, 50, i % 9, 0, i % 2));
    for (let i = 0; i < 200; i++) rpcs.push(rpc(0, 50, 9, 0, i % 2));
    expect(verdicts(s, [{ policy: "BALANCER_SESSION", rpcs }])[0]!.verdict.met).toBe(true);
    // Heavy RPCs piled on b0: unbalanced.
    const skewed = rpcs.map((r, i) => (r.method === 1 && r.backend !== 9 && i % 3 === 0 ? { ...r, backend: 0 } : r));
    expect(verdicts(s, [{ policy: "BALANCER_SESSION", rpcs: skewed }])[0]!.verdict.met).toBe(false);
  });
});
