/**
 * The Ed25519 group (twisted Edwards curve -x^2 + y^2 = 1 + d x^2 y^2 over GF(2^255 - 19),
 * RFC 8032 §5.1) in the coordinate systems of ref10 (Bernstein et al., "High-speed high-security
 * signatures", 2011; Hisil, Wong, Carter, Dawson, "Twisted Edwards curves revisited", 2008):
 *
 *   P2     (X, Y, Z)            x = X/Z, y = Y/Z                         120 bytes
 *   P3     (X, Y, Z, T)         extended: also xy = T/Z                  160 bytes
 *   P1P1   (X, Y, Z, T)         completed: x = X/Z, y = Y/T              160 bytes
 *   CACHED (Y+X, Y-X, Z, 2dT)   an addend for P3 + P3                    160 bytes
 *   AFFINE (y+x, y-x, 2dxy)     a precomputed addend with Z = 1          120 bytes
 *
 * Each element is a field.ts element (40 bytes) at the offsets below; functions take pointers.
 * The formulas are ref10's, in ref10's order, so field limb bounds hold. Variable time: only
 * public data (keys, signatures) goes through here.
 */
import { FE_SIZE, feAdd, feCarry, feCopy, feInvert, feIsNegative, feIsNonZero, feMul, feNeg, feOne,
         feSq, feSq2, feSub, feZero, feFromBytes, fePow22523, feToBytes, feSetSmall } from "./field";

export const X: usize = 0;
export const Y: usize = FE_SIZE;
export const Z: usize = 2 * FE_SIZE;
export const T: usize = 3 * FE_SIZE;
export const P2_SIZE: usize = 3 * FE_SIZE;
export const P3_SIZE: usize = 4 * FE_SIZE;
export const AFFINE_SIZE: usize = 3 * FE_SIZE;

/** Curve constants, filled by `curveInit`: d, 2d, sqrt(-1). */
// @ts-ignore: decorator
@lazy const D: usize = memory.data(<i32>FE_SIZE, 8);
// @ts-ignore: decorator
@lazy const D2: usize = memory.data(<i32>FE_SIZE, 8);
// @ts-ignore: decorator
@lazy const SQRTM1: usize = memory.data(<i32>FE_SIZE, 8);
// @ts-ignore: decorator
@lazy let initialized = false;

// Scratch elements (single-threaded, not re-entered).
// @ts-ignore: decorator
@lazy const F0: usize = memory.data(<i32>FE_SIZE, 8);
// @ts-ignore: decorator
@lazy const F1: usize = memory.data(<i32>FE_SIZE, 8);
// @ts-ignore: decorator
@lazy const F2: usize = memory.data(<i32>FE_SIZE, 8);
// @ts-ignore: decorator
@lazy const F3: usize = memory.data(<i32>FE_SIZE, 8);

/**
 * Computes the constants instead of embedding them: d = -121665/121666 (RFC 8032 §5.1),
 * sqrt(-1) = 2^((p-1)/4) = (2^((p-5)/8))^2 * 2. Idempotent.
 */
export function curveInit(): void {
  if (initialized) return;
  feSetSmall(F0, 121666);
  feInvert(F1, F0);
  feSetSmall(F0, 121665);
  feNeg(F0, F0);
  feMul(D, F0, F1);
  feAdd(D2, D, D);
  feCarry(D2, D2);
  feSetSmall(F0, 2);
  fePow22523(F1, F0);
  feSq(F1, F1);
  feMul(SQRTM1, F1, F0);
  initialized = true;
}

/** r = the neutral element (0, 1) as P2. */
export function p2Zero(r: usize): void {
  feZero(r + X);
  feOne(r + Y);
  feOne(r + Z);
}

/** r (P2) = p (P1P1). */
export function p1p1ToP2(r: usize, p: usize): void {
  feMul(r + X, p + X, p + T);
  feMul(r + Y, p + Y, p + Z);
  feMul(r + Z, p + Z, p + T);
}

