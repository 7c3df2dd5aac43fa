/**
 * The request headers grpc-auth reads, from one read of the header map per request: no string is
 * built and nothing is allocated per request.
 *
 * `HeaderNames` is built once at configure time from every name the filter needs (":path", the
 * credential headers, the headers of conditions), as an open-addressing table keyed by FNV-1a of
 * the name's bytes (methods.ts uses the same table for method keys).
 *
 * `RequestHeaders.load` reads the whole request header map with one `proxy_get_header_map_pairs`
 * (Envoy: every entry, pseudo-headers included, names lower-case as Envoy's header map keeps them)
 * and keeps, per configured name, how often it occurs (0, 1, or 2 for "more than once": a
 * repeated credential must be refused) and its value: the only value of a name that occurs once,
 * every value joined with "," when it repeats — what Envoy's `request.headers.<name>` attribute
 * (HeaderUtility::getAllOfHeaderAsString) and its RBAC header matcher read.
 *
 * The map lands in the SDK's static view block (abi/memory.ts); each value is copied into a
 * buffer kept per name, grown only when a longer value arrives. A map that cannot be read (or
 * whose encoding is malformed) leaves every name absent — so `:path` is missing and the request
 * is denied. Never traps.
 */
import * as abi from "../../sdk/abi/imports";
import { releaseView, RET0, RET1 } from "../../sdk/abi/memory";
import { armedOut, viewCall } from "./host";

/** FNV-1a over `len` bytes at `ptr`. */
export function fnv1a(ptr: usize, len: usize): u32 {
  let h: u32 = 0x811c9dc5;
  for (let i: usize = 0; i < len; i++) h = (h ^ <u32>load<u8>(ptr + i)) * 0x01000193;
  return h;
}

export class HeaderNames {
  readonly names: Array<ArrayBuffer> = [];
  private slots: StaticArray<i32> = new StaticArray<i32>(16);

  constructor() {
    for (let i = 0; i < 16; i++) unchecked(this.slots[i] = -1);
  }

  /** The index of `name` (lower-case), adding it when new. */
  add(name: string): i32 {
    const bytes = String.UTF8.encode(name);
    const found = this.find(changetype<usize>(bytes), <usize>bytes.byteLength);
    if (found >= 0) return found;
    const index = this.names.length;
    this.names.push(bytes);
    if ((index + 1) * 2 > this.slots.length) this.rebuild(this.slots.length * 2);
    else this.insert(index);
    return index;
  }

  get size(): i32 { return this.names.length; }

  /** Index of the name with these bytes, or -1. */
  find(ptr: usize, len: usize): i32 {
    const mask = this.slots.length - 1;
    let i = <i32>(fnv1a(ptr, len) & <u32>mask);
    while (true) {
      const e = unchecked(this.slots[i]);
      if (e < 0) return -1;
      const n = unchecked(this.names[e]);
      if (<usize>n.byteLength == len && memory.compare(changetype<usize>(n), ptr, len) == 0) return e;
      i = (i + 1) & mask;
    }
  }

  private insert(index: i32): void {
    const n = unchecked(this.names[index]);
    const mask = this.slots.length - 1;
    let i = <i32>(fnv1a(changetype<usize>(n), <usize>n.byteLength) & <u32>mask);
    while (unchecked(this.slots[i]) >= 0) i = (i + 1) & mask;
    unchecked(this.slots[i] = index);
  }

  private rebuild(capacity: i32): void {
    this.slots = new StaticArray<i32>(capacity);
    for (let i = 0; i < capacity; i++) unchecked(this.slots[i] = -1);
    for (let e = 0, n = this.names.length; e < n; e++) this.insert(e);
  }
}

/** Per configured name: how many times it occurs (0, 1, 2 = more) and its value (joined when repeated). */
export class RequestHeaders {
  /** Per name: 0 absent, 1 once, 2 more than once. */
  readonly counts: StaticArray<i32>;
  /** Per name: the length of the value in `values` (every value joined with "," when repeated). */
  readonly lengths: StaticArray<i32>;
  /** Per name: a buffer holding the value, reused from request to request. */
  private readonly values: StaticArray<ArrayBuffer>;

