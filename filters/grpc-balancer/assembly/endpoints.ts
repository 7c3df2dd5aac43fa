/**
 * One worker VM's view of the endpoints: the local copy of the shared table (table.ts), this VM's
 * live in-flight counts, hash indexes for the names a stream meets, the usable endpoints of each
 * cluster, and the precomputed header value of each endpoint. Streams use it in O(1) without
 * allocating: name lookups hash the host's bytes in place, P2C samples two candidates, and what
 * a stream observes is applied to the local table at once and buffered for the fold (shared.ts),
 * which merges it into shared data and hands the merged table back through `adopt`.
 */
import { base64Encode } from "../../sdk/crypto/base64";
import { Pair, Prng, firstWins, sampleTwo } from "./chooser";
import { Config, OutputMode } from "./config";
import { EVENT_ORCA, EVENT_PENALTY, EVENT_SAMPLE, EVENT_STREAMING, EventBuffer } from "./events";
import { applyOrca, applyPenalty, applySample, costOf, slowStart, usableOrcaWeight } from "./model";
import { PendingNames, SlotIndex, endpointHash, nameHash } from "./names";
import { ADDRESS_MAX, CLASS_NAME_MAX, CLUSTER_NAME_MAX, Dims, FLAG_EJECTED, FLAG_SERVED, Layout, Table, sameBytes } from "./table";

/** Events buffered between two folds. */
// @ts-ignore: decorator
@inline const EVENT_CAPACITY: i32 = 8192;

export class Balancer {
  readonly dims: Dims;
  readonly layout: Layout;
  readonly local: Table;
  readonly events: EventBuffer = new EventBuffer(EVENT_CAPACITY);
  readonly pendingClusters: PendingNames;
  readonly pendingClasses: PendingNames;
  /** Tag: the local cluster slot; flags: FLAG_STATIC / FLAG_EJECTED hints. */
  readonly pendingEndpoints: PendingNames;
  /** This VM's RPCs in flight per endpoint slot (live). */
  readonly mine: StaticArray<i32>;
  /** Every other VM's in-flight count per slot, as of the last fold. */
  readonly others: StaticArray<i32>;
  /** Row of this VM in the table's VM region (-1 before the first fold). */
  vmRow: i32 = -1;
  /** True once a fold succeeded: before that streams are left to Envoy. */
  ready: bool = false;
  readonly rng: Prng;

  private readonly clusterIndex: SlotIndex;
  private readonly classIndex: SlotIndex;
  private readonly endpointIndex: SlotIndex;
  /** Per cluster: usable endpoint slots (K × E), their count, their mean ORCA weight. */
  private readonly usable: StaticArray<i32>;
  private readonly usableCount: StaticArray<i32>;
  private readonly meanOrca: StaticArray<f64>;
  private readonly clusterAllowed: StaticArray<bool>;
  /** Per cluster: a usable endpoint in slow start that has not served yet (-1: none). */
  private readonly probeCandidate: StaticArray<i32>;
  /** Per slot: the first-seen time of the endpoint this VM last probed there. */
  private readonly probedAt: StaticArray<u64>;
  private readonly allowlist: Array<ArrayBuffer> = new Array<ArrayBuffer>();
  /** Per slot: the header value naming it, and the (used, generation) it was made for. */
  private readonly headerValues: Array<ArrayBuffer | null>;
  private readonly headerKeys: StaticArray<i32>;
  private readonly prevKeys: StaticArray<i32>;
  /** "a,b" for the override_host header, written per pick (no allocation). */
  readonly pairValue: ArrayBuffer = new ArrayBuffer(ADDRESS_MAX * 2 + 1);
  pairValueLen: i32 = 0;
  private readonly pair: Pair = new Pair();

