/**
 * grpc-balancer's estimator: pure functions of numbers and an explicit clock (nanoseconds), so
 * they run the same in the filter, in the fold across worker VMs and in the unit tests.
 *
 *  - Peak-EWMA (tower-rs/tower `load/peak_ewma.rs`, after Finagle's PeakEwma): a stored estimate
 *    `est` taken at `at`. Its value at `now` decays toward 0 with time constant τ
 *    (`est·e^(−(now−at)/τ)`), so an endpoint nobody sends to becomes attractive again and is
 *    probed. A sample above the stored estimate replaces it (the "peak"); a lower one is blended
 *    in as `est·w + sample·(1−w)`, w = e^(−Δt/τ). Unlike tower, reading never writes back, so the
 *    blend weight does not depend on how often the balancer looked at the endpoint.
 *  - A plain EWMA with the same irregular-interval weight, for the per-(method class, endpoint)
 *    latency whose median across endpoints is the class baseline.
 *  - The failure penalty of Linkerd's load biaser (linkerd2-proxy `linkerd/load-biaser`): a failed
 *    RPC records a penalised latency as a peak: the server's pushback (`grpc-retry-pushback-ms`,
 *    `retry-after`) capped at `maxPenalty`, else the base penalty.
 *  - Slow start as Envoy's (`slow_start_config`): a new endpoint's weight is
 *    max(minWeight, (age/window)^(1/aggression)) until the window has passed; P2C compares
 *    cost / weight (endpoints.ts).
 *  - Backend-reported load as gRFC A58 (client-side weighted round robin): weight =
 *    qps / (utilization + eps/qps · error_utilization_penalty); utilization alone when no qps.
 *  - The cost P2C compares: baseline × ratio × (in-flight + 1) × orcaFactor.
 *
 * Every function returns a finite value for any input (NaN and infinities are clamped or
 * ignored), and every cost is positive, so a hostile sequence of responses cannot poison the
 * table.
 */

/** Smallest latency ratio kept: costs stay positive after any decay. */
// @ts-ignore: decorator
@inline export const MIN_RATIO: f64 = 1e-6;
/** Largest latency ratio kept (a 300 s penalty over a 0.3 µs baseline still fits). */
// @ts-ignore: decorator
@inline export const MAX_RATIO: f64 = 1e12;
/** Largest latency in ns taken from a sample (about 11.6 days). */
// @ts-ignore: decorator
@inline export const MAX_SAMPLE_NS: f64 = 1e15;

/** x clamped into [lo, hi]; NaN becomes lo. */
// @ts-ignore: decorator
@inline export function clampFinite(x: f64, lo: f64, hi: f64): f64 {
  return x >= lo ? (x <= hi ? x : hi) : lo; // NaN fails both comparisons: lo
}

/** Nanoseconds from `at` to `now` (0 when the clock went backwards). */
// @ts-ignore: decorator
@inline export function elapsedNs(at: u64, now: u64): f64 {
  return now > at ? <f64>(now - at) : 0;
}

/** e^(−elapsed/τ): the weight an estimate keeps after `elapsed` (1 when τ or elapsed is 0). */
export function decayWeight(elapsed: f64, tauNs: f64): f64 {
  if (!(elapsed > 0) || !(tauNs > 0)) return 1.0;
  const x = elapsed / tauNs;
  return x > 745 ? 0.0 : Math.exp(-x); // e^-745 underflows to 0 anyway; skip the call
}

/** The value of a peak-EWMA estimate at `now`: decayed toward 0 since `at`, at least MIN_RATIO. */
export function peakEwmaValue(est: f64, at: u64, now: u64, tauNs: f64): f64 {
  const v = clampFinite(est, MIN_RATIO, MAX_RATIO) * decayWeight(elapsedNs(at, now), tauNs);
  return v > MIN_RATIO ? v : MIN_RATIO;
}

/**
 * The stored estimate after a sample at `now` (the caller stores `now` as the new `at`): a sample
 * above the stored estimate is taken as it is, a lower one blended in. A NaN sample is ignored.
 */
export function peakEwmaUpdate(est: f64, at: u64, sample: f64, now: u64, tauNs: f64): f64 {
  const e = clampFinite(est, MIN_RATIO, MAX_RATIO);
  if (isNaN(sample)) return e;
  const s = clampFinite(sample, MIN_RATIO, MAX_RATIO);
  if (s > e) return s;
  const w = decayWeight(elapsedNs(at, now), tauNs);
  return clampFinite(e * w + s * (1.0 - w), MIN_RATIO, MAX_RATIO);
}

/**
 * A plain EWMA with irregular intervals: the first sample (`hasValue` false) is taken as it is,
 * later ones blended with weight 1 − e^(−Δt/τ). Result in [0, MAX_SAMPLE_NS]; NaN ignored.
 */
