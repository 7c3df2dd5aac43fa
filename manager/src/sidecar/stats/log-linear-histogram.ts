/**
 * The log-linear histogram Envoy keeps behind every Stats::Histogram (libcircllhist): each
 * sample lands in a bin of two significant decimal digits (1 -> [1,1.1), 15 -> [15,16),
 * 123 -> [120,130), 0 -> the zero bin). Envoy records uint64 samples, so values are truncated
 * to non-negative integers. Everything Envoy prints is an approximation computed from the bins
 * (source/common/stats/histogram_impl.cc, HistogramStatisticsImpl):
 * - quantiles: hist_approx_quantile (linear interpolation inside a bin),
 * - `_sum`: hist_approx_sum (bin midpoint × count), so one sample of 1 sums to 1.05,
 * - bucket counts: hist_approx_count_below (a bin counts towards bound `le` only when its upper
 *   edge is <= le, so a sample of exactly 5 is first counted in le="10").
 */

/** Envoy's default histogram bucket bounds (histogram_impl.cc, supportedBuckets). */
export const DEFAULT_BUCKETS: readonly number[] = Object.freeze([
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000,
  1800000, 3600000,
]);

/** Envoy's supported quantiles (HistogramStatisticsImpl::supportedQuantiles). */
export const SUPPORTED_QUANTILES: readonly number[] = Object.freeze([
  0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 1,
]);

const POW10: number[] = [];
for (let i = 0; i <= 40; i++) POW10.push(Number(`1e${i}`));

/** The left edge of the bin `v` falls into (v a non-negative integer). */
export function binLeft(v: number): number {
  if (v < 100) return v; // 0 (zero bin), 1..9 ([v, v+0.1)), 10..99 ([v, v+1))
  let scale = 0;
  let m = v;
  while (m >= 100) {
    m = Math.floor(m / 10);
    scale++;
  }
  return m * POW10[scale]!;
}

/** The width of the bin whose left edge is `left` (0 for the zero bin). */
export function binWidth(left: number): number {
  if (left === 0) return 0;
  if (left < 10) return 0.1;
  let scale = 0;
  let m = left;
  while (m >= 100) {
    m /= 10;
    scale++;
  }
  return POW10[scale]!;
}

/** Bins of one histogram: left edge -> sample count. */
export type Bins = Map<number, number>;

/** Converts a recorded value the way Envoy's uint64 recordValue() sees it. */
export function toSample(value: number | bigint): number {
  if (typeof value === "bigint") return value < 0n ? 0 : Number(value);
  if (!(value > 0)) return 0; // negatives and NaN
  return Math.floor(value);
}

interface SortedBin {
  left: number;
  width: number;
  count: number;
}

function sorted(bins: Bins): SortedBin[] {
  const out: SortedBin[] = [];
  for (const [left, count] of bins) if (count > 0) out.push({ left, width: binWidth(left), count });
  out.sort((a, b) => a.left - b.left);
  return out;
}

export function sampleCount(bins: Bins): number {
  let n = 0;
  for (const c of bins.values()) n += c;
  return n;
}

/** hist_approx_sum: Σ midpoint × count, in bin order. */
export function approxSum(bins: Bins): number {
  let sum = 0;
  for (const b of sorted(bins)) sum += (b.left === 0 ? 0 : b.left + b.width / 2) * b.count;
  return sum;
}

/** hist_approx_count_below for each bound: samples in bins whose upper edge is <= bound. */
export function approxCountsBelow(bins: Bins, bounds: readonly number[]): number[] {
  const list = sorted(bins);
  return bounds.map((bound) => {
    let n = 0;
    for (const b of list) {
      if (b.left + b.width <= bound) n += b.count;
      else break;
    }
    return n;
  });
}

/** hist_approx_quantile; NaN for every quantile of an empty histogram. */
export function approxQuantiles(bins: Bins, qs: readonly number[]): number[] {
  const list = sorted(bins);
  let total = 0;
  for (const b of list) total += b.count;
  if (total === 0) return qs.map(() => Number.NaN);
  let i = 0;
  let lower = 0;
  let upper = list[0]!.count;
  return qs.map((q) => {
    const target = total * q;
    while (i < list.length - 1 && upper < target) {
      i++;
      lower = upper;
      upper = lower + list[i]!.count;
    }
    const b = list[i]!;
    if (lower === target) return b.left;
    if (upper === target) return b.left + b.width;
    if (b.width === 0) return b.left;
    return b.left + ((target - lower) / (upper - lower)) * b.width;
  });
}
