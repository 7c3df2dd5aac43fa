/**
 * The request headers grpc-auth reads, one name at a time, without the whole header map: no
 * string is built and nothing is allocated per request.
 *
 * `HeaderNames` is built once at configure time from every name the filter needs (":path", the
 * credential headers, the headers of conditions), as an open-addressing table keyed by FNV-1a of
 * the name's bytes (methods.ts uses the same table for method keys).
 *
 * `RequestHeaders.load` reads each name through the property `request.headers.<name>`: Envoy
 * answers it with its CEL HeadersWrapper (source/extensions/filters/common/expr/context.h), which
 * returns `HeaderUtility::getAllOfHeaderAsString` — the only value of a name that occurs once,
 * every value joined with "," when it repeats (what Envoy's RBAC header matcher reads); NotFound
 * when absent. A repeated credential must be refused, so the occurrences matter: k >= 2 values
 * joined contain at least one ",", so a joined value without "," is the single value; one with
 * "," is compared with `proxy_get_header_map_value` (Envoy: the FIRST value only) — the same
 * length means one value that contains ",", a shorter first value means a repeated name. Counts
 * are therefore 0, 1, or 2 for "more than one".
 *
 * Each result lands in the SDK's static view block (abi/memory.ts) and is copied into a buffer
 * kept per name, grown only when a longer value arrives. A host answer that cannot be read
 * counts the name as absent (as a malformed header map did before). Never traps.
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
  /** Per name: the property path "request\0headers\0<name>". */
  private readonly paths: StaticArray<ArrayBuffer>;

  constructor(readonly names: HeaderNames) {
    const n = names.size;
    this.counts = new StaticArray<i32>(n);
    this.lengths = new StaticArray<i32>(n);
    this.values = new StaticArray<ArrayBuffer>(n);
    this.paths = new StaticArray<ArrayBuffer>(n);
    const prefix = String.UTF8.encode("request\0headers\0");
    const plen = prefix.byteLength;
    for (let i = 0; i < n; i++) {
      const name = unchecked(names.names[i]);
      const path = new ArrayBuffer(plen + name.byteLength);
      memory.copy(changetype<usize>(path), changetype<usize>(prefix), <usize>plen);
      memory.copy(changetype<usize>(path) + <usize>plen, changetype<usize>(name), <usize>name.byteLength);
      unchecked(this.paths[i] = path);
      unchecked(this.values[i] = new ArrayBuffer(64));
    }
  }

  /** Reads every configured name of the current request. */
  load(): void {
    for (let i = 0, n = this.counts.length; i < n; i++) this.read(i);
  }

  count(index: i32): i32 { return unchecked(this.counts[index]); }
  length(index: i32): i32 { return unchecked(this.lengths[index]); }
  /** The buffer holding the value (from offset 0; valid until the next `load`). */
  value(index: i32): ArrayBuffer { return unchecked(this.values[index]); }
  /** Where the value's bytes are. */
  ptr(index: i32): usize { return changetype<usize>(unchecked(this.values[index])); }

  private read(i: i32): void {
    unchecked(this.counts[i] = 0);
    unchecked(this.lengths[i] = 0);
    const path = unchecked(this.paths[i]);
    const len = viewCall(abi.proxy_get_property(changetype<usize>(path), <usize>path.byteLength, armedOut(), RET1));
    if (len < 0) return;
    let buf = unchecked(this.values[i]);
    if (<isize>buf.byteLength < len) {
      buf = new ArrayBuffer(<i32>max<isize>(len, <isize>buf.byteLength * 2));
      unchecked(this.values[i] = buf);
    }
    const at = <usize>load<u32>(RET0);
    if (len > 0) memory.copy(changetype<usize>(buf), at, <usize>len);
    releaseView();
    unchecked(this.lengths[i] = <i32>len);
    unchecked(this.counts[i] = 1);
    if (!hasComma(changetype<usize>(buf), <usize>len)) return;
    const name = unchecked(this.names.names[i]);
    const first = viewCall(abi.proxy_get_header_map_value(abi.MapType.RequestHeaders, changetype<usize>(name), <usize>name.byteLength,
      armedOut(), RET1));
    releaseView();
    // A first value as long as the joined one is the only value; anything else (shorter, or an
    // answer that cannot be read) counts as repeated, which refuses a credential.
    if (first != len) unchecked(this.counts[i] = 2);
  }
}

function hasComma(ptr: usize, len: usize): bool {
  for (let i: usize = 0; i < len; i++) if (load<u8>(ptr + i) == 0x2c) return true;
  return false;
}
