/**
 * What the balancer's observations do to a table (table.ts): the same functions run on a VM's
 * local table when a stream ends and on the shared table when the fold replays the buffered
 * events, so both agree. Pure apart from the table they are given; the estimator math is in
 * estimator.ts.
 *
 * Per-method normalisation: every (method class, endpoint) cell keeps a plain EWMA of the
 * class's latency on that endpoint; the class baseline is the median of those EWMAs over the
 * endpoints (recomputed at each fold). A sample becomes the ratio latency / baseline, and each
 * endpoint keeps one peak-EWMA of ratios over all methods: a healthy pod serving a slow method
 * stays near 1, a pod slow for every method is seen from every method's samples at once. With
 * normalisation off there is one class and the baseline is the default RTT, which makes the
 * ratio a plain latency (Linkerd's estimator, in units of the default RTT).
 */
import { Config } from "./config";
import { MAX_SAMPLE_NS, elapsedNs, endpointCost, ewmaUpdate, medianInPlace, orcaCostFactor, peakEwmaUpdate,
         peakEwmaValue, slowStartFactor } from "./estimator";
import { FLAG_EJECTED, FLAG_SERVED, FLAG_STATIC, Table, sameBytes } from "./table";

/** The ns latency that ratio 1 stands for in class `c`. */
export function baselineNs(t: Table, cfg: Config, c: i32): f64 {
  if (!cfg.normalizeMethods) return cfg.defaultRttNs;
  const b = c >= 0 && c < t.dims.classes ? t.classBaseline(c) : 0;
  return b > 0 ? b : cfg.defaultRttNs;
}

/** A successful RPC of class `c` on endpoint `e` took `latencyNs`. */
export function applySample(t: Table, cfg: Config, e: i32, c: i32, latencyNs: f64, now: u64): void {
  if (cfg.normalizeMethods && c >= 0 && c < t.dims.classes && !(t.classBaseline(c) > 0) && latencyNs >= 1.0 &&
      latencyNs <= MAX_SAMPLE_NS) {
    t.setClassBaseline(c, latencyNs); // a class's first sample is its provisional baseline (ratio 1)
  }
  const base = baselineNs(t, cfg, c);
  if (cfg.normalizeMethods && c >= 0 && c < t.dims.classes) {
    const at = t.cellAt(c, e);
    t.setCell(c, e, ewmaUpdate(t.cellEst(c, e), at, at != 0, latencyNs, now, cfg.tauNs), now > 0 ? now : 1);
  }
  t.setRatio(e, peakEwmaUpdate(t.ratio(e), t.ratioAt(e), latencyNs / base, now, cfg.tauNs), now);
  const f = t.flags(e);
  if ((f & FLAG_EJECTED) != 0) {
    // It answered an RPC: Envoy's balancer picks only hosts it holds healthy (outside panic), so
    // this is the first sign that the pod is back; slow start begins now, and the next discovery
    // answer confirms it or ejects it again.
    t.setFirstSeen(e, now);
    t.setFlags(e, (f & ~FLAG_EJECTED) | FLAG_SERVED);
  } else {
    t.setFlags(e, f | FLAG_SERVED);
  }
  if (now > t.lastSeen(e)) t.setLastSeen(e, now);
}

/** A failed RPC of class `c` on endpoint `e`: the penalised latency is recorded as a peak. */
export function applyPenalty(t: Table, cfg: Config, e: i32, c: i32, penalty: f64, now: u64): void {
  const base = baselineNs(t, cfg, c);
  t.setRatio(e, peakEwmaUpdate(t.ratio(e), t.ratioAt(e), penalty / base, now, cfg.tauNs), now);
  t.setFlags(e, t.flags(e) | FLAG_SERVED);
  if (now > t.lastSeen(e)) t.setLastSeen(e, now);
}

/** A load report with A58 weight `weight`; a gap longer than the expiration restarts the blackout. */
export function applyOrca(t: Table, cfg: Config, e: i32, weight: f64, now: u64): void {
  const last = t.orcaLast(e);
  const first = last == 0 || elapsedNs(last, now) > cfg.orcaExpirationNs ? now : t.orcaFirst(e);
  t.setOrca(e, weight > 0 ? weight : 0, first, now);
}

/** The A58 weight in use for `e` at `now`: 0 while in blackout, after expiration, or unreported. */
export function usableOrcaWeight(t: Table, cfg: Config, e: i32, now: u64): f64 {
  if (!cfg.orcaEnabled) return 0;
  const last = t.orcaLast(e);
  if (last == 0 || elapsedNs(last, now) > cfg.orcaExpirationNs) return 0;
  if (elapsedNs(t.orcaFirst(e), now) < cfg.orcaBlackoutNs) return 0;
  return t.orcaWeight(e);
}

/** Slow-start weight of `e` at `now`. */
export function slowStart(t: Table, cfg: Config, e: i32, now: u64): f64 {
  return slowStartFactor(elapsedNs(t.firstSeen(e), now), cfg.slowStartWindowNs, cfg.slowStartAggression, cfg.slowStartMinWeight);
}

