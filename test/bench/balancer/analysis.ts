/**
 * Pure analysis of a run: latency percentiles (nearest rank, as manager/src/demo/latency.ts),
 * success within the deadline, shares of RPCs per backend (counted where the RPCs were received,
 * so RPCs that later missed their deadline count too), p99 per time bucket, and when an added
 * backend reaches its share. Times are seconds from the start of the measured part.
 */
import { percentile } from "../../../manager/src/demo/latency.ts";

export interface Rpc {
  /** Scheduled send time, s from the measured start. */
  t: number;
  /** ms from the scheduled send time to completion; Infinity if it never completed. */
  latencyMs: number;
  /** gRPC status; -1 if it never completed. */
  code: number;
  /** 0 Light, 1 Heavy. */
  method: number;
  /** Index of the backend that received it; -1 if none did. */
  backend: number;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  /** Share of RPCs that succeeded (status OK) within the deadline. */
  success: number;
}

export function summarize(rpcs: readonly Rpc[], deadlineMs: number): LatencySummary {
  const sorted = rpcs.map((r) => r.latencyMs).sort((a, b) => a - b);
  const ok = rpcs.filter((r) => r.code === 0 && r.latencyMs <= deadlineMs).length;
  return {
    count: rpcs.length,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    p999: percentile(sorted, 0.999),
    success: rpcs.length ? ok / rpcs.length : 0,
  };
}

/** RPCs scheduled in [from, to) seconds. */
export function between(rpcs: readonly Rpc[], from: number, to: number): Rpc[] {
  return rpcs.filter((r) => r.t >= from && r.t < to);
}

/** Share of the RPCs that reached a backend which reached `backend` (0 when none reached any). */
export function shareOf(rpcs: readonly Rpc[], backend: number): number {
  let known = 0;
  let hits = 0;
  for (const r of rpcs) {
    if (r.backend < 0) continue;
    known++;
    if (r.backend === backend) hits++;
  }
  return known ? hits / known : 0;
}

/** Share of each of `backends` backends (indexes 0..backends-1). */
export function shares(rpcs: readonly Rpc[], backends: number): number[] {
  const counts = new Array<number>(backends).fill(0);
  let known = 0;
  for (const r of rpcs) {
    if (r.backend < 0 || r.backend >= backends) continue;
    counts[r.backend]!++;
    known++;
  }
  return counts.map((c) => (known ? c / known : 0));
}

/** Largest relative deviation of `values` from their mean (0 when all equal or empty). */
export function maxDeviation(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  if (mean === 0) return 0;
  return Math.max(...values.map((v) => Math.abs(v / mean - 1)));
}

export interface SeriesPoint {
  /** Bucket midpoint, s. */
  t: number;
  value: number;
}

/** p99 latency of the RPCs scheduled in each `bucketS` bucket of [0, durationS) (empty buckets skipped). */
export function p99Series(rpcs: readonly Rpc[], bucketS: number, durationS: number): SeriesPoint[] {
  const buckets = Math.ceil(durationS / bucketS - 1e-9);
  const lat: number[][] = Array.from({ length: buckets }, () => []);
  for (const r of rpcs) {
    const b = Math.floor(r.t / bucketS);
    if (b >= 0 && b < buckets) lat[b]!.push(r.latencyMs);
  }
  const out: SeriesPoint[] = [];
  for (let b = 0; b < buckets; b++) {
    if (lat[b]!.length === 0) continue;
    out.push({ t: (b + 0.5) * bucketS, value: percentile(lat[b]!.sort((x, y) => x - y), 0.99) });
  }
  return out;
}

/** Scheduled time of the first RPC at or after `fromS` that reached `backend`; null if none did. */
export function firstServed(rpcs: readonly Rpc[], backend: number, fromS: number): number | null {
  let first: number | null = null;
  for (const r of rpcs) if (r.backend === backend && r.t >= fromS && (first === null || r.t < first)) first = r.t;
  return first;
}

export interface ShareWindow {
  windowS: number;
  stepS: number;
  /** Fraction of the fair share that counts as "reached". */
  threshold: number;
}

export const SHARE_WINDOW: ShareWindow = { windowS: 2, stepS: 0.1, threshold: 0.8 };

/**
 * When `backend` reaches its share after `fromS`: the first centre c (from fromS, in steps of
 * stepS, windows ending by `untilS`) such that its share over [c − windowS/2, c + windowS/2] is
 * at least threshold × fair. For a step to the full share at fromS this is 0.6 s with the
 * defaults (the window's smoothing); for a linear ramp it is the moment the ramp crosses the
 * threshold. Seconds after `fromS`; null if never.
 */
export function timeToShare(rpcs: readonly Rpc[], backend: number, fromS: number, untilS: number, fair: number, w: ShareWindow = SHARE_WINDOW): number | null {
  const half = w.windowS / 2;
  const sorted = rpcs.filter((r) => r.t >= fromS - half && r.t < untilS && r.backend >= 0).sort((a, b) => a.t - b.t);
  for (let i = 0; fromS + i * w.stepS + half <= untilS + 1e-9; i++) {
    const c = fromS + i * w.stepS;
    const inside = between(sorted, c - half, c + half);
    if (inside.length && shareOf(inside, backend) >= w.threshold * fair) return c - fromS;
  }
  return null;
}

/** `backend`'s share as a fraction of `fair` in consecutive `bucketS` buckets from `fromS`. */
export function shareProfile(rpcs: readonly Rpc[], backend: number, fromS: number, buckets: number, bucketS: number, fair: number): number[] {
  return Array.from({ length: buckets }, (_, i) => shareOf(between(rpcs, fromS + i * bucketS, fromS + (i + 1) * bucketS), backend) / fair);
}

/**
 * Whether a warm-up round shows the system keeping up: every RPC succeeded and the p99 is at
 * most `boundMs` (on a busy machine a cold sidecar first builds a queue it then drains).
 */
export function steady(latencyMs: ArrayLike<number>, codes: ArrayLike<number>, boundMs: number): boolean {
  const sorted = Array.from(latencyMs).sort((a, b) => a - b);
  if (sorted.length === 0) return false;
  for (let i = 0; i < codes.length; i++) if (codes[i] !== 0) return false;
  return percentile(sorted, 0.99) <= boundMs;
}
