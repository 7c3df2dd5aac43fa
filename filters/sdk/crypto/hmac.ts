/**
 * HMAC-SHA256 (RFC 2104, FIPS 198-1; test vectors RFC 4231).
 *
 * A key longer than the 64-byte block is first replaced by its SHA-256 digest (RFC 2104 §2 —
 * with SHA-256, the MAC's own hash). `HmacSha256Key` absorbs K ^ ipad and K ^ opad once and keeps
 * the two chaining values, so a key configured once (an HS256 JWK, a cache key) costs one
 * compression per MAC for the outer hash plus the message blocks — no per-MAC key schedule.
 *
 * Contract: ranges are (ArrayBuffer, offset, length) and checked first; a bad range returns
 * false / null and changes nothing. MACs never allocate except the convenience `hmacSha256`.
 */
import { addressOf, inRange } from "./bytes";
import { Sha256, SHA256_BLOCK_LENGTH, SHA256_DIGEST_LENGTH } from "./sha256";

export const HMAC_SHA256_LENGTH: i32 = SHA256_DIGEST_LENGTH;

/** Scratch for one padded key block (64 bytes) and an inner digest (32 bytes). */
// @ts-ignore: decorator
@lazy const PAD: usize = memory.data(64, 16);
// @ts-ignore: decorator
@lazy const INNER: usize = memory.data(32, 16);
// @ts-ignore: decorator
@lazy const hasher = new Sha256();

/** A prepared HMAC-SHA256 key: the chaining values after K ^ ipad and after K ^ opad. */
export class HmacSha256Key {
  /** words 0..7: inner chaining value; 8..15: outer chaining value. */
  readonly chains: StaticArray<u32> = new StaticArray<u32>(16);

  private constructor() {}

  /** Prepares `key[offset, offset + length)` (any length, including 0); null on a bad range. */
  static fromBytes(key: ArrayBuffer, offset: i32, length: i32): HmacSha256Key | null {
    if (!inRange(key, offset, length)) return null;
    const k = new HmacSha256Key();
    k.prepareUnchecked(addressOf(key, offset), <usize>length);
    return k;
  }

  /** Prepares all of `key`. */
  static from(key: ArrayBuffer): HmacSha256Key {
    const k = new HmacSha256Key();
    k.prepareUnchecked(changetype<usize>(key), <usize>key.byteLength);
    return k;
  }

  private prepareUnchecked(ptr: usize, len: usize): void {
    memory.fill(PAD, 0, 64);
    if (len > <usize>SHA256_BLOCK_LENGTH) {
      hasher.reset();
      hasher.updateUnchecked(ptr, len);
      hasher.finishUnchecked(PAD);
    } else {
      memory.copy(PAD, ptr, len);
    }
    const chains = changetype<usize>(this.chains);
    for (let i: usize = 0; i < 64; i += 4) store<u32>(PAD + i, load<u32>(PAD + i) ^ 0x36363636);
    hasher.reset();
    hasher.updateUnchecked(PAD, 64);
    hasher.chainingValueUnchecked(chains);
    // (K ^ ipad) ^ (ipad ^ opad) = K ^ opad
    for (let i: usize = 0; i < 64; i += 4) store<u32>(PAD + i, load<u32>(PAD + i) ^ 0x6a6a6a6a);
    hasher.reset();
    hasher.updateUnchecked(PAD, 64);
    hasher.chainingValueUnchecked(chains + 32);
    memory.fill(PAD, 0, 64);
    hasher.reset();
  }
}

/** Streaming HMAC-SHA256 under a prepared key. */
export class HmacSha256 {
  private readonly inner: Sha256 = new Sha256();
  private key: HmacSha256Key;

  constructor(key: HmacSha256Key) {
    this.key = key;
    this.reset();
  }

  /** Starts a new message under `key` (or the current key). */
  reset(key: HmacSha256Key | null = null): HmacSha256 {
    if (key !== null) this.key = key;
    this.inner.resumeUnchecked(changetype<usize>(this.key.chains), 64);
    return this;
  }

  /** Adds `length` bytes of `data` from `offset`; false (state unchanged) when out of range. */
  update(data: ArrayBuffer, offset: i32, length: i32): bool {
    return this.inner.update(data, offset, length);
  }

  /** Adds `len` bytes at `ptr`; the caller guarantees the memory is valid. */
  updateUnchecked(ptr: usize, len: usize): void {
    this.inner.updateUnchecked(ptr, len);
  }

  /** Writes the 32-byte MAC at `out[offset]` and restarts; false (nothing written) when out of range. */
  finishInto(out: ArrayBuffer, offset: i32): bool {
    if (!inRange(out, offset, HMAC_SHA256_LENGTH)) return false;
    this.finishUnchecked(addressOf(out, offset));
    return true;
  }

  /** H((K ^ opad) || H((K ^ ipad) || m)) to `out` (32 bytes), then restarts. */
  finishUnchecked(out: usize): void {
    this.inner.finishUnchecked(INNER);
    this.inner.resumeUnchecked(changetype<usize>(this.key.chains) + 32, 64);
    this.inner.updateUnchecked(INNER, 32);
    this.inner.finishUnchecked(out);
    this.reset();
  }
}

// @ts-ignore: decorator
@lazy let sharedMac: HmacSha256 | null = null;

/** HMAC-SHA256 of `data[offset, offset + length)` under `key` into `out[outOffset..+32]`; false on a bad range. */
export function hmacSha256Into(key: HmacSha256Key, data: ArrayBuffer, offset: i32, length: i32,
                               out: ArrayBuffer, outOffset: i32): bool {
  if (!inRange(data, offset, length) || !inRange(out, outOffset, HMAC_SHA256_LENGTH)) return false;
  let mac = sharedMac;
  if (mac === null) sharedMac = mac = new HmacSha256(key);
  else mac.reset(key);
  mac.updateUnchecked(addressOf(data, offset), <usize>length);
  mac.finishUnchecked(addressOf(out, outOffset));
  return true;
}

/** HMAC-SHA256 of all of `data` under all of `key`, as a new 32-byte buffer (prepares the key each call). */
export function hmacSha256(key: ArrayBuffer, data: ArrayBuffer): ArrayBuffer {
  const out = new ArrayBuffer(HMAC_SHA256_LENGTH);
  hmacSha256Into(HmacSha256Key.from(key), data, 0, data.byteLength, out, 0);
  return out;
}
