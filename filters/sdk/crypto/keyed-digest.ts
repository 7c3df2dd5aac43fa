/**
 * Keyed digests for caches: HMAC-SHA256 (hmac.ts) under a 32-byte key drawn once per VM from
 * WASI `random_get` (random.ts).
 *
 * Why keyed: a cache of verified tokens or password checks keyed by a plain hash lets anyone who
 * knows the hash aim at a slot (hash flooding, or a 64-bit collision found offline with 2^32
 * work); under a secret per-VM key the digest is unpredictable. Use the full 32 bytes as the
 * cache identity (compare with ct.ts) and `keyedDigest64` only to pick a bucket.
 *
 * Contract: the key is drawn on first use. If the host has no randomness (random_get fails), no
 * key exists and every function returns false / 0 with `keyedDigestAvailable()` false — callers
 * then skip caching instead of caching under a guessable key. Never traps.
 */
import { addressOf, inRange } from "./bytes";
import { HmacSha256, HmacSha256Key, HMAC_SHA256_LENGTH } from "./hmac";
import { fillRandom } from "./random";

export const KEYED_DIGEST_LENGTH: i32 = HMAC_SHA256_LENGTH;

// @ts-ignore: decorator
@lazy let mac: HmacSha256 | null = null;
// @ts-ignore: decorator
@lazy const DIGEST: usize = memory.data(32, 16);

function ready(): HmacSha256 | null {
  let m = mac;
  if (m !== null) return m;
  const seed = new ArrayBuffer(32);
  if (!fillRandom(seed, 0, 32)) return null;
  m = new HmacSha256(HmacSha256Key.from(seed));
  memory.fill(changetype<usize>(seed), 0, 32);
  mac = m;
  return m;
}

/** True when a per-VM key exists (drawing it now if needed). */
export function keyedDigestAvailable(): bool {
  return ready() !== null;
}

/** Keyed digest of `data[offset, +length)` into `out[outOffset..+32]`; false on a bad range or no key. */
export function keyedDigestInto(data: ArrayBuffer, offset: i32, length: i32, out: ArrayBuffer, outOffset: i32): bool {
  if (!inRange(data, offset, length) || !inRange(out, outOffset, KEYED_DIGEST_LENGTH)) return false;
  const m = ready();
  if (m === null) return false;
  m.updateUnchecked(addressOf(data, offset), <usize>length);
  m.finishUnchecked(addressOf(out, outOffset));
  return true;
}

/** First 8 bytes of the keyed digest (little-endian u64), for bucket selection; 0 on a bad range or no key. */
export function keyedDigest64(data: ArrayBuffer, offset: i32, length: i32): u64 {
  if (!inRange(data, offset, length)) return 0;
  const m = ready();
  if (m === null) return 0;
  m.updateUnchecked(addressOf(data, offset), <usize>length);
  m.finishUnchecked(DIGEST);
  return load<u64>(DIGEST);
}
