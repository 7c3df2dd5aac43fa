/**
 * grpc-balancer's estimator (assembly/estimator.ts) as pure functions on a fake clock: peak-EWMA
 * decay and peaks (tower's PeakEwma), the plain EWMA, the load-biaser penalty with pushback,
 * Envoy's slow-start curve, gRFC A58 weights and their cost factor, the cost formula, the median;
 * and that no input makes a value NaN, infinite or non-positive.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { loadPureHarness, type PureHarness } from "./pure-harness.ts";

let h: PureHarness;
beforeAll(async () => {
  h = await loadPureHarness();
});

const TAU = 10e9; // 10 s in ns
const S = (s: number): bigint => BigInt(Math.round(s * 1e9));

describe("peak-EWMA", () => {
  it("decays toward zero with time constant tau while no sample arrives", () => {
    expect(h.x.decay!(0, TAU)).toBe(1);
    expect(h.x.decay!(TAU, TAU)).toBeCloseTo(Math.exp(-1), 12);
    expect(h.x.ewmaValue!(30e6, S(5), S(5), TAU)).toBe(30e6);
    expect(h.x.ewmaValue!(30e6, S(5), S(15), TAU)).toBeCloseTo(30e6 * Math.exp(-1), 3);
    expect(h.x.ewmaValue!(30e6, S(0), S(100), TAU)).toBeCloseTo(30e6 * Math.exp(-10), 3);
    // A clock that went backwards does not grow the estimate.
    expect(h.x.ewmaValue!(30e6, S(10), S(5), TAU)).toBe(30e6);
  });

  it("takes a slower sample at once (the peak)", () => {
    expect(h.x.ewmaPeakUpdate!(10, S(0), 50, S(0.001), TAU)).toBe(50);
    expect(h.x.ewmaPeakUpdate!(10, S(0), 50, S(100), TAU)).toBe(50);
  });

  it("blends a faster sample with weight 1 - e^(-dt/tau)", () => {
    const w = Math.exp(-1 / 10);
    expect(h.x.ewmaPeakUpdate!(100, S(0), 10, S(1), TAU)).toBeCloseTo(100 * w + 10 * (1 - w), 9);
    // A burst of samples at the same instant leaves a higher estimate unchanged: the blend is by time.
    let est = 100;
    for (let i = 0; i < 1000; i++) est = h.x.ewmaPeakUpdate!(est, S(3), 1, S(3), TAU);
    expect(est).toBe(100);
    // One second later, one sample moves it by the 1 s weight whatever the count before.
    expect(h.x.ewmaPeakUpdate!(est, S(3), 1, S(4), TAU)).toBeCloseTo(100 * w + 1 * (1 - w), 9);
  });

  it("converges to the level of steady samples and recovers from a penalty in about tau * ln(ratio)", () => {
    let est = 1000; // a 5 s penalty over a 5 ms baseline
    let at = S(0);
    let t = 0;
    while (est > 2 && t < 200) {
      t += 0.05;
      const now = S(t);
      est = h.x.ewmaPeakUpdate!(est, at, 1, now, TAU);
      at = now;
    }
    // est = 1 + 999 e^(-t/10) <= 2 at t = 10 ln 999 = 69.1 s.
    expect(t).toBeGreaterThan(68.5);
    expect(t).toBeLessThan(69.6);
  });

  it("plain EWMA: the first sample is taken as it is, later ones blended by time", () => {
    expect(h.x.ewmaPlainUpdate!(0, 0n, 0, 42, S(1), TAU)).toBe(42);
    const w = Math.exp(-0.5 / 10);
    expect(h.x.ewmaPlainUpdate!(42, S(1), 1, 2, S(1.5), TAU)).toBeCloseTo(42 * w + 2 * (1 - w), 9);
    // A higher sample is blended too (no peak).
    expect(h.x.ewmaPlainUpdate!(10, S(0), 1, 1000, S(0.1), TAU)).toBeLessThan(20);
  });

  it("never yields NaN, infinity or a non-positive estimate (property, 20,000 runs)", () => {
    const num = fc.oneof(fc.double(), fc.constantFrom(NaN, Infinity, -Infinity, 0, -0, 1e308, -1e308, 5e-324));
    const time = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
    fc.assert(
      fc.property(num, time, num, time, (est, at, sample, now) => {
        const u = h.x.ewmaPeakUpdate!(est, at, sample, now, TAU);
        const v = h.x.ewmaValue!(u, at, now, TAU);
        const p = h.x.ewmaPlainUpdate!(Math.abs(est) || 0, at, 1, sample, now, TAU);
        return Number.isFinite(u) && u > 0 && Number.isFinite(v) && v > 0 && Number.isFinite(p) && p >= 0;
      }),
      { numRuns: 20000, seed: 11 },
    );
  });
});

describe("failure penalty (load biaser)", () => {
  it("uses the base penalty without pushback, the pushback capped otherwise", () => {
    expect(h.x.penalty!(0, -1, 5e9, 300e9)).toBe(5e9);
    expect(h.x.penalty!(1, 250e6, 5e9, 300e9)).toBe(250e6);
    expect(h.x.penalty!(1, 0, 5e9, 300e9)).toBe(0);
    expect(h.x.penalty!(1, 1e15, 5e9, 300e9)).toBe(300e9);
    expect(h.x.penalty!(1, NaN, 5e9, 300e9)).toBe(0);
  });
});

describe("slow start (Envoy's curve)", () => {
  it("ramps as (age/window)^(1/aggression) from min_weight to 1", () => {
    expect(h.x.slowStart!(0, 4e9, 1, 0.1)).toBe(0.1);
    expect(h.x.slowStart!(2e9, 4e9, 1, 0.1)).toBeCloseTo(0.5, 12);
    expect(h.x.slowStart!(3e9, 4e9, 1, 0.1)).toBeCloseTo(0.75, 12);
    expect(h.x.slowStart!(2e9, 4e9, 2, 0.1)).toBeCloseTo(Math.sqrt(0.5), 12);
    expect(h.x.slowStart!(0.2e9, 4e9, 1, 0.1)).toBe(0.1);
    expect(h.x.slowStart!(4e9, 4e9, 1, 0.1)).toBe(1);
    expect(h.x.slowStart!(1e12, 4e9, 1, 0.1)).toBe(1);
    expect(h.x.slowStart!(1e9, 0, 1, 0.1)).toBe(1); // no window: no ramp
  });
});

describe("backend-reported load (gRFC A58)", () => {
  it("weight = qps / (utilization + eps/qps * penalty), or 1/utilization without qps", () => {
    expect(h.x.a58Weight!(100, 0.5, 10, 1)).toBeCloseTo(100 / 0.6, 9);
    expect(h.x.a58Weight!(100, 0.5, 10, 0)).toBeCloseTo(200, 9);
    expect(h.x.a58Weight!(0, 0.25, 0, 1)).toBeCloseTo(4, 12);
    expect(h.x.a58Weight!(0, 0, 0, 1)).toBe(0);
    expect(h.x.a58Weight!(100, 0, 0, 1)).toBe(0); // nothing to divide by: no weight
    expect(h.x.a58Weight!(NaN, NaN, NaN, NaN)).toBe(0);
  });

  it("blends mean/weight into the cost; an endpoint without weight takes the mean (factor 1)", () => {
    expect(h.x.orcaFactor!(50, 100, 0.5)).toBeCloseTo(0.5 + 0.5 * 2, 12);
    expect(h.x.orcaFactor!(200, 100, 1)).toBeCloseTo(0.5, 12);
    expect(h.x.orcaFactor!(0, 100, 1)).toBe(1);
    expect(h.x.orcaFactor!(50, 100, 0)).toBe(1);
    expect(h.x.orcaFactor!(1e-9, 100, 1)).toBe(64); // bounded
  });
});

describe("cost", () => {
  it("is baseline x ratio x (in-flight + 1) x load factor", () => {
    expect(h.x.cost!(30e6, 2, 3, 1.5)).toBeCloseTo(30e6 * 2 * 4 * 1.5, 3);
    expect(h.x.cost!(30e6, 1, -5, 1)).toBe(30e6); // negative in-flight counts as 0
  });

  it("is finite and positive for any input (property, 20,000 runs)", () => {
    const num = fc.oneof(fc.double(), fc.constantFrom(NaN, Infinity, -Infinity, 0, -0));
    fc.assert(
      fc.property(num, num, fc.integer(), num, (b, r, n, o) => {
        const c = h.x.cost!(b, r, n, o);
        return Number.isFinite(c) && c > 0;
      }),
      { numRuns: 20000, seed: 12 },
    );
  });
});

describe("median", () => {
  it("of odd and even counts, and the fallback when empty", () => {
    [5, 1, 4, 2, 3].forEach((v, i) => h.x.medianSet!(i, v));
    expect(h.x.median!(5, -1)).toBe(3);
    [8, 2, 6, 4].forEach((v, i) => h.x.medianSet!(i, v));
    expect(h.x.median!(4, -1)).toBe(5);
    expect(h.x.median!(0, 7)).toBe(7);
  });
});
