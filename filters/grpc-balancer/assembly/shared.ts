/**
 * The fold: how a worker VM merges what its streams observed into the table every VM shares
 * (proxy-wasm shared data, compare-and-swap), run from the root context's tick.
 *
 *   read (value, cas) -> copy into the scratch table (or start a fresh one when the key is
 *   missing or holds another layout) -> claim this VM's row and publish its live in-flight
 *   counts -> insert configured and newly met clusters, methods and endpoints -> apply the last
 *   discovery answer -> replay the buffered events in order -> age out endpoints -> recompute the
 *   class baselines -> take the discovery lease when due -> write with the cas.
 *
 * A CasMismatch (another VM wrote in between) starts over from a fresh read, at most
 * MAX_ATTEMPTS times; the buffer is only cleared once a write succeeded, and the written table
 * becomes the VM's local one. The key's first write is unconditional (ABI 0.2.1 has no
 * create-if-absent), so two VMs creating it at the same instant can lose one fold's events.
 */
import { getSharedData, setSharedData } from "../../sdk/hostcalls";
import { WasmResult } from "../../sdk/abi/imports";
import { Config } from "./config";
import { Balancer } from "./endpoints";
import { EVENT_ORCA, EVENT_PENALTY, EVENT_SAMPLE, EVENT_STREAMING } from "./events";
import { DiscoveryResult } from "./discovery";
import { addressBytes } from "./address";
import { ageOut, applyOrca, applyPenalty, applySample, claimVm, ensureClass, ensureCluster, ensureEndpoint,
         recomputeBaselines } from "./model";
import { FLAG_EJECTED, FLAG_SERVED, FLAG_STATIC, Table } from "./table";

// @ts-ignore: decorator
@inline const MAX_ATTEMPTS: i32 = 8;

export class FoldOutcome {
  ok: bool = false;
  conflicts: i32 = 0;
  /** This VM took the discovery lease: it should start the discovery call now. */
  discover: bool = false;
  /** The table read was missing or of another layout and was started afresh. */
  reset: bool = false;
  aged: i32 = 0;
}

export class Folder {
  readonly scratch: Table;
  private readonly medians: StaticArray<f64>;
  private readonly layoutKey: u32;
  /** The discovery answer waiting for the next fold. */
  discovered: DiscoveryResult | null = null;
  private readonly staticBytes: Array<ArrayBuffer> = new Array<ArrayBuffer>();
  private readonly staticClusters: Array<ArrayBuffer> = new Array<ArrayBuffer>();
  private readonly allowBytes: Array<ArrayBuffer> = new Array<ArrayBuffer>();
  private readonly streamingBytes: Array<ArrayBuffer> = new Array<ArrayBuffer>();

  constructor(private readonly b: Balancer, private readonly key: string, public readonly vmId: u64) {
    const cfg = b.cfg;
    this.scratch = new Table(b.layout);
    this.medians = new StaticArray<f64>(cfg.maxEndpoints);
    const d = b.dims;
    this.layoutKey = cfg.fingerprint ^ (<u32>d.endpoints * 0x01000193) ^ (<u32>d.classes << 20) ^ (<u32>d.clusters << 10) ^ <u32>d.vms;
    for (let i = 0; i < cfg.staticEndpoints.length; i++) {
      const a = addressBytes(cfg.staticEndpoints[i].address);
      if (a === null) continue; // rejected at configure time
      this.staticBytes.push(a);
      this.staticClusters.push(String.UTF8.encode(cfg.staticEndpoints[i].cluster));
    }
    for (let i = 0; i < cfg.clusters.length; i++) this.allowBytes.push(String.UTF8.encode(cfg.clusters[i]));
    for (let i = 0; i < cfg.streamingMethods.length; i++) this.streamingBytes.push(String.UTF8.encode("/" + cfg.streamingMethods[i]));
  }

