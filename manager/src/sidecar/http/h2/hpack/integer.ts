/**
 * HPACK integers (RFC 7541 §5.1): an N-bit prefix in the first byte (the other 8-N bits belong
 * to the representation), then, when the prefix is all ones, 7-bit groups least significant
 * first with the high bit set on every byte but the last.
 *
 * Decoding accepts at most 2^31-1 (the largest value any HPACK field can need: indices,
 * lengths and table sizes) spread over at most 5 continuation bytes, and throws HpackError on
 * anything larger, longer or truncated, so a hostile peer cannot make us loop or overflow.
 */
import { HpackError } from "./errors.ts";

export const MAX_INTEGER = 0x7fffffff;
const MAX_CONTINUATION_BYTES = 5;

/** Where the next byte is read; decodeInteger advances it. */
export interface Cursor {
  pos: number;
}

/** Bytes encodeInteger writes for value with an N-bit prefix. */
export function integerLength(value: number, prefixBits: number): number {
  const max = (1 << prefixBits) - 1;
  if (value < max) return 1;
  let n = 2;
  for (let rest = value - max; rest >= 128; rest >>>= 7) n++;
  return n;
}

/**
 * Writes value (0..2^31-1) with an N-bit prefix at out[offset]; `flags` supplies the
 * representation's high bits of the first byte. Returns the offset after the integer.
 */
export function encodeInteger(out: Uint8Array, offset: number, value: number, prefixBits: number, flags: number): number {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out[offset] = flags | value;
    return offset + 1;
  }
  out[offset++] = flags | max;
  let rest = value - max;
  while (rest >= 128) {
    out[offset++] = (rest & 0x7f) | 0x80;
    rest >>>= 7;
  }
  out[offset++] = rest;
  return offset;
}

/** Reads an integer with an N-bit prefix from buf[cur.pos..end) and advances cur.pos past it. */
export function decodeInteger(buf: Uint8Array, cur: Cursor, end: number, prefixBits: number): number {
  let pos = cur.pos;
  if (pos >= end) throw new HpackError("truncated integer");
  const max = (1 << prefixBits) - 1;
  let value = buf[pos++] & max;
  if (value === max) {
    let multiplier = 1;
    for (let i = 0; ; i++) {
      if (i === MAX_CONTINUATION_BYTES) throw new HpackError("integer has too many continuation bytes");
      if (pos >= end) throw new HpackError("truncated integer");
      const b = buf[pos++];
      value += (b & 0x7f) * multiplier;
      if (value > MAX_INTEGER) throw new HpackError("integer exceeds 2^31-1");
      if ((b & 0x80) === 0) break;
      multiplier *= 128;
    }
  }
  cur.pos = pos;
  return value;
}
