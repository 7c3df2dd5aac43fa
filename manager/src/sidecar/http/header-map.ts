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

export class HeaderMap {
  private entries: HeaderPair[] = [];

  constructor(pairs?: Iterable<HeaderPair>) {
    if (pairs) for (const [k, v] of pairs) this.add(k, v);
  }

  /** Number of entries (a key that repeats counts once per value). */
  get size(): number {
    return this.entries.length;
  }

  get(name: string): string | undefined {
    const key = name.toLowerCase();
    for (const [k, v] of this.entries) if (k === key) return v;
    return undefined;
  }

  getAll(name: string): string[] {
    const key = name.toLowerCase();
    return this.entries.filter(([k]) => k === key).map(([, v]) => v);
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  add(name: string, value: string): void {
    const key = name.toLowerCase();
    if (key.startsWith(":")) {
      // Pseudo-headers stay ahead of regular headers.
      let i = 0;
      while (i < this.entries.length && this.entries[i]![0].startsWith(":")) i++;
      this.entries.splice(i, 0, [key, value]);
    } else {
      this.entries.push([key, value]);
    }
  }

  /** Removes every value of `name`, then appends one (Envoy `setCopy`). */
  setCopy(name: string, value: string): void {
    this.remove(name);
    this.add(name, value);
  }

  remove(name: string): void {
    const key = name.toLowerCase();
    this.entries = this.entries.filter(([k]) => k !== key);
  }

  clear(): void {
    this.entries = [];
  }

  /** Replaces the whole content (proxy_set_header_map_pairs). */
  replaceAll(pairs: Iterable<HeaderPair>): void {
    this.entries = [];
    for (const [k, v] of pairs) this.add(k, v);
  }

  /** Envoy's byteSize(): sum of key and value lengths in bytes. */
  byteSize(): number {
    let n = 0;
    for (const [k, v] of this.entries) n += encoder.encode(k).length + encoder.encode(v).length;
    return n;
  }

  pairs(): HeaderPair[] {
    return this.entries.map(([k, v]) => [k, v]);
  }

  [Symbol.iterator](): Iterator<HeaderPair> {
    return this.pairs()[Symbol.iterator]();
  }

  clone(): HeaderMap {
    return new HeaderMap(this.entries);
  }

  /** Multi-values joined with "," as Envoy's `request.headers` attribute shows them. */
  toJoinedRecord(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of this.entries) out[k] = k in out ? `${out[k]},${v}` : v;
    return out;
  }
}
