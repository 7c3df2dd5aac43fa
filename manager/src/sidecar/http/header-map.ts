/**
 * An HTTP header map with Envoy's semantics (envoy/http/header_map.h), shared by the
 * proxy-wasm host and the data plane.
 *
 * - Keys are stored lower-cased; order of insertion is kept, except that pseudo-headers
 *   (":authority", ":path", ":method", ":scheme", ":status", ...) always come first.
 * - `get` returns the first value only; `getAll` every value.
 * - `add` appends a value (a key may repeat); `setCopy` removes every existing value and
 *   appends one (current Envoy's `setCopy`); `remove` drops every value of a key.
 * - `byteSize` is Envoy's `byteSize()`: the sum of key and value lengths in bytes.
 */
export type HeaderPair = [name: string, value: string];

const encoder = new TextEncoder();

/** UTF-8 length of `s`: its length when every char is ASCII (the common case), else encoded. */
function utf8Length(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return encoder.encode(s).length;
  return s.length;
}

const isPseudo = (key: string): boolean => key.charCodeAt(0) === 58; /* ":" */

export class HeaderMap {
  private entries: HeaderPair[] = [];
  /** How many entries at the front are pseudo-headers (they always come first). */
  private pseudoCount = 0;

  constructor(pairs?: Iterable<HeaderPair>) {
    if (pairs) for (const [k, v] of pairs) this.add(k, v);
  }

  /** Number of entries (a key that repeats counts once per value). */
  get size(): number {
    return this.entries.length;
  }

  get(name: string): string | undefined {
    const key = name.toLowerCase();
    const entries = this.entries;
    for (let i = 0; i < entries.length; i++) if (entries[i]![0] === key) return entries[i]![1];
    return undefined;
  }

  getAll(name: string): string[] {
    const key = name.toLowerCase();
    const out: string[] = [];
    for (const [k, v] of this.entries) if (k === key) out.push(v);
    return out;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  add(name: string, value: string): void {
    const key = name.toLowerCase();
    if (!isPseudo(key)) {
      this.entries.push([key, value]);
    } else if (this.pseudoCount === this.entries.length) {
      this.entries.push([key, value]);
      this.pseudoCount++;
    } else {
      // Pseudo-headers stay ahead of regular headers.
      this.entries.splice(this.pseudoCount++, 0, [key, value]);
    }
  }

  /** Removes every value of `name`, then appends one (Envoy `setCopy`). */
  setCopy(name: string, value: string): void {
    this.remove(name);
    this.add(name, value);
  }

  remove(name: string): void {
    const key = name.toLowerCase();
    const entries = this.entries;
    let out = 0;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (e[0] !== key) entries[out++] = e;
    }
    if (out === entries.length) return;
    if (isPseudo(key)) this.pseudoCount -= entries.length - out;
    entries.length = out;
  }

  /** Removes every value of each name in `names` (lower-case) in one pass over the map. */
  removeAll(names: ReadonlySet<string>): void {
    const entries = this.entries;
    let out = 0;
    let pseudoRemoved = 0;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (!names.has(e[0])) entries[out++] = e;
      else if (isPseudo(e[0])) pseudoRemoved++;
    }
    this.pseudoCount -= pseudoRemoved;
    entries.length = out;
  }

  clear(): void {
    this.entries = [];
    this.pseudoCount = 0;
  }

  /** Replaces the whole content (proxy_set_header_map_pairs). */
  replaceAll(pairs: Iterable<HeaderPair>): void {
    this.clear();
    for (const [k, v] of pairs) this.add(k, v);
  }

  /** Envoy's byteSize(): sum of key and value lengths in bytes. */
  byteSize(): number {
    let n = 0;
    for (const [k, v] of this.entries) n += utf8Length(k) + utf8Length(v);
    return n;
  }

  pairs(): HeaderPair[] {
    return this.entries.map(([k, v]) => [k, v]);
  }

  /**
   * The entries themselves, in order, without copying: for callers that only read them
   * before the next change to this map (header serialization on the hot path).
   */
  view(): ReadonlyArray<Readonly<HeaderPair>> {
    return this.entries;
  }

  [Symbol.iterator](): Iterator<HeaderPair> {
    return this.pairs()[Symbol.iterator]();
  }

  clone(): HeaderMap {
    const copy = new HeaderMap();
    // Entries are never changed in place (only added and removed), so the copy shares them.
    copy.entries = this.entries.slice();
    copy.pseudoCount = this.pseudoCount;
    return copy;
  }

  /** Multi-values joined with "," as Envoy's `request.headers` attribute shows them. */
  toJoinedRecord(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of this.entries) out[k] = k in out ? `${out[k]},${v}` : v;
    return out;
  }
}