export function ewmaUpdate(est: f64, at: u64, hasValue: bool, sample: f64, now: u64, tauNs: f64): f64 {
  const e = hasValue ? clampFinite(est, 0, MAX_SAMPLE_NS) : 0;
  if (isNaN(sample)) return e;
  const s = clampFinite(sample, 0, MAX_SAMPLE_NS);
  if (!hasValue) return s;
  const w = decayWeight(elapsedNs(at, now), tauNs);
  return clampFinite(e * w + s * (1.0 - w), 0, MAX_SAMPLE_NS);
}

/**
 * The penalised latency of a failed RPC in ns: the pushback when the server sent one
 * (`pushbackNs` >= 0; a negative gRPC pushback, "do not retry", is passed as `maxPenaltyNs`),
 * capped at `maxPenaltyNs`; otherwise the base penalty.
 */
export function penaltyNs(hasPushback: bool, pushbackNs: f64, basePenaltyNs: f64, maxPenaltyNs: f64): f64 {
  const cap = clampFinite(maxPenaltyNs, 0, MAX_SAMPLE_NS);
  if (hasPushback) return clampFinite(pushbackNs, 0, cap);
  return clampFinite(basePenaltyNs, 0, cap);
}

/**
 * Slow-start weight of an endpoint first seen `ageNs` ago: Envoy's
 * max(minWeight, (age/window)^(1/aggression)), 1 once the window has passed (or with no window).
 */
export function slowStartFactor(ageNs: f64, windowNs: f64, aggression: f64, minWeight: f64): f64 {
  if (!(windowNs > 0) || !(ageNs < windowNs)) return 1.0;
  const floor = clampFinite(minWeight, 1e-3, 1.0);
  const t = clampFinite(ageNs / windowNs, 0, 1.0);
  const a = clampFinite(aggression, 1e-3, 1e3);
  const f = a == 1.0 ? t : Math.pow(t, 1.0 / a);
  return f > floor ? f : floor;
}

/**
 * gRFC A58 weight from one load report; 0 when the report carries nothing usable. With qps:
 * qps / (utilization + eps/qps · penalty); without: 1 / utilization (a relative capacity).
 */
export function orcaWeight(qps: f64, utilization: f64, eps: f64, errorUtilizationPenalty: f64): f64 {
  const u = clampFinite(utilization, 0, 1e6);
  if (qps > 0 && qps < 1e12) {
    const e = clampFinite(eps, 0, 1e12);
    const denom = u + (e / qps) * clampFinite(errorUtilizationPenalty, 0, 1e6);
    if (!(denom > 0)) return 0;
    return clampFinite(qps / denom, 0, 1e12);
  }
  if (!(u > 0)) return 0;
  return clampFinite(1.0 / u, 0, 1e12);
}

/**
 * The cost multiplier of an endpoint whose A58 weight is `weight` when the endpoints of its
 * cluster average `meanWeight`: (1 − blend) + blend · mean/weight, in [1/64, 64]. An endpoint
 * without a weight (0) takes the mean, as A58 does, and so the factor 1.
 */
export function orcaCostFactor(weight: f64, meanWeight: f64, blend: f64): f64 {
  const b = clampFinite(blend, 0, 1.0);
  if (b == 0 || !(weight > 0) || !(meanWeight > 0)) return 1.0;
  const relative = clampFinite(meanWeight / weight, 1.0 / 64, 64);
  return (1.0 - b) + b * relative;
}

/**
 * Cost of sending one more RPC of a class with baseline `baselineNs` to an endpoint: the class
 * baseline × the endpoint's latency ratio × (in-flight + 1), multiplied by its load-report
 * factor. Always finite and > 0. (The chooser divides it by the slow-start weight, as Envoy's
 * EDF multiplies a ramping host's weight by it; the published gauge is this cost.)
 */
export function endpointCost(baselineNs: f64, ratio: f64, inflight: i32, orcaFactor: f64): f64 {
  const b = clampFinite(baselineNs, 1.0, MAX_SAMPLE_NS);
  const r = clampFinite(ratio, MIN_RATIO, MAX_RATIO);
  const n = <f64>(inflight > 0 ? inflight : 0) + 1.0;
  const o = clampFinite(orcaFactor, 1.0 / 64, 64);
  return b * r * n * o;
}

/**
 * The median of `values[0..n)` (the mean of the two middle values for even n), sorting that
 * prefix in place; `fallback` when n is 0. Insertion sort: n is at most a few hundred.
 */
export function medianInPlace(values: StaticArray<f64>, n: i32, fallback: f64): f64 {
  if (n <= 0) return fallback;
  for (let i = 1; i < n; i++) {
    const v = unchecked(values[i]);
    let j = i - 1;
    while (j >= 0 && unchecked(values[j]) > v) {
      unchecked(values[j + 1] = unchecked(values[j]));
      j--;
    }
    unchecked(values[j + 1] = v);
  }
  const mid = n >> 1;
  return (n & 1) == 1 ? unchecked(values[mid]) : (unchecked(values[mid - 1]) + unchecked(values[mid])) * 0.5;
}
