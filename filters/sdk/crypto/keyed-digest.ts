/**
 * Keyed digests for caches, under keys drawn once per VM from WASI `random_get` (random.ts):
 *
 * - `keyedDigestInto`: HMAC-SHA256 (hmac.ts), 32 bytes — a cache identity: two inputs share it
 *   only if they are equal (SHA-256 collision resistance), and nobody can predict it.
 * - `keyedHash64`: SipHash-2-4 (siphash.ts), 64 bits, ~10x cheaper — a bucket index: an attacker
 *   cannot aim inputs at one bucket (hash flooding), but 64 bits are not an identity, so compare
 *   the stored input (constant-time, ct.ts) or its keyed digest before trusting a hit.
 *
 * Contract: the keys are drawn on first use. If the host has no randomness (random_get fails)
 * there is no key, every function returns false / 0 and `keyedDigestAvailable()` is false —
 * callers then skip caching instead of caching under a guessable key — and the next call tries
 * again. Never traps.
 */
import { addressOf, inRange } from "./bytes";
import { HmacSha256, HmacSha256Key, HMAC_SHA256_LENGTH } from "./hmac";
import { fillRandom } from "./random";
import { sipHash24Unchecked } from "./siphash";

export const KEYED_DIGEST_LENGTH: i32 = HMAC_SHA256_LENGTH;

// @ts-ignore: decorator
@lazy let mac: HmacSha256 | null = null;
// @ts-ignore: decorator
@lazy let sipK0: u64 = 0;
// @ts-ignore: decorator
@lazy let sipK1: u64 = 0;

function ready(): HmacSha256 | null {
  let m = mac;
  if (m !== null) return m;
  const seed = new ArrayBuffer(48);
  if (!fillRandom(seed, 0, 48)) return null;
  const p = changetype<usize>(seed);
  m = new HmacSha256(HmacSha256Key.fromBytes(seed, 0, 32)!);
  sipK0 = load<u64>(p + 32);
  sipK1 = load<u64>(p + 40);
  memory.fill(p, 0, 48);
  mac = m;
  return m;
}

/** True when the per-VM keys exist (drawing them now if needed). */
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

/** Keyed 64-bit hash of `data[offset, +length)` for bucket selection; 0 on a bad range or no key. */
export function keyedHash64(data: ArrayBuffer, offset: i32, length: i32): u64 {
  if (!inRange(data, offset, length)) return 0;
  if (ready() === null) return 0;
  return sipHash24Unchecked(sipK0, sipK1, addressOf(data, offset), <usize>length);
}
