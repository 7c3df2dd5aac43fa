/**
 * Guest linear-memory access for host calls (proxy-wasm-cpp-host `WasmBase::getMemory` /
 * `setMemory` / `copyToPointerSize`).
 *
 * Contract:
 * - Every read or write checks bounds; a pointer or length outside the guest memory throws
 *   `InvalidMemoryAccessError`, which the import layer turns into WasmResult.InvalidMemoryAccess
 *   (6) instead of crashing the host.
 * - Integers are little-endian (u32 / u64), as the ABI requires.
 * - `writeOut(bytes, ptrPtr, lenPtr)` is the host's `**data, *len` pair: an empty value writes
 *   (0, 0) without calling the guest allocator; otherwise the bytes are copied into memory
 *   obtained from the guest allocator (malloc or proxy_on_memory_allocate). `writeOutString`
 *   does the same with a string's UTF-8 bytes, encoded in place, and `writeOutPairs` with a
 *   header map's pairs serialization.
 * - Views of the memory are cached and remade when the memory grows (see `at`).
 * - `readKey` reads a short ASCII name (header name, property path) through a bounded table of
 *   strings already seen, so a hot name costs a hash of its bytes and no new string.
 * - `writeOutString` keeps the bytes of short ASCII values it wrote (header values such as
 *   `content-type` or `:path` come back on every request) as 32-bit words in a bounded table, so
 *   writing a known value is a lookup and a few word stores, not a scan and a byte loop.
 */
import type { HeaderPair } from "../http/header-map.ts";
import { encodeAsciiPairsScratch, encodePairs } from "./pairs.ts";

const EMPTY_BYTES = new Uint8Array(0);

export class InvalidMemoryAccessError extends Error {
  override readonly name = "InvalidMemoryAccessError";
}

const decoder = new TextDecoder("utf-8", { fatal: false });

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return false;
  return true;
}
const encoder = new TextEncoder();

/** An interned name: its text and its bytes as little-endian 32-bit words (zero-padded). */
interface InternedKey {
  text: string;
  length: number;
  words: Int32Array;
}

/** Names longer than this are read as plain strings (no interning). */
const KEY_INTERN_MAX_LENGTH = 64;
/** Distinct interned names kept; the table starts over when full (bounded whatever the guest sends). */
const KEY_INTERN_MAX_ENTRIES = 512;
/** Scratch for the words of the name being read. */
const keyWords = new Int32Array(KEY_INTERN_MAX_LENGTH / 4);

/** Reads up to this many bytes are copied by hand (V8 keeps typed arrays this small on its heap). */
const SMALL_READ_MAX = 64;

/** A value written out before: its UTF-8 length and bytes as little-endian 32-bit words. */
interface EncodedValue {
  length: number;
  words: Int32Array;
}
/** Values longer than this (in UTF-16 units) are not kept. */
const VALUE_CACHE_MAX_LENGTH = 64;
/** Distinct values kept; the table starts over when full (bounded whatever the traffic holds). */
const VALUE_CACHE_MAX_ENTRIES = 512;

export class GuestMemory {
  /**
   * Views of the current memory buffer, made once and remade only when the buffer changed: a
   * non-shared WebAssembly.Memory detaches its old ArrayBuffer when it grows (byteLength 0), so
   * a detached cached buffer is the signal. This keeps host calls free of per-access allocations.
   */
  private buf: ArrayBuffer | undefined;
  private u8 = new Uint8Array(0);
  private dv = new DataView(new ArrayBuffer(0));

  /** Interned short ASCII names by a hash of their bytes (a collision keeps the first). */
  private readonly keys = new Map<number, InternedKey>();
  /** Short ASCII values written out before, by value. */
  private readonly values = new Map<string, EncodedValue>();

  constructor(
    private readonly memory: () => WebAssembly.Memory,
    /** Calls the guest allocator; returns the guest pointer (0 = allocation failed). */
    private readonly allocate: (size: number) => number,
  ) {}

  /** Checks [ptr, ptr+len) against the current memory and returns its start. */
  private at(ptr: number, len: number): number {
    if (this.buf === undefined || this.buf.byteLength === 0) {
      const b = this.memory().buffer;
      this.buf = b;
      this.u8 = new Uint8Array(b);
      this.dv = new DataView(b);
    }
    const p = ptr >>> 0;
    const l = len >>> 0;
    if (p + l > this.u8.length) {
      throw new InvalidMemoryAccessError(`guest memory access out of bounds: ${p}+${l} > ${this.u8.length}`);
    }
    return p;
  }