  /** One fold at `now`. */
  fold(now: u64, out: FoldOutcome): void {
    out.ok = false;
    out.conflicts = 0;
    out.discover = false;
    out.reset = false;
    out.aged = 0;
    const b = this.b;
    const cfg = b.cfg;
    const t = this.scratch;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const d = getSharedData(this.key);
      const fresh = d === null || !t.accepts(d.value, this.layoutKey);
      if (fresh) t.reset(this.layoutKey);
      else t.copyFrom(d!.value);
      out.reset = fresh && d !== null;
      const row = claimVm(t, this.vmId, now, staleVmNs(cfg));
      if (row >= 0) this.publishInflight(t, row, fresh);
      this.insertNames(t, now);
      this.applyDiscovery(t, now);
      if (!fresh) this.replay(t); // a fresh table has other slot numbers: its events are void
      out.aged = ageOut(t, cfg, now);
      recomputeBaselines(t, cfg, now, this.medians);
      const discovery = cfg.discovery;
      let lease = false;
      if (discovery !== null && (t.lastDiscoveryNs == 0 || now - t.lastDiscoveryNs >= <u64>discovery.intervalMs * 1_000_000)) {
        t.lastDiscoveryNs = now;
        lease = true;
      }
      t.writes = t.writes + 1;
      const r = setSharedData(this.key, t.block, d === null ? 0 : d.cas);
      if (r == WasmResult.CasMismatch) { out.conflicts++; continue; }
      if (r != WasmResult.Ok) return;
      b.adopt(t, row, now);
      b.events.clear();
      b.pendingClusters.clear();
      b.pendingClasses.clear();
      b.pendingEndpoints.clear();
      this.discovered = null;
      out.ok = true;
      out.discover = lease;
      return;
    }
  }

  /** This VM's live in-flight counts into its row (only for slots still holding the same endpoint). */
  private publishInflight(t: Table, row: i32, fresh: bool): void {
    const b = this.b;
    const local = b.local;
    for (let e = 0, n = b.dims.endpoints; e < n; e++) {
      const same = !fresh && b.ready && t.used(e) && local.used(e) && t.gen(e) == local.gen(e);
      t.setInflight(row, e, same ? unchecked(b.mine[e]) : 0);
    }
  }

  private insertNames(t: Table, now: u64): void {
    const b = this.b;
    for (let i = 0; i < this.allowBytes.length; i++) {
      const n = unchecked(this.allowBytes[i]);
      ensureCluster(t, changetype<usize>(n), n.byteLength);
    }
    for (let i = 0; i < this.staticBytes.length; i++) {
      const c = unchecked(this.staticClusters[i]);
      const k = ensureCluster(t, changetype<usize>(c), c.byteLength);
      const a = unchecked(this.staticBytes[i]);
      if (k >= 0) ensureEndpoint(t, k, changetype<usize>(a), a.byteLength, FLAG_STATIC, now);
    }
    if (b.cfg.normalizeMethods) {
      for (let i = 0; i < this.streamingBytes.length; i++) {
        const m = unchecked(this.streamingBytes[i]);
        ensureClass(t, changetype<usize>(m), m.byteLength, true);
      }
    }
    const pc = b.pendingClusters;
    for (let i = 0; i < pc.count; i++) ensureCluster(t, pc.namePtr(i), pc.nameLen(i));
    const pm = b.pendingClasses;
    for (let i = 0; i < pm.count; i++) ensureClass(t, pm.namePtr(i), pm.nameLen(i), false);
    const pe = b.pendingEndpoints;
    const local = b.local;
    for (let i = 0; i < pe.count; i++) {
      const lk = pe.tag(i);
      if (!b.ready || lk < 0 || lk >= b.dims.clusters || !local.clusterUsed(lk)) continue;
      const k = ensureCluster(t, local.clusterNamePtr(lk), local.clusterNameLen(lk));
      // Met serving an RPC (passive discovery): it has served, no probe needed.
      if (k >= 0) ensureEndpoint(t, k, pe.namePtr(i), pe.nameLen(i), FLAG_SERVED, now);
    }
  }

  /**
   * The last discovery answer: listed endpoints are inserted or refreshed and their health set
   * (an unhealthy one is skipped; one that turns healthy restarts its slow start); endpoints of a
   * listed cluster that the answer omits (and that are not static) are freed.
   */
  private applyDiscovery(t: Table, now: u64): void {
    const r = this.discovered;
    if (r === null) return;
    const dims = this.b.dims;
    const listed = new StaticArray<bool>(dims.endpoints);
    const clusterListed = new StaticArray<bool>(dims.clusters);
    for (let i = 0; i < r.count; i++) {
      const k = findCluster(t, r.clusterPtr(i), r.clusterLen(i));
      if (k < 0) continue; // a cluster this filter never balanced
      unchecked(clusterListed[k] = true);
      const e = r.address(i) === null ? -1 : ensureEndpoint(t, k, r.addressPtr(i), r.addressLen(i), 0, now);
      if (e < 0) continue;
      unchecked(listed[e] = true);
      const f = t.flags(e);
      if (r.healthy(i)) {
        // Back from ejection or a failed health check: slow start begins now, as Envoy starts
        // it when a host passes its health check (with a probe unless it served an RPC since).
        if ((f & FLAG_EJECTED) != 0) {
          t.setFirstSeen(e, now);
          t.setFlags(e, f & ~FLAG_EJECTED);
        }
      } else if ((f & FLAG_EJECTED) == 0) {
        // Ejected: what it served before no longer counts (the pod may restart).
        t.setFlags(e, (f | FLAG_EJECTED) & ~FLAG_SERVED);
      }
    }
    for (let k = 0; k < r.clusterCount; k++) {
      const ck = findCluster(t, r.listedClusterPtr(k), r.listedClusterLen(k));
      if (ck >= 0) unchecked(clusterListed[ck] = true);
    }
    for (let e = 0; e < dims.endpoints; e++) {
      if (!t.used(e) || unchecked(listed[e]) || (t.flags(e) & FLAG_STATIC) != 0) continue;
      if (unchecked(clusterListed[t.cluster(e)])) t.freeEndpoint(e);
    }
  }

  private replay(t: Table): void {
    const b = this.b;
    const cfg = b.cfg;
    const ev = b.events;
    for (let i = 0; i < ev.count; i++) {
      const kind = ev.kind(i);
      if (kind == EVENT_STREAMING) {
        const c = ev.cls(i);
        if (c > 0 && c < b.dims.classes && t.classUsed(c)) t.setClassStreaming(c, true);
        continue;
      }
      const e = ev.endpoint(i);
      if (!t.used(e) || t.gen(e) != ev.gen(i)) continue; // freed since
      const c = ev.cls(i) < b.dims.classes ? ev.cls(i) : 0;
      if (kind == EVENT_SAMPLE) applySample(t, cfg, e, c, ev.value(i), ev.time(i));
      else if (kind == EVENT_PENALTY) applyPenalty(t, cfg, e, c, ev.value(i), ev.time(i));
      else if (kind == EVENT_ORCA) applyOrca(t, cfg, e, ev.value(i), ev.time(i));
    }
  }
}

