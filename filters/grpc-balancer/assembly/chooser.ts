/**
 * grpc-balancer's chooser: power of two choices (Mitzenmacher, "The Power of Two Choices in
 * Randomized Load Balancing", 2001) as tower's `balance::p2c` does it: sample two *distinct*
 * candidates uniformly (tower's `sample_floyd2`, Floyd's algorithm for k = 2) and keep the one
 * with the lower cost; on a tie the first sampled wins, so ties are broken at random.
 *
 * Randomness comes from a seeded SplitMix64 generator (Steele, Lea, Flood, "Fast splittable
 * pseudorandom number generators", OOPSLA 2014), so tests and the benchmark are reproducible;
 * bounded integers use Lemire's multiply-shift with rejection ("Fast Random Integer Generation
 * in an Interval", 2019), which has no modulo bias. Pure: no host calls, no allocation per pick.
 */

/** SplitMix64: 64 bits of state, one add and a mix per output. */
export class Prng {
  private state: u64;

  constructor(seed: u64) { this.state = seed; }

  /** Mixes `v` into the state (distinct streams from one seed). */
  mix(v: u64): void { this.state ^= v * 0xd1b54a32d192ed03; }

  /** The next 64 random bits. */
  nextU64(): u64 {
    this.state += 0x9e3779b97f4a7c15;
    let z = this.state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    return z ^ (z >> 31);
  }

  /** The next 32 random bits. */
  nextU32(): u32 { return <u32>(this.nextU64() >> 32); }

  /** A float uniform in [0, 1) with 53 random bits. */
  nextUnit(): f64 { return <f64>(this.nextU64() >> 11) * (1.0 / 9007199254740992.0); }

  /** An integer uniform in [0, n) (0 when n is 0). */
  below(n: u32): u32 {
    if (n <= 1) return 0;
    let m = <u64>this.nextU32() * <u64>n;
    let low = <u32>m;
    if (low < n) {
      const threshold: u32 = (<u32>0 - n) % n; // 2^32 mod n
      while (low < threshold) {
        m = <u64>this.nextU32() * <u64>n;
        low = <u32>m;
      }
    }
    return <u32>(m >> 32);
  }

  /** True with probability `p` (p <= 0 never, p >= 1 always). */
  chance(p: f64): bool {
    if (!(p > 0)) return false;
    if (p >= 1.0) return true;
    return this.nextUnit() < p;
  }
}

/** Two distinct positions in [0, n) drawn by `sampleTwo`; `first` was drawn first. */
export class Pair {
  first: i32 = -1;
  second: i32 = -1;
}

/**
 * Floyd's sampling of two distinct positions in [0, n), uniformly over the n(n−1) ordered
 * pairs. With n = 1 both are 0; with n <= 0 both are -1.
 */
export function sampleTwo(rng: Prng, n: i32, out: Pair): void {
  if (n <= 0) { out.first = -1; out.second = -1; return; }
  if (n == 1) { out.first = 0; out.second = 0; return; }
  // Floyd for k = 2: a in [0, n-1); b in [0, n); if b == a take n-1. The unordered pair is
  // uniform; a coin then orders it so that either member is drawn first with probability 1/2.
  const a = <i32>rng.below(<u32>(n - 1));
  let b = <i32>rng.below(<u32>n);
  if (b == a) b = n - 1;
  if ((rng.nextU32() & 1) == 0) { out.first = a; out.second = b; }
  else { out.first = b; out.second = a; }
}

/**
 * The P2C decision between the two sampled candidates: true when the first is kept (its cost is
 * lower or equal), false when the second is better. NaN costs lose to any number.
 */
export function firstWins(firstCost: f64, secondCost: f64): bool {
  if (isNaN(secondCost)) return true;
  if (isNaN(firstCost)) return false;
  return firstCost <= secondCost;
}