  /** A copy of guest bytes [ptr, ptr+len). */
  read(ptr: number, len: number): Uint8Array {
    const p = this.at(ptr, len);
    const l = len >>> 0;
    // A short value (a property value, a metric name): a new on-heap array filled byte by byte
    // costs less than slice() of the whole memory's view.
    if (l <= SMALL_READ_MAX) {
      const out = new Uint8Array(l);
      const u8 = this.u8;
      for (let i = 0; i < l; i++) out[i] = u8[p + i]!;
      return out;
    }
    return this.u8.slice(p, p + l);
  }

  readString(ptr: number, len: number): string {
    const p = this.at(ptr, len);
    const l = len >>> 0;
    const u8 = this.u8;
    // Short ASCII (header names, property paths, metric names): no TextDecoder round trip.
    if (l <= 64) {
      let s = "";
      for (let i = p; i < p + l; i++) {
        const c = u8[i]!;
        if (c >= 0x80) return decoder.decode(u8.subarray(p, p + l));
        s += String.fromCharCode(c);
      }
      return s;
    }
    return decoder.decode(u8.subarray(p, p + l));
  }

  /**
   * `readString` for names the guest passes again and again (header names, property paths):
   * a short ASCII name seen before comes back as the same string. The bytes are read as
   * little-endian 32-bit words (typed-array reads of Wasm memory are slow byte by byte), hashed,
   * and compared word for word with the interned entry; anything else is read as `readString`.
   */
  readKey(ptr: number, len: number): string {
    const p = this.at(ptr, len);
    const l = len >>> 0;
    if (l > KEY_INTERN_MAX_LENGTH) return this.readString(ptr, len);
    const dv = this.dv;
    const words = keyWords;
    const n = (l + 3) >>> 2;
    let h = 0x811c9dc5 ^ l;
    let ascii = 0;
    const whole = l >>> 2;
    for (let i = 0; i < whole; i++) {
      const w = dv.getInt32(p + i * 4, true);
      ascii |= w;
      words[i] = w;
      h = Math.imul(h ^ w, 0x01000193);
    }
    if (whole < n) {
      let w = 0;
      for (let i = whole * 4, shift = 0; i < l; i++, shift += 8) w |= this.u8[p + i]! << shift;
      ascii |= w;
      words[whole] = w;
      h = Math.imul(h ^ w, 0x01000193);
    }
    if ((ascii & 0x80808080) !== 0) return this.readString(ptr, len);
    h &= 0x3fffffff; // a small integer key (no heap number per lookup)
    const known = this.keys.get(h);
    if (known !== undefined && known.length === l) {
      const kw = known.words;
      let same = true;
      for (let i = 0; i < n; i++) {
        if (kw[i] !== words[i]) {
          same = false;
          break;
        }
      }
      if (same) return known.text;
    }
    const text = this.readString(ptr, len);
    if (known === undefined) {
      if (this.keys.size >= KEY_INTERN_MAX_ENTRIES) this.keys.clear();
      this.keys.set(h, { text, length: l, words: words.slice(0, n) });
    }
    return text;
  }

  // `at` may replace the views, so it runs before they are read.
  write(ptr: number, bytes: Uint8Array): void {
    const p = this.at(ptr, bytes.length);
    this.u8.set(bytes, p);
  }

  writeU32(ptr: number, value: number): void {
    const p = this.at(ptr, 4);
    this.dv.setUint32(p, value >>> 0, true);
  }

  writeU64(ptr: number, value: bigint): void {
    const p = this.at(ptr, 8);
    this.dv.setBigUint64(p, value, true); // ToBigUint64 wraps modulo 2^64 as asUintN would
  }

  readU32(ptr: number): number {
    const p = this.at(ptr, 4);
    return this.dv.getUint32(p, true);
  }

  /**
   * Copies `bytes` into freshly allocated guest memory and writes the pointer and length to
   * the out-params. Empty -> (0, 0), no allocation.
   */
  writeOut(bytes: Uint8Array, ptrPtr: number, lenPtr: number): void {
    // Check the out-params first so a bad pointer costs no allocation.
    this.at(ptrPtr, 4);
    this.at(lenPtr, 4);
    const n = bytes.length;
    let ptr = 0;
    if (n > 0) {
      ptr = this.allocate(n) >>> 0;
      if (ptr === 0) throw new InvalidMemoryAccessError("guest allocator returned 0");
      // The allocator may have grown the memory: `at` remakes the views, so it runs first.
      const p = this.at(ptr, n);
      this.u8.set(bytes, p);
    }
    this.putPair(ptrPtr, ptr, lenPtr, n);
  }

