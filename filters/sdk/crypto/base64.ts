/**
 * Base64 (RFC 4648 §4) and base64url (RFC 4648 §5), strict and canonical.
 *
 * - base64url, as JWS/JWK use it (RFC 7515 §2, RFC 7517): no padding; a '=' is an error.
 * - base64 (standard alphabet): padding required (RFC 4648 §3.2), as in `Basic` credentials.
 * - Decoding accepts only the canonical encoding (RFC 4648 §3.5): no characters outside the
 *   alphabet (no whitespace), no length of 4k+1, and the unused low bits of the last character
 *   must be zero — so every byte string has exactly one accepted text, and a token cannot be
 *   altered without changing its bytes.
 * - Sources are byte ranges (ArrayBuffer, offset, length) or substrings (UTF-16 code units; any
 *   unit above 0x7f is invalid), decoded in place without an intermediate copy.
 *
 * Contract: never traps. Ranges are checked first; invalid input returns -1 or null. `*Into`
 * forms never allocate; they return the number of bytes written, or -1 (bad range, invalid
 * text, output too small — in which case nothing past `out`'s range is touched).
 */
import { addressOf, inRange } from "./bytes";

/** Decode tables: 128 entries per alphabet, 0xff = not in the alphabet. Filled on first use. */
// @ts-ignore: decorator
@lazy const DECODE: usize = memory.data(256, 16);
// @ts-ignore: decorator
@lazy const ENCODE: usize = memory.data(128, 16);
// @ts-ignore: decorator
@lazy let tablesReady = false;

/**
 * The character of value i (0..63): A-Z, a-z, 0-9, then '+' '/' (standard) or '-' '_' (url).
 * Computed rather than read from alphabet strings, which would cost the module more than this.
 */
function alphabetChar(i: u32, url: bool): u32 {
  if (i < 26) return 0x41 + i;
  if (i < 52) return 0x61 - 26 + i;
  if (i < 62) return 0x30 - 52 + i;
  return i == 62 ? (url ? 0x2d : 0x2b) : (url ? 0x5f : 0x2f);
}

function ensureTables(): void {
  if (tablesReady) return;
  memory.fill(DECODE, 0xff, 256);
  for (let i: u32 = 0; i < 64; i++) {
    const s = alphabetChar(i, false);
    const u = alphabetChar(i, true);
    store<u8>(DECODE + <usize>s, <u8>i);
    store<u8>(DECODE + 128 + <usize>u, <u8>i);
    store<u8>(ENCODE + <usize>i, <u8>s);
    store<u8>(ENCODE + 64 + <usize>i, <u8>u);
  }
  tablesReady = true;
}

/** Upper bound of the decoded size of `encodedLength` characters: floor(3n / 4). */
export function base64DecodedMaxLength(encodedLength: i32): i32 {
  if (encodedLength <= 0) return 0;
  return (encodedLength >> 2) * 3 + (((encodedLength & 3) * 3) >> 2);
}

/** Length of the unpadded base64url text for `length` bytes: ceil(4n / 3). */
export function base64UrlEncodedLength(length: i32): i32 {
  if (length <= 0) return 0;
  const rest = length % 3;
  return (length / 3) * 4 + (rest == 0 ? 0 : rest + 1);
}

/** Length of the padded base64 text for `length` bytes: 4 * ceil(n / 3). */
export function base64EncodedLength(length: i32): i32 {
  if (length <= 0) return 0;
  return ((length + 2) / 3) * 4;
}

/** Value of character `c` (0..63) in the alphabet at `table`, or 0xff. */
// @ts-ignore: decorator
@inline function sextet(table: usize, c: u32): u32 {
  return c < 128 ? <u32>load<u8>(table + <usize>c) : 0xff;
}

/**
 * Decodes `n` characters of width T (u8 for bytes, u16 for string code units) at `src` into
 * `out` (capacity `cap`). Returns the byte count or -1. `url` picks the alphabet and the
 * padding rule (url: none allowed; standard: required).
 */
