/**
 * SHA-512 (FIPS 180-4 §6.4): streaming `Sha512` and one-shot `sha512` / `sha512Into`. Ed25519
 * (RFC 8032 §5.1) hashes R || A || M with it; exposed for any other use.
 *
 * Contract as sha256.ts: (ArrayBuffer, offset, length) ranges checked before any memory access,
 * a bad range returns false (or null) with the state untouched, hashing never allocates, one
 * static 640-byte message schedule.
 */
import { addressOf, inRange, loadBe64, storeBe64 } from "./bytes";

export const SHA512_DIGEST_LENGTH: i32 = 64;
export const SHA512_BLOCK_LENGTH: i32 = 128;

/** Round constants K (FIPS 180-4 §4.2.3). */
// @ts-ignore: decorator
@lazy const K: usize = memory.data<u64>([
  0x428a2f98d728ae22, 0x7137449123ef65cd, 0xb5c0fbcfec4d3b2f, 0xe9b5dba58189dbbc, 0x3956c25bf348b538,
  0x59f111f1b605d019, 0x923f82a4af194f9b, 0xab1c5ed5da6d8118, 0xd807aa98a3030242, 0x12835b0145706fbe,
  0x243185be4ee4b28c, 0x550c7dc3d5ffb4e2, 0x72be5d74f27b896f, 0x80deb1fe3b1696b1, 0x9bdc06a725c71235,
  0xc19bf174cf692694, 0xe49b69c19ef14ad2, 0xefbe4786384f25e3, 0x0fc19dc68b8cd5b5, 0x240ca1cc77ac9c65,
  0x2de92c6f592b0275, 0x4a7484aa6ea6e483, 0x5cb0a9dcbd41fbd4, 0x76f988da831153b5, 0x983e5152ee66dfab,
  0xa831c66d2db43210, 0xb00327c898fb213f, 0xbf597fc7beef0ee4, 0xc6e00bf33da88fc2, 0xd5a79147930aa725,
  0x06ca6351e003826f, 0x142929670a0e6e70, 0x27b70a8546d22ffc, 0x2e1b21385c26c926, 0x4d2c6dfc5ac42aed,
  0x53380d139d95b3df, 0x650a73548baf63de, 0x766a0abb3c77b2a8, 0x81c2c92e47edaee6, 0x92722c851482353b,
  0xa2bfe8a14cf10364, 0xa81a664bbc423001, 0xc24b8b70d0f89791, 0xc76c51a30654be30, 0xd192e819d6ef5218,
  0xd69906245565a910, 0xf40e35855771202a, 0x106aa07032bbd1b8, 0x19a4c116b8d2d0c8, 0x1e376c085141ab53,
  0x2748774cdf8eeb99, 0x34b0bcb5e19b48a8, 0x391c0cb3c5c95a63, 0x4ed8aa4ae3418acb, 0x5b9cca4f7763e373,
  0x682e6ff3d6b2b8a3, 0x748f82ee5defb2fc, 0x78a5636f43172f60, 0x84c87814a1f0ab72, 0x8cc702081a6439ec,
  0x90befffa23631e28, 0xa4506cebde82bde9, 0xbef9a3f7b2c67915, 0xc67178f2e372532b, 0xca273eceea26619c,
  0xd186b8c721c0c207, 0xeada7dd6cde0eb1e, 0xf57d4f7fee6ed178, 0x06f067aa72176fba, 0x0a637dc5a2c898a6,
  0x113f9804bef90dae, 0x1b710b35131c471b, 0x28db77f523047d84, 0x32caab7b40c72493, 0x3c9ebe0a15c9bebc,
  0x431d67c49c100d4c, 0x4cc5d4becb3e42b6, 0x597f299cfc657e2a, 0x5fcb6fab3ad6faec, 0x6c44198c4a475817,
]);

/** Message schedule W[0..79] (scratch). */
// @ts-ignore: decorator
@lazy const W: usize = memory.data(80 * 8, 16);

// FIPS 180-4 §4.1.3 functions.
// @ts-ignore: decorator
@inline function choose(x: u64, y: u64, z: u64): u64 { return z ^ (x & (y ^ z)); }
// @ts-ignore: decorator
@inline function majority(x: u64, y: u64, z: u64): u64 { return (x & y) | (z & (x | y)); }
// @ts-ignore: decorator
@inline function sigma0(x: u64): u64 { return rotr<u64>(x, 28) ^ rotr<u64>(x, 34) ^ rotr<u64>(x, 39); }
// @ts-ignore: decorator
@inline function sigma1(x: u64): u64 { return rotr<u64>(x, 14) ^ rotr<u64>(x, 18) ^ rotr<u64>(x, 41); }

