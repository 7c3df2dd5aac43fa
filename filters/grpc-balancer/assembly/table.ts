/**
 * The balancer's state as one fixed-layout byte block: the same bytes live in shared data (every
 * worker VM folds into them under compare-and-swap) and in each VM's local copy, so adopting the
 * shared state is one memory copy and a stream's lookups are plain loads. Little-endian.
 *
 *   header      64 B   magic "GBAL", version, layout key (dimensions + configuration), last
 *                      discovery start (ns), write count
 *   clusters    K × 256 B   used u8 | pad u8 | length u16 | name (<= 252 B)
 *   classes     C × 160 B   used u8 | streaming u8 | length u16 | pad u32 | baseline f64 (ns) |
 *                           name (<= 144 B); class 0 is "other" (overflow, long names, or every
 *                           method when normalisation is off)
 *   endpoints   E × 128 B   used u8 | flags u8 | cluster u16 | generation u16 | length u8 | pad |
 *                           address (<= 56 B) | @64 ratio estimate f64 | estimate time u64 |
 *                           first seen u64 | last seen u64 | ORCA weight f64 | ORCA first u64 |
 *                           ORCA last u64 | pad
 *   cells       C × E × 16 B   per (class, endpoint): latency EWMA f64 (ns) | time u64 (0 = none)
 *   vms         V × 16 B   VM id u64 (0 = free) | last fold u64
 *   in-flight   V × E × i32   each VM's RPCs in flight per endpoint
 *
 * A slot's generation changes whenever the slot is freed, so a stream that picked an endpoint
 * before it aged out cannot charge the slot's next owner. Times are the host's clock in ns.
 */

// @ts-ignore: decorator
@inline export const MAGIC: u32 = 0x4c414247; // "GBAL"
// @ts-ignore: decorator
@inline export const VERSION: u32 = 1;
// @ts-ignore: decorator
@inline export const HEADER_SIZE: usize = 64;
// @ts-ignore: decorator
@inline export const CLUSTER_REC: usize = 256;
// @ts-ignore: decorator
@inline export const CLUSTER_NAME_MAX: i32 = 252;
// @ts-ignore: decorator
@inline export const CLASS_REC: usize = 160;
// @ts-ignore: decorator
@inline export const CLASS_NAME_MAX: i32 = 144;
// @ts-ignore: decorator
@inline export const ENDPOINT_REC: usize = 128;
// @ts-ignore: decorator
@inline export const ADDRESS_MAX: i32 = 56;
// @ts-ignore: decorator
@inline const CELL: usize = 16;
// @ts-ignore: decorator
@inline const VM_REC: usize = 16;

/** Endpoint flags. */
// @ts-ignore: decorator
@inline export const FLAG_STATIC: u8 = 1;
// @ts-ignore: decorator
@inline export const FLAG_EJECTED: u8 = 2;
/** The endpoint has served an RPC since it was added (or since it came back from ejection). */
// @ts-ignore: decorator
@inline export const FLAG_SERVED: u8 = 4;

/** Table dimensions (configuration maxima). */
export class Dims {
  constructor(public endpoints: i32, public classes: i32, public clusters: i32, public vms: i32) {}
}

/** Byte offsets of each region for one set of dimensions. */
export class Layout {
  clusters: usize;
  classes: usize;
  endpoints: usize;
  cells: usize;
  vms: usize;
  inflight: usize;
  size: usize;

  constructor(public readonly dims: Dims) {
    this.clusters = HEADER_SIZE;
    this.classes = this.clusters + <usize>dims.clusters * CLUSTER_REC;
    this.endpoints = this.classes + <usize>dims.classes * CLASS_REC;
    this.cells = this.endpoints + <usize>dims.endpoints * ENDPOINT_REC;
    this.vms = this.cells + <usize>dims.classes * <usize>dims.endpoints * CELL;
    this.inflight = this.vms + <usize>dims.vms * VM_REC;
    this.size = this.inflight + <usize>dims.vms * <usize>dims.endpoints * 4;
  }
}

/** Accessors over one block laid out by `layout` (the block is owned by the table). */
export class Table {
  readonly block: ArrayBuffer;
  readonly base: usize;

  constructor(public readonly layout: Layout) {
    this.block = new ArrayBuffer(<i32>layout.size);
    this.base = changetype<usize>(this.block);
  }

  get dims(): Dims { return this.layout.dims; }

  /** Zeroes the block and writes a fresh header with `key`. */
  reset(key: u32): void {
    memory.fill(this.base, 0, this.layout.size);
    store<u32>(this.base, MAGIC);
    store<u32>(this.base, VERSION, 4);
    store<u32>(this.base, key, 8);
    store<u8>(this.classPtr(0), 1); // class 0, "other", always exists (empty name)
  }

