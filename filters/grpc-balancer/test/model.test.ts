/**
 * The table model (assembly/model.ts) on a fake clock: per-method normalisation (a healthy pod
 * serving a 20x slower method stays at ratio ~1, a pod slow for every method stands out from all
 * methods' samples, and without normalisation the method skew is mistaken for a slow pod), the
 * penalty's effect on cost, slow start on a newly seen endpoint, ORCA blackout and expiration,
 * and ageing (static and busy endpoints kept, a new generation for a freed slot).
 */
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadPureHarness, ms, type PureHarness } from "./pure-harness.ts";

let h: PureHarness;
beforeAll(async () => {
  h = await loadPureHarness();
});

const s = (sec: number): bigint => BigInt(Math.round(sec * 1e9));

/** tau 10 s, default RTT 30 ms, slow start 3 s (aggression 1, min 0.1), TTL 60 s. */
function init(normalize: boolean, opts: { windowMs?: number; endpoints?: number } = {}): void {
  h.x.modelInit!(opts.endpoints ?? 8, 4, normalize ? 1 : 0, 10_000, 30, opts.windowMs ?? 0, 1, 0.1, 60_000);
}

/**
 * Five endpoints, two methods (fast 1 ms, slow 20 ms); endpoint 0 serves only the slow method,
 * endpoint 4 is 3x slower for both; the rest serve both. Samples every 10 ms for 20 s of fake
 * time, baselines recomputed every 100 ms as the fold does.
 */
function skewedTraffic(): { fast: number; slow: number; e: number[] } {
  const e = [0, 1, 2, 3, 4].map((i) => h.x.modelEndpoint!(i, 0n, 0));
  const fast = h.x.modelClass!(1);
  const slow = h.x.modelClass!(2);
  let step = 0;
  for (let t = 0; t < 20; t += 0.01, step++) {
    const now = s(t);
    for (let i = 0; i < 5; i++) {
      const factor = i === 4 ? 3 : 1;
      const jitter = 1 + 0.1 * Math.sin(step * 7 + i);
      if (i !== 0) h.x.modelSample!(e[i]!, fast, 1e6 * factor * jitter, now);
      h.x.modelSample!(e[i]!, slow, 20e6 * factor * jitter, now);
    }
    if (step % 10 === 0) h.x.modelRecompute!(now);
  }
  return { fast, slow, e };
}

describe("per-method normalisation", () => {
  beforeEach(() => init(true));

  it("the class baselines are the medians of the per-endpoint EWMAs", () => {
    const { fast, slow } = skewedTraffic();
    h.x.modelRecompute!(s(20));
    expect(h.x.modelBaseline!(fast) / 1e6).toBeCloseTo(1, 0);
    expect(h.x.modelBaseline!(slow) / 1e6).toBeGreaterThan(18);
    expect(h.x.modelBaseline!(slow) / 1e6).toBeLessThan(22);
  });

  it("a pod serving only the slow method looks like its peers; a pod slow for every method costs about 3x", () => {
    const { fast, e } = skewedTraffic();
    const now = s(20);
    const cost = (i: number) => h.x.modelCost!(e[i]!, fast, 0, 0, now);
    const healthy = [cost(1), cost(2), cost(3)];
    const mean = healthy.reduce((a, b) => a + b) / 3;
    expect(cost(0) / mean).toBeGreaterThan(0.8);
    expect(cost(0) / mean).toBeLessThan(1.25);
    expect(cost(4) / mean).toBeGreaterThan(2.5);
    expect(cost(4) / mean).toBeLessThan(3.6);
  });

  it("the slow pod is found from its first samples of any method", () => {
    const e = [0, 1, 2].map((i) => h.x.modelEndpoint!(i, 0n, 0));
    const a = h.x.modelClass!(1);
    const b = h.x.modelClass!(2);
    // History on method a only, then one sample of method b makes pod 2 look slow for a too.
    for (let t = 0; t < 2; t += 0.01) for (const i of [0, 1, 2]) h.x.modelSample!(e[i]!, a, 2e6, s(t));
    for (const i of [0, 1]) h.x.modelSample!(e[i]!, b, 40e6, s(2));
    h.x.modelRecompute!(s(2));
    h.x.modelSample!(e[2]!, b, 400e6, s(2.01)); // 10x the class baseline
    expect(h.x.modelCost!(e[2]!, a, 0, 0, s(2.02)) / h.x.modelCost!(e[0]!, a, 0, 0, s(2.02))).toBeGreaterThan(8);
  });

  it("a pod that happened to get only the slow method: normalised it looks healthy, plain it looks 20x slow", () => {
    const run = (normalize: boolean): number => {
      init(normalize);
      const e = [0, 1, 2].map((i) => h.x.modelEndpoint!(i, 0n, 0));
      const fast = h.x.modelClass!(1);
      const slow = h.x.modelClass!(2);
      for (let t = 0, step = 0; t < 60; t += 0.01, step++) {
        h.x.modelSample!(e[0]!, slow, 20e6, s(t));
        h.x.modelSample!(e[1]!, fast, 1e6, s(t));
        h.x.modelSample!(e[2]!, fast, 1e6, s(t));
        if (step % 10 === 0) h.x.modelRecompute!(s(t));
      }
      return h.x.modelCost!(e[0]!, fast, 0, 0, s(60)) / h.x.modelCost!(e[1]!, fast, 0, 0, s(60));
    };
    expect(run(true)).toBeCloseTo(1, 1);
    // Linkerd's plain estimator (linkerd/linkerd2#11043): the pod is avoided for serving a slow
    // method (the initial estimate, the default RTT, has decayed away after 6 tau).
    expect(run(false)).toBeGreaterThan(18);
  });
});