function decodeCore<T>(src: usize, n: usize, out: usize, cap: usize, url: bool): i32 {
  ensureTables();
  const table = DECODE + (url ? 128 : 0);
  const w = sizeof<T>();
  let chars = n;
  if (!url) {
    if ((n & 3) != 0) return -1;
    if (n > 0 && <u32>load<T>(src + (n - 1) * w) == 0x3d) {
      chars--;
      if (<u32>load<T>(src + (n - 2) * w) == 0x3d) chars--;
    }
  }
  const tail = chars & 3;
  if (tail == 1) return -1;
  const size = (chars >> 2) * 3 + (tail == 0 ? 0 : tail - 1);
  if (size > cap) return -1;
  const quads = chars >> 2;
  let p = src;
  let o = out;
  for (let q: usize = 0; q < quads; q++) {
    const a = sextet(table, <u32>load<T>(p));
    const b = sextet(table, <u32>load<T>(p + w));
    const c = sextet(table, <u32>load<T>(p + 2 * w));
    const d = sextet(table, <u32>load<T>(p + 3 * w));
    if (((a | b | c | d) & 0x80) != 0) return -1;
    const v = (a << 18) | (b << 12) | (c << 6) | d;
    store<u8>(o, <u8>(v >> 16));
    store<u8>(o + 1, <u8>(v >> 8));
    store<u8>(o + 2, <u8>v);
    p += 4 * w;
    o += 3;
  }
  if (tail >= 2) {
    const a = sextet(table, <u32>load<T>(p));
    const b = sextet(table, <u32>load<T>(p + w));
    const c = tail == 3 ? sextet(table, <u32>load<T>(p + 2 * w)) : 0;
    if (((a | b | c) & 0x80) != 0) return -1;
    // RFC 4648 §3.5: the bits below the last whole byte must be zero (canonical text only).
    if (tail == 2 ? (b & 0x0f) != 0 : (c & 0x03) != 0) return -1;
    const v = (a << 18) | (b << 12) | (c << 6);
    store<u8>(o, <u8>(v >> 16));
    if (tail == 3) store<u8>(o + 1, <u8>(v >> 8));
  }
  return <i32>size;
}

/** Encodes `n` bytes at `src` as characters of width T at `out`; returns the character count. */
function encodeCore<T>(src: usize, n: usize, out: usize, url: bool): i32 {
  ensureTables();
  const table = ENCODE + (url ? 64 : 0);
  const w = sizeof<T>();
  let o = out;
  let i: usize = 0;
  for (; i + 3 <= n; i += 3) {
    const v = (<u32>load<u8>(src + i) << 16) | (<u32>load<u8>(src + i + 1) << 8) | <u32>load<u8>(src + i + 2);
    store<T>(o, <T>load<u8>(table + (v >> 18)));
    store<T>(o + w, <T>load<u8>(table + ((v >> 12) & 63)));
    store<T>(o + 2 * w, <T>load<u8>(table + ((v >> 6) & 63)));
    store<T>(o + 3 * w, <T>load<u8>(table + (v & 63)));
    o += 4 * w;
  }
  const rest = n - i;
  if (rest > 0) {
    const v = (<u32>load<u8>(src + i) << 16) | (rest == 2 ? <u32>load<u8>(src + i + 1) << 8 : 0);
    store<T>(o, <T>load<u8>(table + (v >> 18)));
    store<T>(o + w, <T>load<u8>(table + ((v >> 12) & 63)));
    o += 2 * w;
    if (rest == 2) { store<T>(o, <T>load<u8>(table + ((v >> 6) & 63))); o += w; }
    if (!url) {
      store<T>(o, <T>0x3d); o += w;
      if (rest == 1) { store<T>(o, <T>0x3d); o += w; }
    }
  }
  return <i32>((o - out) / w);
}

function decodeBytesInto(src: ArrayBuffer, offset: i32, length: i32, out: ArrayBuffer, outOffset: i32, url: bool): i32 {
  if (!inRange(src, offset, length) || outOffset < 0 || outOffset > out.byteLength) return -1;
  return decodeCore<u8>(addressOf(src, offset), <usize>length, addressOf(out, outOffset),
                        <usize>(out.byteLength - outOffset), url);
}

function decodeBytes(src: ArrayBuffer, offset: i32, length: i32, url: bool): ArrayBuffer | null {
  if (!inRange(src, offset, length)) return null;
  const out = new ArrayBuffer(base64DecodedMaxLength(length));
  const n = decodeCore<u8>(addressOf(src, offset), <usize>length, changetype<usize>(out), <usize>out.byteLength, url);
  if (n < 0) return null;
  return n == out.byteLength ? out : out.slice(0, n);
}