/** Cost of one more RPC of class `c` on `e` with `inflight` in flight; `meanOrca` of e's cluster. */
export function costOf(t: Table, cfg: Config, e: i32, c: i32, inflight: i32, meanOrca: f64, now: u64): f64 {
  const ratio = peakEwmaValue(t.ratio(e), t.ratioAt(e), now, cfg.tauNs);
  const orca = orcaCostFactor(usableOrcaWeight(t, cfg, e, now), meanOrca, cfg.orcaBlend);
  return endpointCost(baselineNs(t, cfg, c), ratio, inflight, orca);
}

/**
 * Recomputes every class baseline: the median of its fresh cells (`scratch` holds E values). A
 * class with no fresh cell keeps its baseline (its first sample's, or the last median).
 */
export function recomputeBaselines(t: Table, cfg: Config, now: u64, scratch: StaticArray<f64>): void {
  const dims = t.dims;
  for (let c = 0; c < dims.classes; c++) {
    if (!t.classUsed(c)) continue;
    let n = 0;
    for (let e = 0; e < dims.endpoints; e++) {
      if (!t.used(e)) continue;
      const at = t.cellAt(c, e);
      if (at == 0 || elapsedNs(at, now) > <f64>cfg.endpointTtlNs) continue;
      unchecked(scratch[n++] = t.cellEst(c, e));
    }
    if (n > 0) t.setClassBaseline(c, medianInPlace(scratch, n, 0));
  }
}

/** Sum of every VM's in-flight count on `e`. */
export function totalInflight(t: Table, e: i32): i32 {
  let n = 0;
  for (let v = 0, m = t.dims.vms; v < m; v++) n += t.inflight(v, e);
  return n;
}

/** Frees endpoints not seen for the TTL (static ones, and ones with RPCs in flight, stay). */
export function ageOut(t: Table, cfg: Config, now: u64): i32 {
  let freed = 0;
  for (let e = 0, n = t.dims.endpoints; e < n; e++) {
    if (!t.used(e) || (t.flags(e) & FLAG_STATIC) != 0) continue;
    if (elapsedNs(t.lastSeen(e), now) <= <f64>cfg.endpointTtlNs || totalInflight(t, e) > 0) continue;
    t.freeEndpoint(e);
    freed++;
  }
  return freed;
}

/** Slot of cluster `name`, inserting it when absent; -1 when the table is full. */
export function ensureCluster(t: Table, ptr: usize, len: i32): i32 {
  let free = -1;
  for (let i = 0, n = t.dims.clusters; i < n; i++) {
    if (!t.clusterUsed(i)) { if (free < 0) free = i; continue; }
    if (sameBytes(t.clusterNamePtr(i), t.clusterNameLen(i), ptr, len)) return i;
  }
  if (free >= 0) t.setCluster(free, ptr, len);
  return free;
}

/** Slot of method class `name` (never 0, which is "other"), inserting it; 0 when full. */
export function ensureClass(t: Table, ptr: usize, len: i32, streaming: bool): i32 {
  let free = -1;
  for (let i = 1, n = t.dims.classes; i < n; i++) {
    if (!t.classUsed(i)) { if (free < 0) free = i; continue; }
    if (sameBytes(t.classNamePtr(i), t.classNameLen(i), ptr, len)) {
      if (streaming) t.setClassStreaming(i, true);
      return i;
    }
  }
  if (free < 0) return 0;
  t.setClass(free, ptr, len, streaming);
  t.clearClassCells(free);
  return free;
}

/** Slot of endpoint (cluster, address), or -1. */
export function findEndpoint(t: Table, cluster: i32, ptr: usize, len: i32): i32 {
  for (let e = 0, n = t.dims.endpoints; e < n; e++) {
    if (t.used(e) && t.cluster(e) == cluster && sameBytes(t.addressPtr(e), t.addressLen(e), ptr, len)) return e;
  }
  return -1;
}

/** Slot of endpoint (cluster, address), claiming a free one (ratio 1); -1 when full. */
export function ensureEndpoint(t: Table, cluster: i32, ptr: usize, len: i32, flags: u8, now: u64): i32 {
  const found = findEndpoint(t, cluster, ptr, len);
  if (found >= 0) {
    t.setFlags(found, t.flags(found) | (flags & (FLAG_STATIC | FLAG_SERVED)));
    if (now > t.lastSeen(found)) t.setLastSeen(found, now);
    return found;
  }
  for (let e = 0, n = t.dims.endpoints; e < n; e++) {
    if (t.used(e)) continue;
    t.claimEndpoint(e, cluster, ptr, len, flags, now, 1.0);
    return e;
  }
  return -1;
}

/**
 * The row of VM `vmId`, claiming a free row or one whose VM has not folded for `staleNs` (its
 * in-flight counts are dropped with it); -1 when every row is live.
 */
export function claimVm(t: Table, vmId: u64, now: u64, staleNs: f64): i32 {
  let free = -1;
  for (let v = 0, n = t.dims.vms; v < n; v++) {
    const id = t.vmId(v);
    if (id == vmId) return v;
    if (id == 0 || elapsedNs(t.vmLastFold(v), now) > staleNs) {
      if (id != 0) t.clearVm(v);
      if (free < 0) free = v;
    }
  }
  if (free >= 0) t.setVm(free, vmId, now);
  return free;
}