  /**
   * `writeOut` of header pairs in the proxy-wasm pairs serialization (pairs.ts): all-ASCII
   * pairs are serialized in one pass into a scratch array and copied into the guest's
   * allocation; anything else goes through `encodePairs`.
   */
  writeOutPairs(pairs: ReadonlyArray<Readonly<HeaderPair>>, ptrPtr: number, lenPtr: number): void {
    if (pairs.length === 0) return this.writeOut(EMPTY_BYTES, ptrPtr, lenPtr);
    this.writeOut(encodeAsciiPairsScratch(pairs) ?? encodePairs(pairs), ptrPtr, lenPtr);
  }

  /** `writeOut` of a string's UTF-8 bytes, encoded straight into guest memory. */
  writeOutString(value: string, ptrPtr: number, lenPtr: number): void {
    this.at(ptrPtr, 4);
    this.at(lenPtr, 4);
    const n = value.length;
    if (n === 0) {
      this.putPair(ptrPtr, 0, lenPtr, 0);
      return;
    }
    const known = n <= VALUE_CACHE_MAX_LENGTH ? this.values.get(value) : undefined;
    if (known !== undefined) {
      const ptr = this.allocate(n) >>> 0;
      if (ptr === 0) throw new InvalidMemoryAccessError("guest allocator returned 0");
      this.writeWords(this.at(ptr, n), known);
      this.putPair(ptrPtr, ptr, lenPtr, n);
      return;
    }
    if (n <= 256 && isAscii(value)) {
      const ptr = this.allocate(n) >>> 0;
      if (ptr === 0) throw new InvalidMemoryAccessError("guest allocator returned 0");
      const p = this.at(ptr, n);
      const u8 = this.u8;
      for (let i = 0; i < n; i++) u8[p + i] = value.charCodeAt(i);
      if (n <= VALUE_CACHE_MAX_LENGTH) this.keepValue(value, p, n);
      this.putPair(ptrPtr, ptr, lenPtr, n);
      return;
    }
    const len = Buffer.byteLength(value, "utf8");
    const ptr = this.allocate(len) >>> 0;
    if (ptr === 0) throw new InvalidMemoryAccessError("guest allocator returned 0");
    const p = this.at(ptr, len);
    encoder.encodeInto(value, this.u8.subarray(p, p + len));
    this.putPair(ptrPtr, ptr, lenPtr, len);
  }

  /** Remembers the `n` ASCII bytes of `value` just written at `p` (views current). */
  private keepValue(value: string, p: number, n: number): void {
    const words = new Int32Array((n + 3) >>> 2);
    const whole = n >>> 2;
    const dv = this.dv;
    const u8 = this.u8;
    for (let i = 0; i < whole; i++) words[i] = dv.getInt32(p + i * 4, true);
    for (let i = whole * 4; i < n; i++) words[whole]! |= u8[p + i]! << ((i & 3) * 8);
    if (this.values.size >= VALUE_CACHE_MAX_ENTRIES) this.values.clear();
    this.values.set(value, { length: n, words });
  }

  /** Writes a kept value at `p`, already checked by `at`: whole words, then the last bytes one by one. */
  private writeWords(p: number, v: EncodedValue): void {
    const n = v.length;
    const words = v.words;
    const whole = n >>> 2;
    const dv = this.dv;
    for (let i = 0; i < whole; i++) dv.setInt32(p + i * 4, words[i]!, true);
    if (whole * 4 < n) {
      const u8 = this.u8;
      const last = words[whole]!;
      for (let i = whole * 4; i < n; i++) u8[p + i] = last >>> ((i & 3) * 8);
    }
  }

  /** Writes a result's pointer and length to out-params already checked by `at` (views current). */
  private putPair(ptrPtr: number, ptr: number, lenPtr: number, len: number): void {
    const dv = this.dv;
    dv.setUint32(ptrPtr >>> 0, ptr, true);
    dv.setUint32(lenPtr >>> 0, len >>> 0, true);
  }
}