  constructor(public readonly cfg: Config, seed: u64) {
    const classes = cfg.normalizeMethods ? cfg.maxMethodClasses : 1;
    const e = cfg.maxEndpoints;
    const dims = new Dims(e, classes, cfg.maxClusters, cfg.maxVms);
    const layout = new Layout(dims);
    this.dims = dims;
    this.layout = layout;
    this.local = new Table(layout);
    this.pendingClusters = new PendingNames(cfg.maxClusters, CLUSTER_NAME_MAX);
    this.pendingClasses = new PendingNames(classes, CLASS_NAME_MAX);
    this.pendingEndpoints = new PendingNames(e, ADDRESS_MAX);
    this.mine = new StaticArray<i32>(e);
    this.others = new StaticArray<i32>(e);
    this.rng = new Prng(seed);
    this.clusterIndex = new SlotIndex(cfg.maxClusters);
    this.classIndex = new SlotIndex(classes);
    this.endpointIndex = new SlotIndex(e);
    this.usable = new StaticArray<i32>(cfg.maxClusters * e);
    this.usableCount = new StaticArray<i32>(cfg.maxClusters);
    this.meanOrca = new StaticArray<f64>(cfg.maxClusters);
    this.clusterAllowed = new StaticArray<bool>(cfg.maxClusters);
    this.probeCandidate = new StaticArray<i32>(cfg.maxClusters);
    this.probedAt = new StaticArray<u64>(e);
    this.headerValues = new Array<ArrayBuffer | null>(e);
    this.headerKeys = new StaticArray<i32>(e);
    this.prevKeys = new StaticArray<i32>(e);
    for (let i = 0; i < cfg.clusters.length; i++) this.allowlist.push(String.UTF8.encode(cfg.clusters[i]));
  }

  // ===== lookups (streams) =====

  /** Slot of cluster `name`; -1 when unknown (then queued for the fold if it may be balanced). */
  clusterSlot(ptr: usize, len: i32): i32 {
    const h = nameHash(ptr, len);
    for (let p = this.clusterIndex.first(h); p >= 0; p = this.clusterIndex.next(h, p)) {
      const s = this.clusterIndex.slotAt(p);
      if (sameBytes(this.local.clusterNamePtr(s), this.local.clusterNameLen(s), ptr, len)) {
        return unchecked(this.clusterAllowed[s]) ? s : -1;
      }
    }
    if (this.allows(ptr, len)) this.pendingClusters.add(0, ptr, len);
    return -1;
  }

  /** Slot of method class `name`; 0 ("other") when unknown (queued) or normalisation is off. */
  classSlot(ptr: usize, len: i32): i32 {
    if (!this.cfg.normalizeMethods) return 0;
    const h = nameHash(ptr, len);
    for (let p = this.classIndex.first(h); p >= 0; p = this.classIndex.next(h, p)) {
      const s = this.classIndex.slotAt(p);
      if (sameBytes(this.local.classNamePtr(s), this.local.classNameLen(s), ptr, len)) return s;
    }
    if (len <= CLASS_NAME_MAX) this.pendingClasses.add(0, ptr, len);
    return -1;
  }

  /** Slot of endpoint `address` in `cluster`; -1 when unknown (queued when it is an address). */
  endpointSlot(cluster: i32, ptr: usize, len: i32): i32 {
    const h = endpointHash(cluster, ptr, len);
    for (let p = this.endpointIndex.first(h); p >= 0; p = this.endpointIndex.next(h, p)) {
      const s = this.endpointIndex.slotAt(p);
      if (this.local.cluster(s) == cluster && sameBytes(this.local.addressPtr(s), this.local.addressLen(s), ptr, len)) return s;
    }
    return -1;
  }

  private allows(ptr: usize, len: i32): bool {
    const list = this.allowlist;
    if (list.length == 0) return true;
    for (let i = 0; i < list.length; i++) {
      const b = unchecked(list[i]);
      if (sameBytes(changetype<usize>(b), b.byteLength, ptr, len)) return true;
    }
    return false;
  }

  // ===== choosing =====

  /** Usable endpoints of `cluster`. */
  usableIn(cluster: i32): i32 { return unchecked(this.usableCount[cluster]); }

  /** In flight on `e`, every VM included. */
  inflightOf(e: i32): i32 { return unchecked(this.mine[e]) + unchecked(this.others[e]); }

  /** Cost of one more RPC of class `cls` on endpoint `e` at `now`. */
  cost(e: i32, cls: i32, now: u64): f64 {
    return costOf(this.local, this.cfg, e, cls, this.inflightOf(e), unchecked(this.meanOrca[this.local.cluster(e)]), now);
  }

