/**
 * The request headers grpc-auth reads, taken in one host call (proxy_get_header_map_pairs) and
 * scanned in place: no string is built for a header the policy does not name.
 *
 * `HeaderNames` is built once at configure time from every name the filter needs (":path",
 * "content-type", the credential headers, the headers of conditions), as an open-addressing table
 * keyed by FNV-1a of the name's bytes; `RequestHeaders.scan` walks the pairs buffer (proxy-wasm
 * "pairs" serialization, filters/sdk/pairs.ts), and for each name records how many times it
 * occurs and where its first value is — so per request the work is one hash per header, whatever
 * the number of names. Values of a name that occurs more than once are joined with "," on demand
 * (Envoy's getAllOfHeaderAsString, what its RBAC header matcher reads).
 *
 * A malformed pairs buffer (it comes from the host) reads as no headers. Never traps.
 */
import * as abi from "../../sdk/abi/imports";
import { RET0, RET1, takeBuffer } from "../../sdk/abi/memory";

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

/** One request's headers: the pairs buffer and, per configured name, its count and first value. */
export class RequestHeaders {
  buffer: ArrayBuffer = new ArrayBuffer(0);
  /** Per name: occurrences, and the first value's offset and length in `buffer`. */
  readonly counts: StaticArray<i32>;
  readonly offsets: StaticArray<i32>;
  readonly lengths: StaticArray<i32>;

  constructor(readonly names: HeaderNames) {
    const n = names.size;
    this.counts = new StaticArray<i32>(n);
    this.offsets = new StaticArray<i32>(n);
    this.lengths = new StaticArray<i32>(n);
  }

  /** Reads the request header map from the host and indexes it; false when unavailable. */
  load(): bool {
    store<u32>(RET0, 0);
    store<u32>(RET1, 0);
    if (abi.proxy_get_header_map_pairs(abi.MapType.RequestHeaders, RET0, RET1) != abi.WasmResult.Ok) return false;
    const ptr = <usize>load<u32>(RET0);
    if (ptr == 0) return false;
    this.scan(takeBuffer(ptr, <usize>load<u32>(RET1)));
    return true;
  }

  /** Indexes a pairs buffer; a malformed one leaves every count at 0. */
  scan(buffer: ArrayBuffer): void {
    this.buffer = buffer;
    const counts = this.counts;
    for (let i = 0, n = counts.length; i < n; i++) unchecked(counts[i] = 0);
    const base = changetype<usize>(buffer);
    const len = <usize>buffer.byteLength;
    if (len < 4) return;
    const n = <usize>load<u32>(base);
    if (n == 0 || n > (len - 4) / 8) return;
    let data = base + 4 + n * 8;
    const end = base + len;
    for (let i: usize = 0; i < n; i++) {
      const klen = <usize>load<u32>(base + 4 + i * 8);
      const vlen = <usize>load<u32>(base + 8 + i * 8);
      if (klen > end - data || vlen > end - data - klen || end - data - klen - vlen < 2) { this.clear(); return; }
      const index = this.names.find(data, klen);
      if (index >= 0) {
        const c = unchecked(counts[index]);
        if (c == 0) {
          unchecked(this.offsets[index] = <i32>(data + klen + 1 - base));
          unchecked(this.lengths[index] = <i32>vlen);
        }
        unchecked(counts[index] = c + 1);
      }
      data += klen + vlen + 2;
    }
  }

  private clear(): void {
    for (let i = 0, n = this.counts.length; i < n; i++) unchecked(this.counts[i] = 0);
  }

  count(index: i32): i32 { return unchecked(this.counts[index]); }
  offset(index: i32): i32 { return unchecked(this.offsets[index]); }
  length(index: i32): i32 { return unchecked(this.lengths[index]); }

  /** True when the first value is plain ASCII (no byte >= 0x80). */
  firstIsAscii(index: i32): bool {
    const p = changetype<usize>(this.buffer) + <usize>unchecked(this.offsets[index]);
    for (let i: usize = 0, n = <usize>unchecked(this.lengths[index]); i < n; i++) if (load<u8>(p + i) >= 0x80) return false;
    return true;
  }

  /** The first value as a string (UTF-8 decoded), or null when absent. */
  first(index: i32): string | null {
    if (unchecked(this.counts[index]) == 0) return null;
    return String.UTF8.decodeUnsafe(changetype<usize>(this.buffer) + <usize>unchecked(this.offsets[index]), <usize>unchecked(this.lengths[index]));
  }

  /** Every value of the name joined with ",", as bytes; null when absent. */
  joined(index: i32): ArrayBuffer | null {
    const c = unchecked(this.counts[index]);
    if (c == 0) return null;
    const base = changetype<usize>(this.buffer);
    if (c == 1) {
      const out = new ArrayBuffer(unchecked(this.lengths[index]));
      memory.copy(changetype<usize>(out), base + <usize>unchecked(this.offsets[index]), <usize>out.byteLength);
      return out;
    }
    const name = unchecked(this.names.names[index]);
    const n = <usize>load<u32>(base);
    let total: usize = 0;
    let data = base + 4 + n * 8;
    for (let pass = 0; pass < 2; pass++) {
      const out = pass == 1 ? new ArrayBuffer(<i32>total) : changetype<ArrayBuffer>(0);
      let at: usize = 0;
      data = base + 4 + n * 8;
      let seen = 0;
      for (let i: usize = 0; i < n; i++) {
        const klen = <usize>load<u32>(base + 4 + i * 8);
        const vlen = <usize>load<u32>(base + 8 + i * 8);
        if (klen == <usize>name.byteLength && memory.compare(data, changetype<usize>(name), klen) == 0) {
          if (pass == 0) total += vlen + (seen > 0 ? 1 : 0);
          else {
            if (seen > 0) { store<u8>(changetype<usize>(out) + at, 0x2c); at++; }
            memory.copy(changetype<usize>(out) + at, data + klen + 1, vlen);
            at += vlen;
          }
          seen++;
        }
        data += klen + vlen + 2;
      }
      if (pass == 1) return out;
    }
    return null;
  }
}