/** Compresses `blocks` 128-byte blocks at `ptr` into the 8-word state at `state` (FIPS 180-4 §6.4.2). */
export function sha512Blocks(state: usize, ptr: usize, blocks: usize): void {
  let h0 = load<u64>(state, 0), h1 = load<u64>(state, 8), h2 = load<u64>(state, 16), h3 = load<u64>(state, 24);
  let h4 = load<u64>(state, 32), h5 = load<u64>(state, 40), h6 = load<u64>(state, 48), h7 = load<u64>(state, 56);
  while (blocks-- > 0) {
    for (let t: usize = 0; t < 16; t++) store<u64>(W + (t << 3), loadBe64(ptr + (t << 3)));
    for (let t: usize = 16; t < 80; t++) {
      const w15 = load<u64>(W + ((t - 15) << 3));
      const w2 = load<u64>(W + ((t - 2) << 3));
      const s0 = rotr<u64>(w15, 1) ^ rotr<u64>(w15, 8) ^ (w15 >>> 7);
      const s1 = rotr<u64>(w2, 19) ^ rotr<u64>(w2, 61) ^ (w2 >>> 6);
      store<u64>(W + (t << 3), s1 + load<u64>(W + ((t - 7) << 3)) + s0 + load<u64>(W + ((t - 16) << 3)));
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
    // One round per iteration (FIPS 180-4 §6.4.2 step 3, the variables shifted as written
    // there): an eight-round unrolled body runs a little faster but costs the module ~570 bytes.
    for (let t: usize = 0; t < 640; t += 8) {
      const x = h + sigma1(e) + choose(e, f, g) + load<u64>(K + t) + load<u64>(W + t);
      h = g; g = f; f = e; e = d + x;
      d = c; c = b; b = a; a = x + sigma0(b) + majority(b, c, d);
    }
    h0 += a; h1 += b; h2 += c; h3 += d; h4 += e; h5 += f; h6 += g; h7 += h;
    ptr += 128;
  }
  store<u64>(state, h0, 0); store<u64>(state, h1, 8); store<u64>(state, h2, 16); store<u64>(state, h3, 24);
  store<u64>(state, h4, 32); store<u64>(state, h5, 40); store<u64>(state, h6, 48); store<u64>(state, h7, 56);
}

/** Streaming SHA-512. `finish*` resets the hash, so one instance serves many messages. */
export class Sha512 {
  private readonly state: StaticArray<u64> = new StaticArray<u64>(8);
  private readonly block: StaticArray<u8> = new StaticArray<u8>(128);
  private buffered: i32 = 0;
  private total: u64 = 0;

  constructor() {
    this.reset();
  }

  /** Starts a new message with H(0) (FIPS 180-4 §5.3.5). */
  reset(): Sha512 {
    const s = changetype<usize>(this.state);
    store<u64>(s, 0x6a09e667f3bcc908, 0); store<u64>(s, 0xbb67ae8584caa73b, 8);
    store<u64>(s, 0x3c6ef372fe94f82b, 16); store<u64>(s, 0xa54ff53a5f1d36f1, 24);
    store<u64>(s, 0x510e527fade682d1, 32); store<u64>(s, 0x9b05688c2b3e6c1f, 40);
    store<u64>(s, 0x1f83d9abfb41bd6b, 48); store<u64>(s, 0x5be0cd19137e2179, 56);
    this.buffered = 0;
    this.total = 0;
    return this;
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
      const take = min<usize>(128 - buffered, len);
      memory.copy(block + buffered, ptr, take);
      buffered += take; ptr += take; len -= take;
      if (buffered < 128) { this.buffered = <i32>buffered; return; }
      sha512Blocks(state, block, 1);
      buffered = 0;
    }
    const whole = len >> 7;
    if (whole > 0) {
      sha512Blocks(state, ptr, whole);
      ptr += whole << 7; len -= whole << 7;
    }
    if (len > 0) memory.copy(block, ptr, len);
    this.buffered = <i32>len;
  }

  /** Writes the 64-byte digest at `out[offset]` and resets; false (nothing written) when out of range. */
  finishInto(out: ArrayBuffer, offset: i32): bool {
    if (!inRange(out, offset, SHA512_DIGEST_LENGTH)) return false;
    this.finishUnchecked(addressOf(out, offset));
    return true;
  }

  /** Returns the digest as a new 64-byte buffer and resets. */
  finish(): ArrayBuffer {
    const out = new ArrayBuffer(SHA512_DIGEST_LENGTH);
    this.finishUnchecked(changetype<usize>(out));
    return out;
  }

  /** Pads (FIPS 180-4 §5.1.2, 128-bit length), writes the digest to `out` (64 bytes) and resets. */
  finishUnchecked(out: usize): void {
    const block = changetype<usize>(this.block);
    const state = changetype<usize>(this.state);
    let n = <usize>this.buffered;
    store<u8>(block + n, 0x80);
    n++;
    if (n > 112) {
      memory.fill(block + n, 0, 128 - n);
      sha512Blocks(state, block, 1);
      n = 0;
    }
    memory.fill(block + n, 0, 112 - n);
    storeBe64(block + 112, this.total >> 61);
    storeBe64(block + 120, this.total << 3);
    sha512Blocks(state, block, 1);
    for (let i: usize = 0; i < 8; i++) storeBe64(out + (i << 3), load<u64>(state + (i << 3)));
    this.reset();
  }
}

// @ts-ignore: decorator
@lazy const shared = new Sha512();

/** SHA-512 of `data[offset, offset + length)` written to `out[outOffset..+64]`; false on a bad range. */
export function sha512Into(data: ArrayBuffer, offset: i32, length: i32, out: ArrayBuffer, outOffset: i32): bool {
  if (!inRange(data, offset, length) || !inRange(out, outOffset, SHA512_DIGEST_LENGTH)) return false;
  shared.reset();
  shared.updateUnchecked(addressOf(data, offset), <usize>length);
  shared.finishUnchecked(addressOf(out, outOffset));
  return true;
}

/** SHA-512 of all of `data`, as a new 64-byte buffer. */
export function sha512(data: ArrayBuffer): ArrayBuffer {
  shared.reset();
  shared.updateAll(data);
  return shared.finish();
}
