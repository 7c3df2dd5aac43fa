/**
 * Header-map ("pairs") serialization of proxy-wasm (spec "Serialization", proxy-wasm-cpp-host
 * src/pairs_util.cc). All integers are little-endian u32:
 *
 *   ┌───────┬──────────────────────────────┬───────────────────────────────────────────┐
 *   │ count │ count × (key_len, value_len) │ count × (key bytes \0 value bytes \0)      │
 *   └───────┴──────────────────────────────┴───────────────────────────────────────────┘
 *
 * Decoding is defensive like the host's: a truncated or inconsistent buffer decodes to an empty
 * map instead of aborting, because header maps come from traffic.
 */

/** One header (or trailer / metadata) entry. Keys are lower-case as Envoy stores them. */
export class HeaderPair {
  constructor(public key: string, public value: string) {}
}

export type Headers = Array<HeaderPair>;

/** Serializes `pairs`; an empty map is encoded as a zero-length buffer (host reads (0,0)). */
export function encodePairs(pairs: Headers): ArrayBuffer {
  const n = pairs.length;
  if (n == 0) return new ArrayBuffer(0);
  let size: usize = 4 + <usize>n * 8;
  for (let i = 0; i < n; i++) {
    const p = unchecked(pairs[i]);
    size += <usize>String.UTF8.byteLength(p.key) + <usize>String.UTF8.byteLength(p.value) + 2;
  }
  const buf = new ArrayBuffer(<i32>size);
  const base = changetype<usize>(buf);
  store<u32>(base, n);
  let data = base + 4 + <usize>n * 8;
  for (let i = 0; i < n; i++) {
    const p = unchecked(pairs[i]);
    const k = String.UTF8.encodeUnsafe(changetype<usize>(p.key), p.key.length, data);
    store<u8>(data + k, 0);
    data += k + 1;
    const v = String.UTF8.encodeUnsafe(changetype<usize>(p.value), p.value.length, data);
    store<u8>(data + v, 0);
    data += v + 1;
    store<u32>(base + 4 + <usize>i * 8, <u32>k);
    store<u32>(base + 8 + <usize>i * 8, <u32>v);
  }
  return buf;
}

/** Decodes `len` bytes at `ptr`; malformed input yields an empty array. */
export function decodePairs(ptr: usize, len: usize): Headers {
  const out = new Array<HeaderPair>();
  if (ptr == 0 || len < 4) return out;
  const n = <usize>load<u32>(ptr);
  if (n == 0 || n > (len - 4) / 8) return out;
  let data = ptr + 4 + n * 8;
  const end = ptr + len;
  for (let i: usize = 0; i < n; i++) {
    const klen = <usize>load<u32>(ptr + 4 + i * 8);
    const vlen = <usize>load<u32>(ptr + 8 + i * 8);
    // Bounds first, in a form that cannot overflow, then both NUL terminators.
    if (klen > end - data || vlen > end - data - klen || end - data - klen - vlen < 2) return new Array<HeaderPair>();
    if (load<u8>(data + klen) != 0 || load<u8>(data + klen + 1 + vlen) != 0) return new Array<HeaderPair>();
    const key = String.UTF8.decodeUnsafe(data, klen);
    const value = String.UTF8.decodeUnsafe(data + klen + 1, vlen);
    out.push(new HeaderPair(key, value));
    data += klen + vlen + 2;
  }
  return data == end ? out : new Array<HeaderPair>();
}

/** First value of `key` (exact, lower-case match) in `pairs`, or null. */
export function findHeader(pairs: Headers | null, key: string): string | null {
  if (pairs === null) return null;
  for (let i = 0, n = pairs.length; i < n; i++) {
    const p = unchecked(pairs[i]);
    if (p.key == key) return p.value;
  }
  return null;
}
