/**
 * SHA-256 (FIPS 180-4 §6.2): streaming `Sha256` and one-shot `sha256` / `sha256Into`.
 *
 * Contract: inputs are (ArrayBuffer, offset, length) ranges, checked before any memory access;
 * a bad range returns false (or null) and leaves the hash state untouched, so nothing traps.
 * A `Sha256` allocates its state and block buffer once; hashing never allocates (only the
 * convenience `finish()` / `sha256()` allocate their 32-byte result). The message schedule lives
 * in one static 256-byte area (Wasm is single-threaded and nothing here re-enters).
 */
import { addressOf, inRange, loadBe32, storeBe32 } from "./bytes";

export const SHA256_DIGEST_LENGTH: i32 = 32;
export const SHA256_BLOCK_LENGTH: i32 = 64;

/** Round constants K (FIPS 180-4 §4.2.2). */
// @ts-ignore: decorator
@lazy const K: usize = memory.data<u32>([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/** Message schedule W[0..63] (scratch). */
// @ts-ignore: decorator
@lazy const W: usize = memory.data(64 * 4, 16);

// FIPS 180-4 §4.1.2 functions.
// @ts-ignore: decorator
@inline function choose(x: u32, y: u32, z: u32): u32 { return z ^ (x & (y ^ z)); }
// @ts-ignore: decorator
@inline function majority(x: u32, y: u32, z: u32): u32 { return (x & y) | (z & (x | y)); }
// @ts-ignore: decorator
@inline function sigma0(x: u32): u32 { return rotr<u32>(x, 2) ^ rotr<u32>(x, 13) ^ rotr<u32>(x, 22); }
// @ts-ignore: decorator
@inline function sigma1(x: u32): u32 { return rotr<u32>(x, 6) ^ rotr<u32>(x, 11) ^ rotr<u32>(x, 25); }

/**
 * Compresses `blocks` 64-byte blocks at `ptr` into the 8-word state at `state`
 * (FIPS 180-4 §6.2.2). Caller guarantees the memory is valid.
 */
export function sha256Blocks(state: usize, ptr: usize, blocks: usize): void {
  let h0 = load<u32>(state, 0), h1 = load<u32>(state, 4), h2 = load<u32>(state, 8), h3 = load<u32>(state, 12);
  let h4 = load<u32>(state, 16), h5 = load<u32>(state, 20), h6 = load<u32>(state, 24), h7 = load<u32>(state, 28);
  while (blocks-- > 0) {
    for (let t: usize = 0; t < 16; t++) store<u32>(W + (t << 2), loadBe32(ptr + (t << 2)));
    for (let t: usize = 16; t < 64; t++) {
      const w15 = load<u32>(W + ((t - 15) << 2));
      const w2 = load<u32>(W + ((t - 2) << 2));
      const s0 = rotr<u32>(w15, 7) ^ rotr<u32>(w15, 18) ^ (w15 >>> 3);
      const s1 = rotr<u32>(w2, 17) ^ rotr<u32>(w2, 19) ^ (w2 >>> 10);
      store<u32>(W + (t << 2), s1 + load<u32>(W + ((t - 7) << 2)) + s0 + load<u32>(W + ((t - 16) << 2)));
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
    // One round per iteration (FIPS 180-4 §6.2.2 step 3, the variables shifted as written
    // there): an eight-round unrolled body runs a little faster but costs the module ~570 bytes.
    for (let t: usize = 0; t < 256; t += 4) {
      const x = h + sigma1(e) + choose(e, f, g) + load<u32>(K + t) + load<u32>(W + t);
      h = g; g = f; f = e; e = d + x;
      d = c; c = b; b = a; a = x + sigma0(b) + majority(b, c, d);
    }
    h0 += a; h1 += b; h2 += c; h3 += d; h4 += e; h5 += f; h6 += g; h7 += h;
    ptr += 64;
  }
  store<u32>(state, h0, 0); store<u32>(state, h1, 4); store<u32>(state, h2, 8); store<u32>(state, h3, 12);
  store<u32>(state, h4, 16); store<u32>(state, h5, 20); store<u32>(state, h6, 24); store<u32>(state, h7, 28);
}

/** Writes the initial hash value H(0) (FIPS 180-4 §5.3.3) to `state`. */
export function sha256InitState(state: usize): void {
  store<u32>(state, 0x6a09e667, 0); store<u32>(state, 0xbb67ae85, 4);
  store<u32>(state, 0x3c6ef372, 8); store<u32>(state, 0xa54ff53a, 12);
  store<u32>(state, 0x510e527f, 16); store<u32>(state, 0x9b05688c, 20);
  store<u32>(state, 0x1f83d9ab, 24); store<u32>(state, 0x5be0cd19, 28);
}

/** Streaming SHA-256. `finish*` resets the hash, so one instance serves many messages. */
export class Sha256 {
  private readonly state: StaticArray<u32> = new StaticArray<u32>(8);
  private readonly block: StaticArray<u8> = new StaticArray<u8>(64);
  private buffered: i32 = 0;
  private total: u64 = 0;

  constructor() {
    this.reset();
  }

  /** Starts a new message. */
  reset(): Sha256 {
    sha256InitState(changetype<usize>(this.state));
    this.buffered = 0;
    this.total = 0;
    return this;
  }

  /**
   * Replaces the chaining value with 8 words at `state` after `bytesSoFar` bytes (a multiple of
   * 64) — how HMAC resumes from its precomputed key blocks. Caller guarantees the memory.
   */
  resumeUnchecked(state: usize, bytesSoFar: u64): void {
    memory.copy(changetype<usize>(this.state), state, 32);
    this.buffered = 0;
    this.total = bytesSoFar;
  }

  /** Copies the current chaining value (8 words) to `out`; valid when no byte is buffered. */
  chainingValueUnchecked(out: usize): void {
    memory.copy(out, changetype<usize>(this.state), 32);
  }

  /** Adds `length` bytes of `data` from `offset`; false (state unchanged) when out of range. */
  update(data: ArrayBuffer, offset: i32, length: i32): bool {
    if (!inRange(data, offset, length)) return false;
    this.updateUnchecked(addressOf(data, offset), <usize>length);
    return true;
  }

  /** Adds every byte of `data`. */
  updateAll(data: ArrayBuffer): void {
    this.updateUnchecked(changetype<usize>(data), <usize>data.byteLength);
  }

  /** Adds `len` bytes at `ptr`; the caller guarantees the memory is valid. */
  updateUnchecked(ptr: usize, len: usize): void {
    this.total += <u64>len;
    const block = changetype<usize>(this.block);
    const state = changetype<usize>(this.state);
    let buffered = <usize>this.buffered;
    if (buffered > 0) {
      const take = min<usize>(64 - buffered, len);
      memory.copy(block + buffered, ptr, take);
      buffered += take; ptr += take; len -= take;
      if (buffered < 64) { this.buffered = <i32>buffered; return; }
      sha256Blocks(state, block, 1);
      buffered = 0;
    }
    const whole = len >> 6;
    if (whole > 0) {
      sha256Blocks(state, ptr, whole);
      ptr += whole << 6; len -= whole << 6;
    }
    if (len > 0) memory.copy(block, ptr, len);
    this.buffered = <i32>len;
  }

  /** Writes the 32-byte digest at `out[offset]` and resets; false (nothing written) when out of range. */
  finishInto(out: ArrayBuffer, offset: i32): bool {
    if (!inRange(out, offset, SHA256_DIGEST_LENGTH)) return false;
    this.finishUnchecked(addressOf(out, offset));
    return true;
  }

  /** Returns the digest as a new 32-byte buffer and resets. */
  finish(): ArrayBuffer {
    const out = new ArrayBuffer(SHA256_DIGEST_LENGTH);
    this.finishUnchecked(changetype<usize>(out));
    return out;
  }

  /** Pads (FIPS 180-4 §5.1.1), writes the digest to `out` (32 bytes) and resets. */
  finishUnchecked(out: usize): void {
    const block = changetype<usize>(this.block);
    const state = changetype<usize>(this.state);
    let n = <usize>this.buffered;
    store<u8>(block + n, 0x80);
    n++;
    if (n > 56) {
      memory.fill(block + n, 0, 64 - n);
      sha256Blocks(state, block, 1);
      n = 0;
    }
    memory.fill(block + n, 0, 56 - n);
    storeBe32(block + 56, <u32>(this.total >> 29));
    storeBe32(block + 60, <u32>(this.total << 3));
    sha256Blocks(state, block, 1);
    for (let i: usize = 0; i < 8; i++) storeBe32(out + (i << 2), load<u32>(state + (i << 2)));
    this.reset();
  }
}

// @ts-ignore: decorator
@lazy const shared = new Sha256();

/** SHA-256 of `data[offset, offset + length)` written to `out[outOffset..+32]`; false on a bad range. */
export function sha256Into(data: ArrayBuffer, offset: i32, length: i32, out: ArrayBuffer, outOffset: i32): bool {
  if (!inRange(data, offset, length) || !inRange(out, outOffset, SHA256_DIGEST_LENGTH)) return false;
  shared.reset();
  shared.updateUnchecked(addressOf(data, offset), <usize>length);
  shared.finishUnchecked(addressOf(out, outOffset));
  return true;
}

/** SHA-256 of all of `data`, as a new 32-byte buffer. */
export function sha256(data: ArrayBuffer): ArrayBuffer {
  shared.reset();
  shared.updateAll(data);
  return shared.finish();
}