  /** True when `bytes` is a block of this layout written under `key` (checked before any read). */
  accepts(bytes: ArrayBuffer, key: u32): bool {
    if (<usize>bytes.byteLength != this.layout.size) return false;
    const p = changetype<usize>(bytes);
    return load<u32>(p) == MAGIC && load<u32>(p, 4) == VERSION && load<u32>(p, 8) == key;
  }

  /** Copies `bytes` (already checked with `accepts`) over this block. */
  copyFrom(bytes: ArrayBuffer): void { memory.copy(this.base, changetype<usize>(bytes), this.layout.size); }

  /** Copies another table of the same layout over this block. */
  copyTable(other: Table): void { memory.copy(this.base, other.base, this.layout.size); }

  // ===== header =====

  get lastDiscoveryNs(): u64 { return load<u64>(this.base, 16); }
  set lastDiscoveryNs(v: u64) { store<u64>(this.base, v, 16); }
  get writes(): u64 { return load<u64>(this.base, 24); }
  set writes(v: u64) { store<u64>(this.base, v, 24); }

  // ===== clusters =====

  clusterPtr(i: i32): usize { return this.base + this.layout.clusters + <usize>i * CLUSTER_REC; }
  clusterUsed(i: i32): bool { return load<u8>(this.clusterPtr(i)) != 0; }
  clusterNameLen(i: i32): i32 { return <i32>load<u16>(this.clusterPtr(i), 2); }
  clusterNamePtr(i: i32): usize { return this.clusterPtr(i) + 4; }
  setCluster(i: i32, name: usize, len: i32): void {
    const p = this.clusterPtr(i);
    memory.fill(p, 0, CLUSTER_REC);
    store<u8>(p, 1);
    store<u16>(p, <u16>len, 2);
    memory.copy(p + 4, name, <usize>len);
  }

  // ===== classes =====

  classPtr(i: i32): usize { return this.base + this.layout.classes + <usize>i * CLASS_REC; }
  classUsed(i: i32): bool { return load<u8>(this.classPtr(i)) != 0; }
  classStreaming(i: i32): bool { return load<u8>(this.classPtr(i), 1) != 0; }
  setClassStreaming(i: i32, v: bool): void { store<u8>(this.classPtr(i), v ? 1 : 0, 1); }
  classNameLen(i: i32): i32 { return <i32>load<u16>(this.classPtr(i), 2); }
  classNamePtr(i: i32): usize { return this.classPtr(i) + 16; }
  classBaseline(i: i32): f64 { return load<f64>(this.classPtr(i), 8); }
  setClassBaseline(i: i32, v: f64): void { store<f64>(this.classPtr(i), v, 8); }
  setClass(i: i32, name: usize, len: i32, streaming: bool): void {
    const p = this.classPtr(i);
    memory.fill(p, 0, CLASS_REC);
    store<u8>(p, 1);
    store<u8>(p, streaming ? 1 : 0, 1);
    store<u16>(p, <u16>len, 2);
    memory.copy(p + 16, name, <usize>len);
  }

  // ===== endpoints =====

  endpointPtr(i: i32): usize { return this.base + this.layout.endpoints + <usize>i * ENDPOINT_REC; }
  used(i: i32): bool { return load<u8>(this.endpointPtr(i)) != 0; }
  flags(i: i32): u8 { return load<u8>(this.endpointPtr(i), 1); }
  setFlags(i: i32, f: u8): void { store<u8>(this.endpointPtr(i), f, 1); }
  cluster(i: i32): i32 { return <i32>load<u16>(this.endpointPtr(i), 2); }
  gen(i: i32): u16 { return load<u16>(this.endpointPtr(i), 4); }
  addressLen(i: i32): i32 { return <i32>load<u8>(this.endpointPtr(i), 6); }
  addressPtr(i: i32): usize { return this.endpointPtr(i) + 8; }
  ratio(i: i32): f64 { return load<f64>(this.endpointPtr(i), 64); }
  ratioAt(i: i32): u64 { return load<u64>(this.endpointPtr(i), 72); }
  setRatio(i: i32, est: f64, at: u64): void {
    const p = this.endpointPtr(i);
    store<f64>(p, est, 64);
    store<u64>(p, at, 72);
  }
  firstSeen(i: i32): u64 { return load<u64>(this.endpointPtr(i), 80); }
  /** Restarts the endpoint's slow start (it became usable again). */
  setFirstSeen(i: i32, t: u64): void { store<u64>(this.endpointPtr(i), t, 80); }
  lastSeen(i: i32): u64 { return load<u64>(this.endpointPtr(i), 88); }
  setLastSeen(i: i32, t: u64): void { store<u64>(this.endpointPtr(i), t, 88); }
  orcaWeight(i: i32): f64 { return load<f64>(this.endpointPtr(i), 96); }
  orcaFirst(i: i32): u64 { return load<u64>(this.endpointPtr(i), 104); }
  orcaLast(i: i32): u64 { return load<u64>(this.endpointPtr(i), 112); }
  setOrca(i: i32, weight: f64, first: u64, last: u64): void {
    const p = this.endpointPtr(i);
    store<f64>(p, weight, 96);
    store<u64>(p, first, 104);
    store<u64>(p, last, 112);
  }

