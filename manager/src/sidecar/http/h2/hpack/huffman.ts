/**
 * The HPACK Huffman code (RFC 7541 §5.2, Appendix B).
 *
 * Appendix B is a canonical Huffman code: within one length, codes are consecutive in symbol
 * order, and each length's first code follows the previous length's last. So the table below
 * holds only the 257 code lengths (256 octets, then EOS) and the codes are derived from them.
 *
 * huffmanDecode walks a 4-bits-at-a-time state machine built at module load (as nghttp2's
 * decoder does): a state is an internal node of the code tree, and each (state, nibble) entry
 * gives the next state and the symbol completed on the way, if any (no code is shorter than 5
 * bits, so a nibble completes at most one). Per §5.2 it throws HpackError when the string
 * contains EOS, or ends with padding longer than 7 bits or not made of ones (not a prefix of
 * EOS). Strings are latin1: one char per octet, as Node's http2 treats header strings.
 */
import { HpackError } from "./errors.ts";

// prettier-ignore
const LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30, // EOS
];

const EOS = 256;
/** Code length of each symbol 0..256. */
export const HUFFMAN_LENGTHS: Uint8Array = Uint8Array.from(LENGTHS);
/** Code of each symbol 0..256, right-aligned (EOS is 0x3fffffff). */
export const HUFFMAN_CODES: Uint32Array = canonicalCodes(HUFFMAN_LENGTHS);

function canonicalCodes(lengths: Uint8Array): Uint32Array {
  const codes = new Uint32Array(lengths.length);
  let code = 0;
  for (let len = 1, prev = 1; len <= 30; len++) {
    for (let sym = 0; sym < lengths.length; sym++) {
      if (lengths[sym] !== len) continue;
      code = code * 2 ** (len - prev);
      prev = len;
      codes[sym] = code++;
    }
  }
  return codes;
}

/** Octets huffmanEncode writes for str (chars are taken as latin1 octets). */
export function huffmanEncodedLength(str: string): number {
  let bits = 0;
  for (let i = 0; i < str.length; i++) bits += HUFFMAN_LENGTHS[str.charCodeAt(i) & 0xff];
  return (bits + 7) >>> 3;
}

/**
 * Writes the Huffman encoding of str at out[offset], padded with the most significant bits of
 * EOS (ones), and returns the offset after it.
 */
export function huffmanEncode(str: string, out: Uint8Array, offset: number): number {
  let acc = 0; // pending bits, fewer than 8 between symbols
  let n = 0;
  for (let i = 0; i < str.length; i++) {
    const sym = str.charCodeAt(i) & 0xff;
    let code = HUFFMAN_CODES[sym];
    let len = HUFFMAN_LENGTHS[sym];
    if (len > 24) {
      // Keep acc within 31 bits: feed the high bits first.
      acc = (acc << (len - 16)) | (code >>> 16);
      n += len - 16;
      while (n >= 8) out[offset++] = acc >>> (n -= 8);
      acc &= (1 << n) - 1;
      code &= 0xffff;
      len = 16;
    }
    acc = (acc << len) | code;
    n += len;
    while (n >= 8) out[offset++] = acc >>> (n -= 8);
    acc &= (1 << n) - 1;
  }
  if (n > 0) out[offset++] = (acc << (8 - n)) | (0xff >>> n);
  return offset;
}

// Decoding state machine. Entry bits: 0-7 next state, 8 a symbol was completed, 9 failure
// (EOS decoded), 16-23 the symbol.
const EMIT = 0x100;
const FAIL = 0x200;
const { TRANSITIONS, ACCEPTING } = buildDecoder();

function buildDecoder(): { TRANSITIONS: Uint32Array; ACCEPTING: Uint8Array } {
  // Tree: children[2*node + bit]; a child >= 0 is an internal node, -1 - sym a leaf.
  const children: number[] = [0, 0];
  const onesDepth: number[] = [0]; // per node: depth if its path is all ones, else -1
  let nodes = 1;
  for (let sym = 0; sym <= EOS; sym++) {
    const len = HUFFMAN_LENGTHS[sym];
    const code = HUFFMAN_CODES[sym];
    let node = 0;
    for (let i = len - 1; i >= 0; i--) {
      const bit = Math.floor(code / 2 ** i) & 1;
      const slot = 2 * node + bit;
      if (i === 0) {
        children[slot] = -1 - sym;
      } else {
        if (children[slot] === 0) {
          children[slot] = nodes;
          children.push(0, 0);
          onesDepth.push(bit === 1 && onesDepth[node] >= 0 ? onesDepth[node] + 1 : -1);
          nodes++;
        }
        node = children[slot];
      }
    }
  }
  if (nodes !== 256) throw new Error(`HPACK Huffman tree has ${nodes} internal nodes`);
  const transitions = new Uint32Array(nodes * 16);
  const accepting = new Uint8Array(nodes);
  for (let state = 0; state < nodes; state++) {
    // Ending here is valid padding: at most 7 bits, all ones.
    accepting[state] = onesDepth[state] >= 0 && onesDepth[state] <= 7 ? 1 : 0;
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state;
      let entry = 0;
      for (let i = 3; i >= 0; i--) {
        const child = children[2 * node + ((nibble >>> i) & 1)];
        if (child >= 0) {
          node = child;
          continue;
        }
        const sym = -1 - child;
        if (sym === EOS) entry |= FAIL;
        else entry |= EMIT | (sym << 16);
        node = 0;
      }
      transitions[state * 16 + nibble] = entry | node;
    }
  }
  return { TRANSITIONS: transitions, ACCEPTING: accepting };
}

interface Latin1Buffer extends Buffer {
  latin1Slice(start: number, end: number): string;
}
let scratch = Buffer.allocUnsafe(1024) as Latin1Buffer;

/** Decodes the Huffman string in bytes[start..end) to a latin1 string; throws HpackError if invalid. */
export function huffmanDecode(bytes: Uint8Array, start: number, end: number): string {
  const maxChars = (((end - start) * 8) / 5) | 0; // every code is at least 5 bits
  if (maxChars > scratch.length) scratch = Buffer.allocUnsafe(Math.max(maxChars, scratch.length * 2)) as Latin1Buffer;
  const out = scratch;
  let n = 0;
  let state = 0;
  for (let i = start; i < end; i++) {
    const b = bytes[i];
    let t = TRANSITIONS[(state << 4) | (b >>> 4)];
    if ((t & (EMIT | FAIL)) !== 0) {
      if ((t & FAIL) !== 0) throw new HpackError("Huffman string contains EOS");
      out[n++] = t >>> 16;
    }
    t = TRANSITIONS[((t & 0xff) << 4) | (b & 0x0f)];
    if ((t & (EMIT | FAIL)) !== 0) {
      if ((t & FAIL) !== 0) throw new HpackError("Huffman string contains EOS");
      out[n++] = t >>> 16;
    }
    state = t & 0xff;
  }
  if (ACCEPTING[state] === 0) throw new HpackError("invalid Huffman padding");
  return out.latin1Slice(0, n);
}
