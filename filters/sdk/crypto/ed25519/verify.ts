/**
 * Ed25519 signature verification (RFC 8032 §5.1.7), with the acceptance rules of OpenSSL's
 * ossl_ed25519_verify — what Node's crypto.verify answers — so a token is valid here exactly
 * when it is valid for Node (the differential tests check this):
 *
 * - S must be canonical (S < L), else reject (no malleability through S + L).
 * - A is decoded as in point.ts: y >= p and "x = 0 with the sign bit set" are accepted (OpenSSL
 *   does; RFC 8032 would reject — `Ed25519PublicKey.canonical` reports it so configuration can).
 *   A y with no matching x is rejected.
 * - R is not decoded: [S]B - [k]A is encoded canonically and compared byte for byte with R, so a
 *   non-canonical R never verifies.
 * - The cofactorless equation is used (no multiplication by 8), like OpenSSL and RFC 8032's
 *   reference code; small-order A and R are neither special-cased nor rejected.
 *
 * k = SHA-512(R || A || M) mod L over the key's original 32 bytes. [S]B - [k]A is a double-scalar
 * multiplication with signed sliding windows (width 7: tables of the 32 odd multiples 1..63 of B
 * and of A in affine form), 253 doublings and about 2 x 32 mixed additions.
 *
 * Contract: never traps. Ranges are checked (a key must be 32 bytes, a signature 64); any bad
 * range or length is a `false`. `Ed25519PublicKey.parse` does the per-key work once (decoding,
 * the table of A); verifying then allocates nothing, nor does `ed25519Verify` after its first call.
 */
import { addressOf, inRange } from "../bytes";
import { Sha512 } from "../sha512";
import { AFFINE_SIZE, P2_SIZE, P3_SIZE, addAffine, curveInit, oddMultiplesAffine, p1p1ToP2, p1p1ToP3,
         p2Dbl, p2ToBytes, p2Zero, p3FromBytes } from "./point";
import { scalarIsCanonical, scalarReduce, slide } from "./scalar";

export const ED25519_PUBLIC_KEY_LENGTH: i32 = 32;
export const ED25519_SIGNATURE_LENGTH: i32 = 64;

/** Odd multiples per table (1, 3, ..., 63) and the matching digit bound. */
const TABLE_ENTRIES: i32 = 32;
const MAX_DIGIT: i32 = 2 * TABLE_ENTRIES - 1;
const TABLE_SIZE: i32 = TABLE_ENTRIES * <i32>AFFINE_SIZE;

/** The base point B encoded (y = 4/5, x even; RFC 8032 §5.1). */
// @ts-ignore: decorator
@lazy const BASE_ENCODED: usize = memory.data<u8>([
  0x58, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
  0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
]);

// @ts-ignore: decorator
@lazy let baseTable: StaticArray<u8> | null = null;
// @ts-ignore: decorator
@lazy const hasher = new Sha512();

// Verification scratch.
// @ts-ignore: decorator
@lazy const POINT: usize = memory.data(<i32>P3_SIZE, 8);
// @ts-ignore: decorator
@lazy const SUM: usize = memory.data(<i32>P3_SIZE, 8);
// @ts-ignore: decorator
@lazy const ACC: usize = memory.data(<i32>P2_SIZE, 8);
// @ts-ignore: decorator
@lazy const DIGEST: usize = memory.data(64, 8);
// @ts-ignore: decorator
@lazy const K_SCALAR: usize = memory.data(32, 8);
// @ts-ignore: decorator
@lazy const K_DIGITS: usize = memory.data(256, 8);
// @ts-ignore: decorator
@lazy const S_DIGITS: usize = memory.data(256, 8);
// @ts-ignore: decorator
@lazy const CHECK: usize = memory.data(32, 8);

function baseTablePtr(): usize {
  let t = baseTable;
  if (t === null) {
    curveInit();
    t = new StaticArray<u8>(TABLE_SIZE);
    p3FromBytes(POINT, BASE_ENCODED);
    oddMultiplesAffine(changetype<usize>(t), POINT, TABLE_ENTRIES);
    baseTable = t;
  }
  return changetype<usize>(t);
}