  /** Claims free slot `i` for `address` of cluster `cluster`; the generation is kept. */
  claimEndpoint(i: i32, cluster: i32, address: usize, len: i32, flags: u8, now: u64, initialRatio: f64): void {
    const p = this.endpointPtr(i);
    const gen = load<u16>(p, 4);
    memory.fill(p, 0, ENDPOINT_REC);
    store<u8>(p, 1);
    store<u8>(p, flags, 1);
    store<u16>(p, <u16>cluster, 2);
    store<u16>(p, gen, 4);
    store<u8>(p, <u8>len, 6);
    memory.copy(p + 8, address, <usize>len);
    store<f64>(p, initialRatio, 64);
    store<u64>(p, now, 72);
    store<u64>(p, now, 80);
    store<u64>(p, now, 88);
    this.clearColumn(i);
  }

  /** Frees slot `i`: a new generation, its cells and every VM's in-flight count cleared. */
  freeEndpoint(i: i32): void {
    const p = this.endpointPtr(i);
    const gen = load<u16>(p, 4);
    memory.fill(p, 0, ENDPOINT_REC);
    store<u16>(p, gen + 1, 4);
    this.clearColumn(i);
  }

  private clearColumn(e: i32): void {
    for (let c = 0, n = this.dims.classes; c < n; c++) memory.fill(this.cellPtr(c, e), 0, CELL);
    for (let v = 0, n = this.dims.vms; v < n; v++) store<i32>(this.inflightPtr(v, e), 0);
  }

  // ===== cells: per (class, endpoint) latency =====

  cellPtr(c: i32, e: i32): usize {
    return this.base + this.layout.cells + (<usize>c * <usize>this.layout.dims.endpoints + <usize>e) * CELL;
  }
  cellEst(c: i32, e: i32): f64 { return load<f64>(this.cellPtr(c, e)); }
  cellAt(c: i32, e: i32): u64 { return load<u64>(this.cellPtr(c, e), 8); }
  setCell(c: i32, e: i32, est: f64, at: u64): void {
    const p = this.cellPtr(c, e);
    store<f64>(p, est);
    store<u64>(p, at, 8);
  }
  clearClassCells(c: i32): void {
    memory.fill(this.cellPtr(c, 0), 0, <usize>this.dims.endpoints * CELL);
  }

  // ===== VMs and their in-flight counts =====

  vmPtr(v: i32): usize { return this.base + this.layout.vms + <usize>v * VM_REC; }
  vmId(v: i32): u64 { return load<u64>(this.vmPtr(v)); }
  vmLastFold(v: i32): u64 { return load<u64>(this.vmPtr(v), 8); }
  setVm(v: i32, id: u64, lastFold: u64): void {
    store<u64>(this.vmPtr(v), id);
    store<u64>(this.vmPtr(v), lastFold, 8);
  }
  inflightPtr(v: i32, e: i32): usize {
    return this.base + this.layout.inflight + (<usize>v * <usize>this.layout.dims.endpoints + <usize>e) * 4;
  }
  inflight(v: i32, e: i32): i32 { return load<i32>(this.inflightPtr(v, e)); }
  setInflight(v: i32, e: i32, n: i32): void { store<i32>(this.inflightPtr(v, e), n); }
  /** Frees VM row `v` and its in-flight counts. */
  clearVm(v: i32): void {
    this.setVm(v, 0, 0);
    memory.fill(this.inflightPtr(v, 0), 0, <usize>this.dims.endpoints * 4);
  }
}

/** FNV-1a over `len` bytes at `ptr`, seeded with `seed`. */
export function hashBytes(seed: u32, ptr: usize, len: i32): u32 {
  let h: u32 = seed ^ 0x811c9dc5;
  for (let i = 0; i < len; i++) h = (h ^ <u32>load<u8>(ptr + <usize>i)) * 0x01000193;
  return h;
}

/** True when the `len` bytes at `a` and `b` are equal. */
// @ts-ignore: decorator
@inline export function sameBytes(a: usize, aLen: i32, b: usize, bLen: i32): bool {
  return aLen == bLen && (aLen == 0 || memory.compare(a, b, <usize>aLen) == 0);
}
