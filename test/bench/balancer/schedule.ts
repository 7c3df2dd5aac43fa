/**
 * Open-loop schedule math (pure). RPC `k` of lane `lane` (one lane per balancing policy) is due
 * at a fixed time, `(k + lane / lanes) / rate` seconds after the start, whatever happened to the
 * earlier RPCs: the load does not slow down when responses do, so queueing shows in the latency
 * instead of being hidden ("coordinated omission", Gil Tene, "How NOT to Measure Latency"; the
 * constant-rate model of wrk2). Lanes are offset by a fraction of the interval so that the
 * policies' RPCs interleave instead of leaving in bursts.
 */

export interface LaneSchedule {
  /** RPCs per second in each lane. */
  ratePerSec: number;
  /** Number of lanes sharing the schedule (their offsets divide one interval). */
  lanes: number;
  /** RPCs per lane (the run lasts count / rate seconds). */
  count: number;
}

/** Interval between two RPCs of a lane, in ms. */
export function intervalMs(s: LaneSchedule): number {
  return 1000 / s.ratePerSec;
}

/** Due time (ms after the start) of RPC `k` of `lane`. */
export function dueMs(s: LaneSchedule, lane: number, k: number): number {
  return (k + lane / s.lanes) * intervalMs(s);
}

/**
 * How many RPCs of `lane` are due at `elapsedMs` (those with a due time <= elapsedMs), at most
 * `count`. RPCs [issued, dueCount) are the ones to send now.
 */
export function dueCount(s: LaneSchedule, lane: number, elapsedMs: number): number {
  if (elapsedMs < 0) return 0;
  const k = Math.floor(elapsedMs / intervalMs(s) - lane / s.lanes + 1e-9) + 1;
  return Math.max(0, Math.min(s.count, k));
}

/**
 * When the next RPC of any lane is due, given how many each lane has issued; Infinity when every
 * lane is done.
 */
export function nextDueMs(s: LaneSchedule, issued: readonly number[]): number {
  let next = Infinity;
  for (let lane = 0; lane < issued.length; lane++) {
    if (issued[lane]! < s.count) next = Math.min(next, dueMs(s, lane, issued[lane]!));
  }
  return next;
}

/** RPCs per lane for a run of `seconds` at `ratePerSec`. */
export function countFor(ratePerSec: number, seconds: number): number {
  return Math.round(ratePerSec * seconds);
}

/**
 * A deterministic pseudo-random unit value for RPC `k` (MurmurHash3's fmix32 over k and the seed),
 * so every lane sees the same sequence of methods.
 */
export function unitFor(seed: number, k: number): number {
  let z = (Math.imul(k + 1, 0x9e3779b9) ^ Math.imul(seed + 0x7f4a7c15, 0x85ebca6b)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  z = (z ^ (z >>> 16)) >>> 0;
  return z / 4294967296;
}