/** A decoded public key with its precomputed table; immutable. */
export class Ed25519PublicKey {
  /** The 32 bytes as given (hashed into k as given, as RFC 8032 and OpenSSL do). */
  readonly encoded: StaticArray<u8> = new StaticArray<u8>(32);
  /** Affine odd multiples 1A, 3A, ..., 63A. */
  readonly table: StaticArray<u8> = new StaticArray<u8>(TABLE_SIZE);
  /** False when the encoding is one RFC 8032 §5.1.3 rejects but OpenSSL accepts (y >= p, or -0). */
  canonical: bool = true;

  private constructor() {}

  /** Decodes `key[offset, +length)`; null unless length is 32 and the bytes decode to a point. */
  static parse(key: ArrayBuffer, offset: i32, length: i32): Ed25519PublicKey | null {
    if (length != ED25519_PUBLIC_KEY_LENGTH || !inRange(key, offset, length)) return null;
    return Ed25519PublicKey.parseUnchecked(addressOf(key, offset));
  }

  /** Decodes the 32 bytes at `ptr`; null when they are not a point. */
  static parseUnchecked(ptr: usize): Ed25519PublicKey | null {
    const k = new Ed25519PublicKey();
    return k.decodeUnchecked(ptr) ? k : null;
  }

  /** The one-shot path: decodes into one reused instance instead of allocating a key. */
  static verifyOnceUnchecked(key: usize, msg: usize, len: usize, sig: usize): bool {
    let k = oneShotKey;
    if (k === null) oneShotKey = k = new Ed25519PublicKey();
    return k.decodeUnchecked(key) && k.verifyUnchecked(msg, len, sig);
  }

  private decodeUnchecked(ptr: usize): bool {
    baseTablePtr();
    if (!p3FromBytes(POINT, ptr)) return false;
    memory.copy(changetype<usize>(this.encoded), ptr, 32);
    oddMultiplesAffine(changetype<usize>(this.table), POINT, TABLE_ENTRIES);
    this.canonical = encodingIsCanonical(ptr);
    return true;
  }

  /** Verifies `signature[sigOffset, +sigLength)` over `message[offset, +length)`. */
  verify(message: ArrayBuffer, offset: i32, length: i32, signature: ArrayBuffer, sigOffset: i32, sigLength: i32): bool {
    if (sigLength != ED25519_SIGNATURE_LENGTH || !inRange(signature, sigOffset, sigLength)) return false;
    if (!inRange(message, offset, length)) return false;
    return this.verifyUnchecked(addressOf(message, offset), <usize>length, addressOf(signature, sigOffset));
  }

  /** Verifies the 64-byte signature at `sig` over `len` bytes at `msg` (memory guaranteed by the caller). */
  verifyUnchecked(msg: usize, len: usize, sig: usize): bool {
    const s = sig + 32;
    if (!scalarIsCanonical(s)) return false;
    hasher.reset();
    hasher.updateUnchecked(sig, 32);
    hasher.updateUnchecked(changetype<usize>(this.encoded), 32);
    hasher.updateUnchecked(msg, len);
    hasher.finishUnchecked(DIGEST);
    scalarReduce(K_SCALAR, DIGEST);
    slide(K_DIGITS, K_SCALAR, MAX_DIGIT);
    slide(S_DIGITS, s, MAX_DIGIT);
    doubleScalarMultiply(ACC, K_DIGITS, changetype<usize>(this.table), S_DIGITS, baseTablePtr());
    p2ToBytes(CHECK, ACC);
    return load<u64>(CHECK) == load<u64>(sig) && load<u64>(CHECK + 8) == load<u64>(sig + 8)
      && load<u64>(CHECK + 16) == load<u64>(sig + 16) && load<u64>(CHECK + 24) == load<u64>(sig + 24);
  }
}