/** r (P3) = p (P1P1). */
export function p1p1ToP3(r: usize, p: usize): void {
  feMul(r + X, p + X, p + T);
  feMul(r + Y, p + Y, p + Z);
  feMul(r + Z, p + Z, p + T);
  feMul(r + T, p + X, p + Y);
}

/** r (CACHED) = p (P3). */
export function p3ToCached(r: usize, p: usize): void {
  feAdd(r + X, p + Y, p + X);
  feSub(r + Y, p + Y, p + X);
  feCopy(r + Z, p + Z);
  feMul(r + T, p + T, D2);
}

/** r (P1P1) = 2 p, p a P2 (dbl-2008-hwcd). p may also be a P3 (its T is not read). */
export function p2Dbl(r: usize, p: usize): void {
  feSq(r + X, p + X);
  feSq(r + Z, p + Y);
  feSq2(r + T, p + Z);
  feAdd(r + Y, p + X, p + Y);
  feSq(F0, r + Y);
  feAdd(r + Y, r + Z, r + X);
  feSub(r + Z, r + Z, r + X);
  feSub(r + X, F0, r + Y);
  feSub(r + T, r + T, r + Z);
}

/** r (P1P1) = p (P3) + q (CACHED); or p - q when `subtract` (add-2008-hwcd-3). */
export function addCached(r: usize, p: usize, q: usize, subtract: bool): void {
  feAdd(r + X, p + Y, p + X);
  feSub(r + Y, p + Y, p + X);
  feMul(r + Z, r + X, q + (subtract ? Y : X));
  feMul(r + Y, r + Y, q + (subtract ? X : Y));
  feMul(r + T, q + T, p + T);
  feMul(r + X, p + Z, q + Z);
  feAdd(F0, r + X, r + X);
  feSub(r + X, r + Z, r + Y);
  feAdd(r + Y, r + Z, r + Y);
  if (subtract) {
    feSub(r + Z, F0, r + T);
    feAdd(r + T, F0, r + T);
  } else {
    feAdd(r + Z, F0, r + T);
    feSub(r + T, F0, r + T);
  }
}

/** r (P1P1) = p (P3) + q (AFFINE); or p - q when `subtract` (madd-2008-hwcd-3). */
export function addAffine(r: usize, p: usize, q: usize, subtract: bool): void {
  feAdd(r + X, p + Y, p + X);
  feSub(r + Y, p + Y, p + X);
  feMul(r + Z, r + X, q + (subtract ? Y : X));
  feMul(r + Y, r + Y, q + (subtract ? X : Y));
  feMul(r + T, q + Z, p + T);
  feAdd(F0, p + Z, p + Z);
  feSub(r + X, r + Z, r + Y);
  feAdd(r + Y, r + Z, r + Y);
  if (subtract) {
    feSub(r + Z, F0, r + T);
    feAdd(r + T, F0, r + T);
  } else {
    feAdd(r + Z, F0, r + T);
    feSub(r + T, F0, r + T);
  }
}

/**
 * Decodes a 32-byte point (RFC 8032 §5.1.3) into r (P3), exactly as OpenSSL (and so Node's
 * crypto.verify) does: y is the low 255 bits taken mod p (a y >= p is accepted), x is recovered
 * as sqrt((y^2 - 1) / (d y^2 + 1)) via x = u v^3 (u v^7)^((p-5)/8), times sqrt(-1) when v x^2 = -u;
 * fails when neither v x^2 = u nor = -u. An x = 0 with the sign bit set is accepted as x = 0.
 */