  /**
   * P2C among the usable endpoints of `cluster` for class `cls`: `out.first` the chosen one,
   * `out.second` the other candidate. False when fewer than two are usable (Envoy chooses).
   *
   * Slow start as Envoy's (load_balancer_impl.cc, EdfLoadBalancerBase): a ramping endpoint's
   * weight is scaled by its factor, and LEAST_REQUEST then schedules hosts by
   * weight × factor / (active + 1), the inverse of our cost; so the candidates are compared on
   * cost / factor. An endpoint that has not served an RPC since it was added (active discovery)
   * gets the cluster's next RPC as a probe: its ramp then starts from a measurement.
   */
  choose(cluster: i32, cls: i32, now: u64, out: Pair): bool {
    const n = unchecked(this.usableCount[cluster]);
    if (n < 2) return false;
    const pair = this.pair;
    sampleTwo(this.rng, n, pair);
    const base = cluster * this.dims.endpoints;
    const a = unchecked(this.usable[base + pair.first]);
    const b = unchecked(this.usable[base + pair.second]);
    const costA = this.cost(a, cls, now) / slowStart(this.local, this.cfg, a, now);
    const costB = this.cost(b, cls, now) / slowStart(this.local, this.cfg, b, now);
    const firstKept = firstWins(costA, costB);
    let win = firstKept ? a : b;
    let lose = firstKept ? b : a;
    const probe = unchecked(this.probeCandidate[cluster]);
    if (probe >= 0) {
      unchecked(this.probeCandidate[cluster] = -1);
      if (this.local.used(probe) && unchecked(this.probedAt[probe]) != this.local.firstSeen(probe)) {
        unchecked(this.probedAt[probe] = this.local.firstSeen(probe));
        if (probe != win) { lose = win; win = probe; }
      }
    }
    out.first = win;
    out.second = lose;
    return true;
  }

  /** The header value that names endpoint `e` (base64 "ip:port" or "ip:port"). */
  headerValue(e: i32): ArrayBuffer | null { return unchecked(this.headerValues[e]); }

  /** Writes "first,second" into `pairValue` (override_host: the retry goes to `second`). */
  composePair(first: i32, second: i32): void {
    const t = this.local;
    const p = changetype<usize>(this.pairValue);
    const n1 = t.addressLen(first);
    memory.copy(p, t.addressPtr(first), <usize>n1);
    store<u8>(p + <usize>n1, 0x2c);
    const n2 = t.addressLen(second);
    memory.copy(p + <usize>(n1 + 1), t.addressPtr(second), <usize>n2);
    this.pairValueLen = n1 + 1 + n2;
  }

  // ===== observations (streams) =====

  addInflight(e: i32, delta: i32): void {
    const n = unchecked(this.mine[e]) + delta;
    unchecked(this.mine[e] = n > 0 ? n : 0);
  }

  /** True when slot `e` still holds the endpoint a stream saw as generation `gen`. */
  live(e: i32, gen: u16): bool { return e >= 0 && e < this.dims.endpoints && this.local.used(e) && this.local.gen(e) == gen; }

  sample(e: i32, gen: u16, cls: i32, latencyNs: f64, now: u64): void {
    if (!this.live(e, gen) || cls < 0) return;
    applySample(this.local, this.cfg, e, cls, latencyNs, now);
    this.events.push(EVENT_SAMPLE, e, gen, cls, latencyNs, now);
  }

  penalty(e: i32, gen: u16, cls: i32, penaltyNs: f64, now: u64): void {
    if (!this.live(e, gen)) return;
    const c = cls < 0 ? 0 : cls;
    applyPenalty(this.local, this.cfg, e, c, penaltyNs, now);
    this.events.push(EVENT_PENALTY, e, gen, c, penaltyNs, now);
  }

  orca(e: i32, gen: u16, weight: f64, now: u64): void {
    if (!this.live(e, gen) || !(weight > 0)) return;
    applyOrca(this.local, this.cfg, e, weight, now);
    this.events.push(EVENT_ORCA, e, gen, 0, weight, now);
  }

  streaming(cls: i32): void {
    if (cls <= 0 || cls >= this.dims.classes || this.local.classStreaming(cls)) return;
    this.local.setClassStreaming(cls, true);
    this.events.push(EVENT_STREAMING, 0, 0, cls, 0, 0);
  }