function decodeString(s: string, start: i32, end: i32, url: bool): ArrayBuffer | null {
  if (start < 0 || end < start || end > s.length) return null;
  const n = end - start;
  const out = new ArrayBuffer(base64DecodedMaxLength(n));
  const got = decodeCore<u16>(changetype<usize>(s) + (<usize>start << 1), <usize>n, changetype<usize>(out),
                              <usize>out.byteLength, url);
  if (got < 0) return null;
  return got == out.byteLength ? out : out.slice(0, got);
}

function encodeInto(src: ArrayBuffer, offset: i32, length: i32, out: ArrayBuffer, outOffset: i32, url: bool): i32 {
  if (!inRange(src, offset, length)) return -1;
  const need = url ? base64UrlEncodedLength(length) : base64EncodedLength(length);
  if (!inRange(out, outOffset, need)) return -1;
  return encodeCore<u8>(addressOf(src, offset), <usize>length, addressOf(out, outOffset), url);
}

/** Longest text the string encoders build (2^28 UTF-16 units, 512 MiB): beyond it, null, not an abort. */
const MAX_STRING_CHARS: i32 = 1 << 28;

function encodeString(src: ArrayBuffer, offset: i32, length: i32, url: bool): string | null {
  if (!inRange(src, offset, length)) return null;
  const chars = url ? base64UrlEncodedLength(length) : base64EncodedLength(length);
  if (chars > MAX_STRING_CHARS) return null;
  const s = changetype<string>(__new(<usize>chars << 1, idof<string>()));
  encodeCore<u16>(addressOf(src, offset), <usize>length, changetype<usize>(s), url);
  return s;
}

/** Decodes unpadded base64url bytes `src[offset, +length)` into `out[outOffset..]`; bytes written or -1. */
export function base64UrlDecodeInto(src: ArrayBuffer, offset: i32, length: i32, out: ArrayBuffer, outOffset: i32): i32 {
  return decodeBytesInto(src, offset, length, out, outOffset, true);
}

/** Decodes unpadded base64url bytes `src[offset, +length)`; null when invalid. */
export function base64UrlDecode(src: ArrayBuffer, offset: i32, length: i32): ArrayBuffer | null {
  return decodeBytes(src, offset, length, true);
}

/** Decodes unpadded base64url text `s.substring(start, end)`; null when invalid. */
export function base64UrlDecodeString(s: string, start: i32 = 0, end: i32 = i32.MAX_VALUE): ArrayBuffer | null {
  return decodeString(s, start, end == i32.MAX_VALUE ? s.length : end, true);
}

/** Encodes `src[offset, +length)` as unpadded base64url bytes at `out[outOffset..]`; bytes written or -1. */
export function base64UrlEncodeInto(src: ArrayBuffer, offset: i32, length: i32, out: ArrayBuffer, outOffset: i32): i32 {
  return encodeInto(src, offset, length, out, outOffset, true);
}

/** Encodes `src[offset, +length)` as unpadded base64url text; null on a bad range (or > 2^28 characters). */
export function base64UrlEncode(src: ArrayBuffer, offset: i32, length: i32): string | null {
  return encodeString(src, offset, length, true);
}

/** Decodes padded standard base64 bytes `src[offset, +length)` into `out[outOffset..]`; bytes written or -1. */
export function base64DecodeInto(src: ArrayBuffer, offset: i32, length: i32, out: ArrayBuffer, outOffset: i32): i32 {
  return decodeBytesInto(src, offset, length, out, outOffset, false);
}

/** Decodes padded standard base64 bytes `src[offset, +length)`; null when invalid. */
export function base64Decode(src: ArrayBuffer, offset: i32, length: i32): ArrayBuffer | null {
  return decodeBytes(src, offset, length, false);
}

/** Decodes padded standard base64 text `s.substring(start, end)`; null when invalid. */
export function base64DecodeString(s: string, start: i32 = 0, end: i32 = i32.MAX_VALUE): ArrayBuffer | null {
  return decodeString(s, start, end == i32.MAX_VALUE ? s.length : end, false);
}

/** Encodes `src[offset, +length)` as padded standard base64 bytes at `out[outOffset..]`; bytes written or -1. */
export function base64EncodeInto(src: ArrayBuffer, offset: i32, length: i32, out: ArrayBuffer, outOffset: i32): i32 {
  return encodeInto(src, offset, length, out, outOffset, false);
}

/** Encodes `src[offset, +length)` as padded standard base64 text; null on a bad range (or > 2^28 characters). */
export function base64Encode(src: ArrayBuffer, offset: i32, length: i32): string | null {
  return encodeString(src, offset, length, false);
}
