/**
 * The proxy-wasm header-map ("pairs") serialization (spec "Serialization";
 * proxy-wasm-cpp-host src/pairs_util.cc).
 *
 * Layout, all integers little-endian u32:
 *   count, count x (key_len, value_len), count x (key bytes, 0x00, value bytes, 0x00)
 *
 * - `encodePairs` of an empty list is a zero-length array (the host then returns ptr=0,len=0).
 * - `decodePairs` follows `PairsUtil::toPairs`: it checks every NUL terminator and that the
 *   data ends exactly at the end of the buffer, and enforces the host limits (1 MiB, 1024
 *   pairs). Malformed or oversized input decodes silently to an empty list, as in Envoy.
 * Keys and values are UTF-8; invalid UTF-8 is decoded with U+FFFD replacement.
 */
import type { HeaderPair } from "../http/header-map.ts";

/** PROXY_WASM_HOST_PAIRS_MAX_BYTES (include/proxy-wasm/limits.h). */
export const PAIRS_MAX_BYTES = 1024 * 1024;
/** PROXY_WASM_HOST_PAIRS_MAX_COUNT (include/proxy-wasm/limits.h). */
export const PAIRS_MAX_COUNT = 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8");

/** Serializes raw byte pairs (used for maps whose values are not text, e.g. property maps). */
export function encodeBytePairs(pairs: Array<[Uint8Array, Uint8Array]>): Uint8Array {
  if (pairs.length === 0) return new Uint8Array(0);
  let size = 4;
  for (const [k, v] of pairs) size += 8 + k.length + v.length + 2;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, pairs.length, true);
  let pos = 4;
  for (const [k, v] of pairs) {
    view.setUint32(pos, k.length, true);
    view.setUint32(pos + 4, v.length, true);
    pos += 8;
  }
  for (const [k, v] of pairs) {
    out.set(k, pos);
    pos += k.length;
    out[pos++] = 0;
    out.set(v, pos);
    pos += v.length;
    out[pos++] = 0;
  }
  return out;
}

/** True when every UTF-16 unit of `s` is ASCII (so its UTF-8 bytes are its char codes). */
function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

function putU32(out: Uint8Array, pos: number, n: number): void {
  out[pos] = n;
  out[pos + 1] = n >>> 8;
  out[pos + 2] = n >>> 16;
  out[pos + 3] = n >>> 24;
}

/**
 * The serialized size of all-ASCII text pairs (what HTTP/2 headers are in practice), or -1 when a
 * key or value is not ASCII (its UTF-8 bytes are then not its char codes).
 */
export function asciiPairsSize(pairs: ReadonlyArray<Readonly<HeaderPair>>): number {
  const n = pairs.length;
  if (n === 0) return 0;
  let size = 4;
  for (let j = 0; j < n; j++) {
    const p = pairs[j]!;
    const k = p[0];
    const v = p[1];
    if (!isAscii(k) || !isAscii(v)) return -1;
    size += 8 + k.length + v.length + 2;
  }
  return size;
}

/**
 * Writes all-ASCII pairs (asciiPairsSize > 0) at `out[pos]`, NUL terminators included (`out`
 * need not be zero-filled: it may be guest memory).
 */
export function writeAsciiPairs(pairs: ReadonlyArray<Readonly<HeaderPair>>, out: Uint8Array, pos: number): void {
  const n = pairs.length;
  putU32(out, pos, n);
  pos += 4;
  for (let j = 0; j < n; j++) {
    const p = pairs[j]!;
    putU32(out, pos, p[0].length);
    putU32(out, pos + 4, p[1].length);
    pos += 8;
  }
  for (let j = 0; j < n; j++) {
    const p = pairs[j]!;
    const k = p[0];
    const v = p[1];
    for (let i = 0; i < k.length; i++) out[pos++] = k.charCodeAt(i);
    out[pos++] = 0;
    for (let i = 0; i < v.length; i++) out[pos++] = v.charCodeAt(i);
    out[pos++] = 0;
  }
}

/** Scratch for `encodeAsciiPairsScratch` (grown on demand). */
let pairsScratch = new Uint8Array(1024);

/**
 * All-ASCII pairs serialized in one pass (each char checked as it is written) into a shared
 * scratch array: a view valid until the next call, or undefined when a key or value is not ASCII.
 */
export function encodeAsciiPairsScratch(pairs: ReadonlyArray<Readonly<HeaderPair>>): Uint8Array | undefined {
  const n = pairs.length;
  let size = 4;
  for (let j = 0; j < n; j++) {
    const p = pairs[j]!;
    size += 10 + p[0].length + p[1].length;
  }
  if (size > pairsScratch.length) pairsScratch = new Uint8Array(Math.max(size, pairsScratch.length * 2));
  const out = pairsScratch;
  putU32(out, 0, n);
  let pos = 4;
  for (let j = 0; j < n; j++) {
    const p = pairs[j]!;
    putU32(out, pos, p[0].length);
    putU32(out, pos + 4, p[1].length);
    pos += 8;
  }
  let high = 0;
  for (let j = 0; j < n; j++) {
    const p = pairs[j]!;
    const k = p[0];
    const v = p[1];
    for (let i = 0; i < k.length; i++) {
      const c = k.charCodeAt(i);
      high |= c;
      out[pos++] = c;
    }
    out[pos++] = 0;
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      high |= c;
      out[pos++] = c;
    }
    out[pos++] = 0;
  }
  return high > 0x7f ? undefined : out.subarray(0, size);
}

/**
 * Serializes text pairs as UTF-8. All-ASCII maps are written directly, without a TextEncoder
 * call per string (about 1 µs each in Node); anything else goes through TextEncoder (lone
 * surrogates become U+FFFD), with identical bytes either way.
 */
export function encodePairs(pairs: ReadonlyArray<Readonly<HeaderPair>>): Uint8Array {
  const size = asciiPairsSize(pairs);
  if (size < 0) return encodeBytePairs(pairs.map(([a, b]) => [encoder.encode(a), encoder.encode(b)]));
  if (size === 0) return new Uint8Array(0);
  const out = new Uint8Array(size);
  writeAsciiPairs(pairs, out, 0);
  return out;
}

/** Decodes to raw byte pairs; [] for malformed or oversized input. */
export function decodeBytePairs(bytes: Uint8Array): Array<[Uint8Array, Uint8Array]> {
  const end = bytes.length;
  if (end === 0 || end > PAIRS_MAX_BYTES) return [];
  if (end < 4) return [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(0, true);
  if (count > PAIRS_MAX_COUNT) return [];
  let pos = 4;
  if (pos + count * 8 > end) return [];
  const sizes: Array<[number, number]> = [];
  for (let i = 0; i < count; i++) {
    sizes.push([view.getUint32(pos, true), view.getUint32(pos + 4, true)]);
    pos += 8;
  }
  const out: Array<[Uint8Array, Uint8Array]> = [];
  for (const [klen, vlen] of sizes) {
    if (pos + klen + 1 > end) return [];
    const key = bytes.subarray(pos, pos + klen);
    pos += klen;
    if (bytes[pos++] !== 0) return [];
    if (pos + vlen + 1 > end) return [];
    const value = bytes.subarray(pos, pos + vlen);
    pos += vlen;
    if (bytes[pos++] !== 0) return [];
    out.push([key, value]);
  }
  if (pos !== end) return [];
  return out;
}

export function decodePairs(bytes: Uint8Array): HeaderPair[] {
  return decodeBytePairs(bytes).map(([k, v]) => [decoder.decode(k), decoder.decode(v)]);
}