  // ===== adoption of a folded table =====

  /** Replaces the local table with `folded` (this VM's row is `row`) and rebuilds the views. */
  adopt(folded: Table, row: i32, now: u64): void {
    const t = this.local;
    const dims = this.dims;
    for (let e = 0; e < dims.endpoints; e++) unchecked(this.prevKeys[e] = slotKey(t, e));
    t.copyTable(folded);
    this.vmRow = row;
    for (let e = 0; e < dims.endpoints; e++) {
      const key = slotKey(t, e);
      if (key != unchecked(this.prevKeys[e])) unchecked(this.mine[e] = 0); // freed or reclaimed
      let others = 0;
      for (let v = 0; v < dims.vms; v++) if (v != row) others += t.inflight(v, e);
      unchecked(this.others[e] = others > 0 ? others : 0);
      if (key != unchecked(this.headerKeys[e])) {
        unchecked(this.headerKeys[e] = key);
        unchecked(this.headerValues[e] = key == 0 ? null : this.encodeHeader(e));
      }
    }
    this.rebuildIndexes(now);
    this.ready = true;
  }

  private encodeHeader(e: i32): ArrayBuffer {
    const t = this.local;
    const n = t.addressLen(e);
    const raw = new ArrayBuffer(n);
    memory.copy(changetype<usize>(raw), t.addressPtr(e), <usize>n);
    if (this.cfg.mode == OutputMode.OverrideHost) return raw;
    const text = base64Encode(raw, 0, n);
    return String.UTF8.encode(text === null ? "" : text);
  }

  private rebuildIndexes(now: u64): void {
    const t = this.local;
    const dims = this.dims;
    this.clusterIndex.clear();
    this.classIndex.clear();
    this.endpointIndex.clear();
    for (let k = 0; k < dims.clusters; k++) {
      unchecked(this.usableCount[k] = 0);
      unchecked(this.meanOrca[k] = 0);
      unchecked(this.probeCandidate[k] = -1);
      const used = t.clusterUsed(k);
      unchecked(this.clusterAllowed[k] = used && this.allows(t.clusterNamePtr(k), t.clusterNameLen(k)));
      if (used) this.clusterIndex.insert(nameHash(t.clusterNamePtr(k), t.clusterNameLen(k)), k);
    }
    for (let c = 1; c < dims.classes; c++) {
      if (t.classUsed(c)) this.classIndex.insert(nameHash(t.classNamePtr(c), t.classNameLen(c)), c);
    }
    const orcaCount = new StaticArray<i32>(dims.clusters);
    for (let e = 0; e < dims.endpoints; e++) {
      if (!t.used(e)) continue;
      const k = t.cluster(e);
      if (k >= dims.clusters) continue;
      this.endpointIndex.insert(endpointHash(k, t.addressPtr(e), t.addressLen(e)), e);
      if ((t.flags(e) & FLAG_EJECTED) != 0 || !unchecked(this.clusterAllowed[k])) continue;
      const n = unchecked(this.usableCount[k]);
      unchecked(this.usable[k * dims.endpoints + n] = e);
      unchecked(this.usableCount[k] = n + 1);
      if ((t.flags(e) & FLAG_SERVED) == 0 && unchecked(this.probeCandidate[k]) < 0 && unchecked(this.probedAt[e]) != t.firstSeen(e) &&
          slowStart(t, this.cfg, e, now) < 1.0) {
        unchecked(this.probeCandidate[k] = e);
      }
      const w = usableOrcaWeight(t, this.cfg, e, now);
      if (w > 0) { unchecked(this.meanOrca[k] += w); unchecked(orcaCount[k]++); }
    }
    for (let k = 0; k < dims.clusters; k++) {
      const n = unchecked(orcaCount[k]);
      if (n > 0) unchecked(this.meanOrca[k] = unchecked(this.meanOrca[k]) / <f64>n);
    }
  }
}

/** (used, generation) of slot `e` as one number; 0 for a free slot. */
function slotKey(t: Table, e: i32): i32 {
  return t.used(e) ? (<i32>t.gen(e) << 1) | 1 : 0;
}
