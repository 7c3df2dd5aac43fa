/**
 * Constant-time byte comparison for secrets (API-key hashes, password digests, HMAC tags).
 *
 * `constantTimeEquals` reads every byte of both ranges and folds their differences with OR, so
 * its running time depends only on the lengths, never on where the first difference is (the
 * timing leak of a short-circuiting compare). Lengths are not secret (digests have fixed size);
 * unequal lengths still walk the shorter range before answering. Bad ranges return false.
 */
import { addressOf, inRange } from "./bytes";

/** True when `a[aOffset, +aLength)` and `b[bOffset, +bLength)` hold the same bytes. */
export function constantTimeEquals(a: ArrayBuffer, aOffset: i32, aLength: i32,
                                   b: ArrayBuffer, bOffset: i32, bLength: i32): bool {
  if (!inRange(a, aOffset, aLength) || !inRange(b, bOffset, bLength)) return false;
  return constantTimeEqualsUnchecked(addressOf(a, aOffset), <usize>aLength, addressOf(b, bOffset), <usize>bLength);
}

/** True when the two buffers hold the same bytes. */
export function constantTimeEqualsBuffers(a: ArrayBuffer, b: ArrayBuffer): bool {
  return constantTimeEqualsUnchecked(changetype<usize>(a), <usize>a.byteLength, changetype<usize>(b), <usize>b.byteLength);
}

/** Pointer form; the caller guarantees both ranges are valid memory. */
export function constantTimeEqualsUnchecked(a: usize, aLength: usize, b: usize, bLength: usize): bool {
  const n = min<usize>(aLength, bLength);
  let diff: u32 = <u32><bool>(aLength != bLength);
  let i: usize = 0;
  for (; i + 8 <= n; i += 8) {
    const x = load<u64>(a + i) ^ load<u64>(b + i);
    diff |= <u32>(x >>> 32) | <u32>x;
  }
  for (; i < n; i++) diff |= <u32>(load<u8>(a + i) ^ load<u8>(b + i));
  return diff == 0;
}
