/**
 * grpc-balancer's chooser (assembly/chooser.ts): the seeded SplitMix64 generator (reproducible,
 * uniform bounded integers without modulo bias), Floyd's two-distinct sampling, and the P2C
 * properties: the worst candidate is never kept, and with distinct costs the k-th cheapest of n
 * is kept with probability 2(n-k)/(n(n-1)).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { loadPureHarness, type PureHarness } from "./pure-harness.ts";

let h: PureHarness;
beforeAll(async () => {
  h = await loadPureHarness();
});

/** Pearson's chi-square statistic of observed counts against equal expectations. */
function chiSquare(counts: number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const expected = total / counts.length;
  return counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
}

describe("SplitMix64", () => {
  it("is reproducible from its seed and differs across seeds", () => {
    h.x.seed!(42n);
    const a = Array.from({ length: 8 }, () => h.x.nextU32!() >>> 0);
    h.x.seed!(42n);
    const b = Array.from({ length: 8 }, () => h.x.nextU32!() >>> 0);
    h.x.seed!(43n);
    const c = Array.from({ length: 8 }, () => h.x.nextU32!() >>> 0);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it("matches the reference SplitMix64 sequence", () => {
    // Reference: state += golden; z = mix(state) (Steele et al.), seed 0.
    const M = (1n << 64n) - 1n;
    let state = 0n;
    const next = () => {
      state = (state + 0x9e3779b97f4a7c15n) & M;
      let z = state;
      z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M;
      z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M;
      return z ^ (z >> 31n);
    };
    h.x.seed!(0n);
    for (let i = 0; i < 16; i++) expect(BigInt(h.x.nextU32!() >>> 0)).toBe(next() >> 32n);
  });

  it("below(n) is uniform (chi-square over 7 buckets, 70,000 draws) and in range", () => {
    h.x.seed!(7n);
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 70000; i++) {
      const v = h.x.below!(7) >>> 0;
      expect(v).toBeLessThan(7);
      counts[v]++;
    }
    // 6 degrees of freedom: P(chi2 > 22.46) = 0.001.
    expect(chiSquare(counts)).toBeLessThan(22.46);
    expect(h.x.below!(1)).toBe(0);
    expect(h.x.below!(0)).toBe(0);
  });

  it("chance(p) holds with frequency p", () => {
    h.x.seed!(9n);
    let hits = 0;
    for (let i = 0; i < 100000; i++) hits += h.x.chance!(0.05);
    expect(hits / 100000).toBeGreaterThan(0.047);
    expect(hits / 100000).toBeLessThan(0.053);
    expect(h.x.chance!(0)).toBe(0);
    expect(h.x.chance!(1)).toBe(1);
  });
});

describe("two distinct candidates (Floyd)", () => {
  it("are distinct, in range, and uniform over the n(n-1) ordered pairs", () => {
    h.x.seed!(3n);
    const n = 5;
    const counts = new Array(n * n).fill(0);
    for (let i = 0; i < 100000; i++) {
      const v = h.x.sample2!(n);
      const a = Math.floor(v / 65536);
      const b = v % 65536;
      expect(a).not.toBe(b);
      expect(a).toBeLessThan(n);
      expect(b).toBeLessThan(n);
      counts[a * n + b]++;
    }
    const pairs = counts.filter((_, i) => Math.floor(i / n) !== i % n);
    // 19 degrees of freedom: P(chi2 > 43.82) = 0.001.
    expect(chiSquare(pairs)).toBeLessThan(43.82);
  });

  it("with one candidate both are it", () => {
    expect(h.x.sample2!(1)).toBe(0);
  });
});

describe("P2C", () => {
  it("never keeps the most expensive candidate and keeps the k-th cheapest with probability 2(n-k)/(n(n-1))", () => {
    h.x.seed!(5n);
    const costs = [40, 10, 30, 20, 50, 60]; // ranks: 10 (1st) .. 60 (6th)
    costs.forEach((c, i) => h.x.medianSet!(i, c));
    const n = costs.length;
    const counts = new Array(n).fill(0);
    const draws = 120000;
    for (let i = 0; i < draws; i++) counts[h.x.p2c!(n)]++;
    const rank = (i: number) => [...costs].sort((a, b) => a - b).indexOf(costs[i]!) + 1;
    for (let i = 0; i < n; i++) {
      const expected = (2 * (n - rank(i))) / (n * (n - 1));
      expect(counts[i] / draws).toBeCloseTo(expected, 2);
    }
    expect(counts[5]).toBe(0); // cost 60: never kept
  });

  it("breaks ties at random (equal costs share evenly)", () => {
    h.x.seed!(6n);
    for (let i = 0; i < 4; i++) h.x.medianSet!(i, 1);
    const counts = new Array(4).fill(0);
    for (let i = 0; i < 40000; i++) counts[h.x.p2c!(4)]++;
    expect(chiSquare(counts)).toBeLessThan(16.27); // 3 dof, p = 0.001
  });
});