export function p3FromBytes(r: usize, s: usize): bool {
  curveInit();
  const u = F1, v = F2, vxx = F3;
  feFromBytes(r + Y, s);
  feOne(r + Z);
  feSq(u, r + Y);
  feMul(v, u, D);
  feSub(u, u, r + Z);              // u = y^2 - 1
  feAdd(v, v, r + Z);              // v = d y^2 + 1
  feSq(F0, v);
  feMul(F0, F0, v);                // v^3
  feSq(r + X, F0);
  feMul(r + X, r + X, v);
  feMul(r + X, r + X, u);          // u v^7
  fePow22523(r + X, r + X);
  feMul(r + X, r + X, F0);
  feMul(r + X, r + X, u);          // x = u v^3 (u v^7)^((p-5)/8)
  feSq(vxx, r + X);
  feMul(vxx, vxx, v);
  feSub(F0, vxx, u);
  if (feIsNonZero(F0)) {
    feAdd(F0, vxx, u);
    if (feIsNonZero(F0)) return false;
    feMul(r + X, r + X, SQRTM1);
  }
  if (feIsNegative(r + X) != ((load<u8>(s + 31) >> 7) != 0)) feNeg(r + X, r + X);
  feMul(r + T, r + X, r + Y);
  return true;
}

/** Writes the canonical encoding of p (P2): y mod p, with bit 255 = x mod p odd (RFC 8032 §5.1.2). */
export function p2ToBytes(s: usize, p: usize): void {
  feInvert(F1, p + Z);
  feMul(F2, p + X, F1);
  feMul(F3, p + Y, F1);
  feToBytes(s, F3);
  if (feIsNegative(F2)) store<u8>(s + 31, load<u8>(s + 31) | 0x80);
}

/**
 * Writes [P, 3P, 5P, ..., (2n-1)P] for p (P3) to `out` as n AFFINE entries (Montgomery's trick:
 * one inversion for all n). Configure-time work: allocates and frees its scratch.
 */
export function oddMultiplesAffine(out: usize, p: usize, n: i32): void {
  const points = heap.alloc(<usize>n * P3_SIZE);
  const prefix = heap.alloc(<usize>n * FE_SIZE);
  const twice = heap.alloc(P3_SIZE);
  const cached = heap.alloc(P3_SIZE);
  const sum = heap.alloc(P3_SIZE);
  memory.copy(points, p, P3_SIZE);
  p2Dbl(sum, p);
  p1p1ToP3(twice, sum);
  p3ToCached(cached, twice);
  for (let i = 1; i < n; i++) {
    addCached(sum, points + <usize>(i - 1) * P3_SIZE, cached, false);
    p1p1ToP3(points + <usize>i * P3_SIZE, sum);
  }
  // prefix[i] = Z_0 * ... * Z_i; then walk back with inv = 1 / prefix[i].
  feCopy(prefix, points + Z);
  for (let i = 1; i < n; i++) {
    feMul(prefix + <usize>i * FE_SIZE, prefix + <usize>(i - 1) * FE_SIZE, points + <usize>i * P3_SIZE + Z);
  }
  const inv = twice, zinv = twice + FE_SIZE, x = twice + 2 * FE_SIZE, y = twice + 3 * FE_SIZE;
  feInvert(inv, prefix + <usize>(n - 1) * FE_SIZE);
  for (let i = n - 1; i >= 0; i--) {
    const q = points + <usize>i * P3_SIZE;
    if (i > 0) {
      feMul(zinv, inv, prefix + <usize>(i - 1) * FE_SIZE);
      feMul(inv, inv, q + Z);
    } else {
      feCopy(zinv, inv);
    }
    feMul(x, q + X, zinv);
    feMul(y, q + Y, zinv);
    const e = out + <usize>i * AFFINE_SIZE;
    feAdd(e + X, y, x);
    feCarry(e + X, e + X);
    feSub(e + Y, y, x);
    feCarry(e + Y, e + Y);
    feMul(e + Z, x, y);
    feMul(e + Z, e + Z, D2);
  }
  heap.free(sum);
  heap.free(cached);
  heap.free(twice);
  heap.free(prefix);
  heap.free(points);
}