function findCluster(t: Table, ptr: usize, len: i32): i32 {
  for (let i = 0, n = t.dims.clusters; i < n; i++) {
    if (t.clusterUsed(i) && t.clusterNameLen(i) == len && (len == 0 || memory.compare(t.clusterNamePtr(i), ptr, <usize>len) == 0)) return i;
  }
  return -1;
}

/** A VM that has not folded for this long is gone: its row and in-flight counts are dropped. */
function staleVmNs(cfg: Config): f64 {
  const tenTicks = <f64>cfg.tickMs * 10e6;
  return tenTicks > 5e9 ? tenTicks : 5e9;
}

/** The next VM id of this plugin (a shared counter under CAS); never 0. */
export function nextVmId(key: string, fallback: u64): u64 {
  for (let attempt = 0; attempt < 32; attempt++) {
    const d = getSharedData(key);
    const n: u64 = d === null || d.value.byteLength != 8 ? 0 : load<u64>(changetype<usize>(d.value));
    const next = new ArrayBuffer(8);
    store<u64>(changetype<usize>(next), n + 1);
    const r = setSharedData(key, next, d === null ? 0 : d.cas);
    if (r == WasmResult.Ok) return n + 1;
    if (r != WasmResult.CasMismatch) break;
  }
  return fallback == 0 ? 1 : fallback;
}

