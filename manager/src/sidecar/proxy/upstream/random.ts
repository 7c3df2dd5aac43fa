/**
 * Randomness for the upstream side. Envoy draws from a 64-bit Random::RandomGenerator and
 * reduces with `%`; here a `Random` returns a float in [0, 1) (Math.random by default) and
 * `randomU32` turns it into the integer Envoy's algorithms reduce. Tests pass `seededRandom`
 * (mulberry32) so distributions are reproducible.
 */
export type Random = () => number;

/** An integer in [0, 2^32), as the `random_.random()` Envoy's balancers reduce with `%`. */
export function randomU32(random: Random): number {
  return Math.floor(random() * 0x1_0000_0000) >>> 0;
}

/** mulberry32: a small, fast, seeded generator of floats in [0, 1). */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}