describe("penalty", () => {
  beforeEach(() => init(true));

  it("a failure makes the endpoint cost the penalty, which decays with tau", () => {
    const e0 = h.x.modelEndpoint!(0, 0n, 0);
    const e1 = h.x.modelEndpoint!(1, 0n, 0);
    const c = h.x.modelClass!(1);
    for (let t = 0; t < 1; t += 0.01) for (const e of [e0, e1]) h.x.modelSample!(e, c, 5e6, s(t));
    h.x.modelRecompute!(s(1));
    h.x.modelPenalty!(e0, c, 5e9, s(1));
    const ratio = h.x.modelCost!(e0, c, 0, 0, s(1)) / h.x.modelCost!(e1, c, 0, 0, s(1));
    expect(ratio).toBeGreaterThan(900); // 5 s over a ~5 ms baseline
    // Ten seconds later, idle: e^-1 of it.
    const later = h.x.modelCost!(e0, c, 0, 0, s(11)) / h.x.modelCost!(e0, c, 0, 0, s(1));
    expect(later).toBeCloseTo(Math.exp(-1), 3);
  });
});

describe("slow start", () => {
  it("a newly seen endpoint's weight ramps over the window from its first sighting; its cost is unaffected", () => {
    init(true, { windowMs: 4000 });
    const e = h.x.modelEndpoint!(0, s(10), 0);
    expect(h.x.modelSlowStart!(e, s(10))).toBe(0.1);
    expect(h.x.modelSlowStart!(e, s(11))).toBeCloseTo(0.25, 12);
    expect(h.x.modelSlowStart!(e, s(12))).toBeCloseTo(0.5, 12);
    expect(h.x.modelSlowStart!(e, s(14))).toBe(1);
    // Seeing it again does not restart the ramp.
    expect(h.x.modelEndpoint!(0, s(13), 0)).toBe(e);
    expect(h.x.modelSlowStart!(e, s(13))).toBeCloseTo(0.75, 12);
    // Cost: ratio 1 (decayed with tau since first seen) x the 30 ms default baseline.
    expect(h.x.modelCost!(e, 0, 0, 0, s(12))).toBeCloseTo(30e6 * Math.exp(-0.2), -1);
  });
});

describe("ORCA", () => {
  beforeEach(() => init(true));

  it("a weight is used after the blackout and dropped after the expiration", () => {
    h.x.modelOrcaSettings!(0.5, 10_000, 180_000);
    const e = h.x.modelEndpoint!(0, 0n, 0);
    h.x.modelOrca!(e, 50, s(1));
    expect(h.x.modelOrcaWeight!(e, s(5))).toBe(0); // blackout
    h.x.modelOrca!(e, 60, s(11.5));
    expect(h.x.modelOrcaWeight!(e, s(11.5))).toBe(60);
    expect(h.x.modelOrcaWeight!(e, s(11.5 + 181))).toBe(0); // expired
    h.x.modelOrca!(e, 70, s(400)); // a new report after a gap starts a new blackout
    expect(h.x.modelOrcaWeight!(e, s(405))).toBe(0);
  });

  it("an endpoint reporting half the mean weight costs (1 - blend) + blend * 2", () => {
    h.x.modelOrcaSettings!(0.5, 0, 180_000);
    const e = h.x.modelEndpoint!(0, 0n, 0);
    h.x.modelOrca!(e, 50, s(1));
    const withOrca = h.x.modelCost!(e, 0, 0, 100, s(1));
    const without = h.x.modelCost!(e, 0, 0, 0, s(1));
    expect(withOrca / without).toBeCloseTo(1.5, 9);
  });
});

describe("ageing", () => {
  beforeEach(() => init(true));

  it("frees endpoints not seen for the TTL, keeps static and busy ones, and bumps the generation", () => {
    const passive = h.x.modelEndpoint!(0, 0n, 0);
    const fixed = h.x.modelEndpoint!(1, 0n, 1);
    const busy = h.x.modelEndpoint!(2, 0n, 0);
    const seen = h.x.modelEndpoint!(3, 0n, 0);
    h.x.modelSetInflight!(1, busy, 2);
    h.x.modelSample!(seen, 0, 1e6, s(50));
    const gen = h.x.modelGen!(passive);
    expect(h.x.modelAge!(ms(59_000))).toBe(0);
    expect(h.x.modelAge!(ms(61_000))).toBe(1);
    expect(h.x.modelUsed!(passive)).toBe(0);
    expect(h.x.modelGen!(passive)).toBe(gen + 1);
    expect(h.x.modelUsed!(fixed)).toBe(1);
    expect(h.x.modelUsed!(busy)).toBe(1);
    expect(h.x.modelUsed!(seen)).toBe(1);
    // The freed slot goes to the next new endpoint, with the new generation.
    expect(h.x.modelEndpoint!(9, ms(61_000), 0)).toBe(passive);
    expect(h.x.modelGen!(passive)).toBe(gen + 1);
  });
});