/** y < p and not (x = 0 with the sign bit set): the encodings RFC 8032 §5.1.3 accepts. */
function encodingIsCanonical(ptr: usize): bool {
  // y >= p = 2^255 - 19 only when bytes 1..30 are 0xff, byte 31 (sign masked) 0x7f, byte 0 >= 0xed.
  let allOnes = (load<u8>(ptr + 31) & 0x7f) == 0x7f && load<u8>(ptr) >= 0xed;
  for (let i: usize = 1; i < 31 && allOnes; i++) allOnes = load<u8>(ptr + i) == 0xff;
  if (allOnes) return false;
  // x = 0 exactly when y = 1 or y = -1 (u = y^2 - 1 = 0).
  if ((load<u8>(ptr + 31) & 0x80) == 0) return true;
  let isOne = load<u8>(ptr) == 1, isMinusOne = load<u8>(ptr) == 0xec;
  for (let i: usize = 1; i < 31; i++) {
    const b = load<u8>(ptr + i);
    isOne = isOne && b == 0;
    isMinusOne = isMinusOne && b == 0xff;
  }
  isOne = isOne && (load<u8>(ptr + 31) & 0x7f) == 0;
  isMinusOne = isMinusOne && (load<u8>(ptr + 31) & 0x7f) == 0x7f;
  return !isOne && !isMinusOne;
}

/**
 * r (P2) = [s]B - [k]A from signed digits (slide): Straus/Shamir's trick with one doubling per
 * bit from the highest non-zero digit down (ref10's ge_double_scalarmult_vartime with affine
 * tables for both points).
 */
function doubleScalarMultiply(r: usize, kDigits: usize, aTable: usize, sDigits: usize, bTable: usize): void {
  p2Zero(r);
  let i = 255;
  while (i >= 0 && load<i8>(kDigits + <usize>i) == 0 && load<i8>(sDigits + <usize>i) == 0) i--;
  for (; i >= 0; i--) {
    p2Dbl(SUM, r);
    const kd = <i32>load<i8>(kDigits + <usize>i);
    const sd = <i32>load<i8>(sDigits + <usize>i);
    if (kd != 0) {
      p1p1ToP3(POINT, SUM);
      // -[k]A: a positive digit subtracts.
      addAffine(SUM, POINT, aTable + <usize>((kd > 0 ? kd : -kd) >> 1) * AFFINE_SIZE, kd > 0);
    }
    if (sd != 0) {
      p1p1ToP3(POINT, SUM);
      addAffine(SUM, POINT, bTable + <usize>((sd > 0 ? sd : -sd) >> 1) * AFFINE_SIZE, sd < 0);
    }
    p1p1ToP2(r, SUM);
  }
}

// @ts-ignore: decorator
@lazy let oneShotKey: Ed25519PublicKey | null = null;

/**
 * One-shot verification with a raw 32-byte key: decodes the key and builds its table each call
 * (about 1.4x the cost of verifying with a parsed key), in one reused scratch key — no
 * allocation after the first call. Parse keys once with `Ed25519PublicKey.parse` when they are
 * reused.
 */
export function ed25519Verify(publicKey: ArrayBuffer, keyOffset: i32, keyLength: i32,
                              message: ArrayBuffer, offset: i32, length: i32,
                              signature: ArrayBuffer, sigOffset: i32, sigLength: i32): bool {
  if (keyLength != ED25519_PUBLIC_KEY_LENGTH || !inRange(publicKey, keyOffset, keyLength)) return false;
  if (sigLength != ED25519_SIGNATURE_LENGTH || !inRange(signature, sigOffset, sigLength)) return false;
  if (!inRange(message, offset, length)) return false;
  if (!scalarIsCanonical(addressOf(signature, sigOffset) + 32)) return false;
  return Ed25519PublicKey.verifyOnceUnchecked(addressOf(publicKey, keyOffset), addressOf(message, offset),
                                              <usize>length, addressOf(signature, sigOffset));
}