  constructor(readonly names: HeaderNames) {
    const n = names.size;
    this.counts = new StaticArray<i32>(n);
    this.lengths = new StaticArray<i32>(n);
    this.values = new StaticArray<ArrayBuffer>(n);
    for (let i = 0; i < n; i++) unchecked(this.values[i] = new ArrayBuffer(64));
  }

  /**
   * Reads every configured name of the current request from one `proxy_get_header_map_pairs`
   * (a view: nothing allocated unless a value outgrows its buffer). A map that cannot be read
   * whole leaves every name absent.
   */
  load(): void {
    const n = this.counts.length;
    memory.fill(changetype<usize>(this.counts), 0, <usize>n << 2);
    memory.fill(changetype<usize>(this.lengths), 0, <usize>n << 2);
    const len = viewCall(abi.proxy_get_header_map_pairs(abi.MapType.RequestHeaders, armedOut(), RET1));
    if (len > 0) this.scan(<usize>load<u32>(RET0), <usize>len);
    releaseView();
  }

  count(index: i32): i32 { return unchecked(this.counts[index]); }
  length(index: i32): i32 { return unchecked(this.lengths[index]); }
  /** The buffer holding the value (from offset 0; valid until the next `load`). */
  value(index: i32): ArrayBuffer { return unchecked(this.values[index]); }
  /** Where the value's bytes are. */
  ptr(index: i32): usize { return changetype<usize>(unchecked(this.values[index])); }

  /**
   * Walks the proxy-wasm pairs encoding (u32 count, count x (u32 key length, u32 value length),
   * then each key and value NUL-terminated), bounds checked as the SDK's decodePairs; a malformed
   * map leaves every name absent.
   */
  private scan(ptr: usize, len: usize): void {
    if (len < 4) return;
    const pairs = <usize>load<u32>(ptr);
    if (pairs > (len - 4) >> 3) return;
    let data = ptr + 4 + pairs * 8;
    const end = ptr + len;
    for (let p: usize = 0; p < pairs; p++) {
      const klen = <usize>load<u32>(ptr + 4 + p * 8);
      const vlen = <usize>load<u32>(ptr + 8 + p * 8);
      if (klen > end - data || vlen > end - data - klen || end - data - klen - vlen < 2 ||
          load<u8>(data + klen) != 0 || load<u8>(data + klen + 1 + vlen) != 0) {
        this.clear();
        return;
      }
      const i = this.names.find(data, klen);
      if (i >= 0) this.add(i, data + klen + 1, <i32>vlen);
      data += klen + vlen + 2;
    }
    if (data != end) this.clear();
  }

  private clear(): void {
    memory.fill(changetype<usize>(this.counts), 0, <usize>this.counts.length << 2);
    memory.fill(changetype<usize>(this.lengths), 0, <usize>this.lengths.length << 2);
  }

  /** One occurrence of name `i`: its value, or "," and its value after the earlier ones (as Envoy joins them). */
  private add(i: i32, at: usize, vlen: i32): void {
    const count = unchecked(this.counts[i]);
    const old = count > 0 ? unchecked(this.lengths[i]) + 1 : 0;
    const total = old + vlen;
    let buf = unchecked(this.values[i]);
    if (buf.byteLength < total) {
      const grown = new ArrayBuffer(max(total, buf.byteLength * 2));
      memory.copy(changetype<usize>(grown), changetype<usize>(buf), <usize>old);
      buf = grown;
      unchecked(this.values[i] = buf);
    }
    if (count > 0) store<u8>(changetype<usize>(buf) + <usize>(old - 1), 0x2c);
    memory.copy(changetype<usize>(buf) + <usize>old, at, <usize>vlen);
    unchecked(this.lengths[i] = total);
    unchecked(this.counts[i] = count > 0 ? 2 : 1);
  }
}
