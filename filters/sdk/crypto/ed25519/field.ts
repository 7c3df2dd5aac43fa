/**
 * Arithmetic in GF(2^255 - 19) for Ed25519, radix 2^25.5: an element is 10 signed 32-bit limbs
 * h0..h9 at a pointer (40 bytes), value h0 + h1*2^26 + h2*2^51 + h3*2^77 + ... + h9*2^230 (limb
 * i has 26 bits when i is even, 25 when odd). Products are formed in i64 and carried back, as
 * in the ref10 implementation of Bernstein, Duif, Lange, Schwabe and Yang ("High-speed
 * high-security signatures", 2011) and RFC 8032 §5.1 — the layout that suits Wasm, which has a
 * 64-bit multiply but no 64x64->128 one.
 *
 * Limb bounds follow ref10: mul / sq / carry outputs are "reduced" (|h_i| <= ~2^25 or ~2^24);
 * add / sub of two reduced elements may feed a mul / sq directly but must not be added to again
 * before a mul or carry — the point formulas in point.ts respect this exactly as ref10 does.
 * Every function takes pointers to valid 40-byte elements; outputs may alias inputs.
 */

export const FE_SIZE: usize = 40;

// @ts-ignore: decorator
@inline function ld(p: usize, offset: usize): i64 {
  return <i64>load<i32>(p + offset);
}

export function feZero(h: usize): void {
  memory.fill(h, 0, FE_SIZE);
}

export function feOne(h: usize): void {
  memory.fill(h, 0, FE_SIZE);
  store<i32>(h, 1);
}

export function feCopy(h: usize, f: usize): void {
  memory.copy(h, f, FE_SIZE);
}

/** h = small non-negative integer v (< 2^25). */
export function feSetSmall(h: usize, v: i32): void {
  memory.fill(h, 0, FE_SIZE);
  store<i32>(h, v);
}

/** h = f + g (no carry). */
export function feAdd(h: usize, f: usize, g: usize): void {
  for (let i: usize = 0; i < FE_SIZE; i += 4) store<i32>(h + i, load<i32>(f + i) + load<i32>(g + i));
}

/** h = f - g (no carry). */
export function feSub(h: usize, f: usize, g: usize): void {
  for (let i: usize = 0; i < FE_SIZE; i += 4) store<i32>(h + i, load<i32>(f + i) - load<i32>(g + i));
}

/** h = -f. */
export function feNeg(h: usize, f: usize): void {
  for (let i: usize = 0; i < FE_SIZE; i += 4) store<i32>(h + i, -load<i32>(f + i));
}

/**
 * Carries 10 wide limbs back to reduced form and stores them (ref10's carry order: two
 * interleaved chains, rounding to the nearest so limbs end up signed and small).
 */
function carryStore(h: usize, h0: i64, h1: i64, h2: i64, h3: i64, h4: i64,
                    h5: i64, h6: i64, h7: i64, h8: i64, h9: i64): void {
  let c: i64;
  c = (h0 + (1 << 25)) >> 26; h1 += c; h0 -= c << 26;
  c = (h4 + (1 << 25)) >> 26; h5 += c; h4 -= c << 26;
  c = (h1 + (1 << 24)) >> 25; h2 += c; h1 -= c << 25;
  c = (h5 + (1 << 24)) >> 25; h6 += c; h5 -= c << 25;
  c = (h2 + (1 << 25)) >> 26; h3 += c; h2 -= c << 26;
  c = (h6 + (1 << 25)) >> 26; h7 += c; h6 -= c << 26;
  c = (h3 + (1 << 24)) >> 25; h4 += c; h3 -= c << 25;
  c = (h7 + (1 << 24)) >> 25; h8 += c; h7 -= c << 25;
  c = (h4 + (1 << 25)) >> 26; h5 += c; h4 -= c << 26;
  c = (h8 + (1 << 25)) >> 26; h9 += c; h8 -= c << 26;
  c = (h9 + (1 << 24)) >> 25; h0 += c * 19; h9 -= c << 25;
  c = (h0 + (1 << 25)) >> 26; h1 += c; h0 -= c << 26;
  store<i32>(h, <i32>h0, 0); store<i32>(h, <i32>h1, 4); store<i32>(h, <i32>h2, 8);
  store<i32>(h, <i32>h3, 12); store<i32>(h, <i32>h4, 16); store<i32>(h, <i32>h5, 20);
  store<i32>(h, <i32>h6, 24); store<i32>(h, <i32>h7, 28); store<i32>(h, <i32>h8, 32);
  store<i32>(h, <i32>h9, 36);
}

/** Brings an add / sub result back to reduced form. */
export function feCarry(h: usize, f: usize): void {
  carryStore(h, ld(f, 0), ld(f, 4), ld(f, 8), ld(f, 12), ld(f, 16),
             ld(f, 20), ld(f, 24), ld(f, 28), ld(f, 32), ld(f, 36));
}

/**
 * h = f * g. Schoolbook 10x10 product; a term f_i*g_j lands in limb i+j, times 19 when
 * i+j >= 10 (2^255 = 19 mod p) and times 2 when i and j are both odd (the half-bit offsets add).
 */
export function feMul(h: usize, f: usize, g: usize): void {
  const f0 = ld(f, 0), f1 = ld(f, 4), f2 = ld(f, 8), f3 = ld(f, 12), f4 = ld(f, 16);
  const f5 = ld(f, 20), f6 = ld(f, 24), f7 = ld(f, 28), f8 = ld(f, 32), f9 = ld(f, 36);
  const g0 = ld(g, 0), g1 = ld(g, 4), g2 = ld(g, 8), g3 = ld(g, 12), g4 = ld(g, 16);
  const g5 = ld(g, 20), g6 = ld(g, 24), g7 = ld(g, 28), g8 = ld(g, 32), g9 = ld(g, 36);
  const g1n = 19 * g1, g2n = 19 * g2, g3n = 19 * g3, g4n = 19 * g4, g5n = 19 * g5;
  const g6n = 19 * g6, g7n = 19 * g7, g8n = 19 * g8, g9n = 19 * g9;
  const f1d = 2 * f1, f3d = 2 * f3, f5d = 2 * f5, f7d = 2 * f7, f9d = 2 * f9;
  const h0 = f0 * g0 + f1d * g9n + f2 * g8n + f3d * g7n + f4 * g6n + f5d * g5n + f6 * g4n + f7d * g3n + f8 * g2n + f9d * g1n;
  const h1 = f0 * g1 + f1 * g0 + f2 * g9n + f3 * g8n + f4 * g7n + f5 * g6n + f6 * g5n + f7 * g4n + f8 * g3n + f9 * g2n;
  const h2 = f0 * g2 + f1d * g1 + f2 * g0 + f3d * g9n + f4 * g8n + f5d * g7n + f6 * g6n + f7d * g5n + f8 * g4n + f9d * g3n;
  const h3 = f0 * g3 + f1 * g2 + f2 * g1 + f3 * g0 + f4 * g9n + f5 * g8n + f6 * g7n + f7 * g6n + f8 * g5n + f9 * g4n;
  const h4 = f0 * g4 + f1d * g3 + f2 * g2 + f3d * g1 + f4 * g0 + f5d * g9n + f6 * g8n + f7d * g7n + f8 * g6n + f9d * g5n;
  const h5 = f0 * g5 + f1 * g4 + f2 * g3 + f3 * g2 + f4 * g1 + f5 * g0 + f6 * g9n + f7 * g8n + f8 * g7n + f9 * g6n;
  const h6 = f0 * g6 + f1d * g5 + f2 * g4 + f3d * g3 + f4 * g2 + f5d * g1 + f6 * g0 + f7d * g9n + f8 * g8n + f9d * g7n;
  const h7 = f0 * g7 + f1 * g6 + f2 * g5 + f3 * g4 + f4 * g3 + f5 * g2 + f6 * g1 + f7 * g0 + f8 * g9n + f9 * g8n;
  const h8 = f0 * g8 + f1d * g7 + f2 * g6 + f3d * g5 + f4 * g4 + f5d * g3 + f6 * g2 + f7d * g1 + f8 * g0 + f9d * g9n;
  const h9 = f0 * g9 + f1 * g8 + f2 * g7 + f3 * g6 + f4 * g5 + f5 * g4 + f6 * g3 + f7 * g2 + f8 * g1 + f9 * g0;
  carryStore(h, h0, h1, h2, h3, h4, h5, h6, h7, h8, h9);
}

/**
 * h = f^2, as the product f * f: ref10's dedicated squaring (55 products instead of 100) is
 * faster, but the module is smaller with one multiplier (verification stays well under its goal).
 */
export function feSq(h: usize, f: usize): void {
  feMul(h, f, f);
}

/** h = 2 f^2: the square's reduced limbs doubled and carried again (a reduced result, as ref10's fe_sq2). */
export function feSq2(h: usize, f: usize): void {
  feMul(h, f, f);
  carryStore(h, 2 * ld(h, 0), 2 * ld(h, 4), 2 * ld(h, 8), 2 * ld(h, 12), 2 * ld(h, 16),
    2 * ld(h, 20), 2 * ld(h, 24), 2 * ld(h, 28), 2 * ld(h, 32), 2 * ld(h, 36));
}

/** h = f^(2^n) (n >= 1). */
function feSqN(h: usize, f: usize, n: i32): void {
  feMul(h, f, f);
  for (let i = 1; i < n; i++) feMul(h, h, h);
}

/** Scratch for the exponentiation chains. */
// @ts-ignore: decorator
@lazy const T0: usize = memory.data(<i32>FE_SIZE, 8);
// @ts-ignore: decorator
@lazy const T1: usize = memory.data(<i32>FE_SIZE, 8);
// @ts-ignore: decorator
@lazy const T2: usize = memory.data(<i32>FE_SIZE, 8);

// @ts-ignore: decorator
@lazy const FE_SCRATCH: usize = memory.data(<i32>FE_SIZE, 8);

/** Leaves z^11 in T0 and z^(2^250 - 1) in T1 (the common prefix of both chains below). */
function pow2_250_1(z: usize): void {
  feSq(T0, z);              // z^2
  feSqN(T1, T0, 2);         // z^8
  feMul(T1, z, T1);         // z^9
  feMul(T0, T0, T1);        // z^11
  feSq(T2, T0);             // z^22
  feMul(T1, T1, T2);        // z^(2^5 - 1)
  feSqN(T2, T1, 5);
  feMul(T1, T2, T1);        // z^(2^10 - 1)
  feSqN(T2, T1, 10);
  feMul(T2, T2, T1);        // z^(2^20 - 1)
  feCopy(FE_SCRATCH, T2);
  feSqN(T2, FE_SCRATCH, 20);
  feMul(T2, T2, FE_SCRATCH); // z^(2^40 - 1)
  feSqN(T2, T2, 10);
  feMul(T1, T2, T1);        // z^(2^50 - 1)
  feSqN(T2, T1, 50);
  feMul(T2, T2, T1);        // z^(2^100 - 1)
  feCopy(FE_SCRATCH, T2);
  feSqN(T2, FE_SCRATCH, 100);
  feMul(T2, T2, FE_SCRATCH); // z^(2^200 - 1)
  feSqN(T2, T2, 50);
  feMul(T1, T2, T1);        // z^(2^250 - 1)
}

/** out = z^-1 = z^(p - 2) = z^(2^255 - 21) (Fermat); 0 maps to 0. */
export function feInvert(out: usize, z: usize): void {
  pow2_250_1(z);
  feSqN(T1, T1, 5);         // z^(2^255 - 32)
  feMul(out, T1, T0);       // z^(2^255 - 21)
}

/** out = z^((p - 5) / 8) = z^(2^252 - 3), the square-root exponent of RFC 8032 §5.1.3. */
export function fePow22523(out: usize, z: usize): void {
  pow2_250_1(z);
  feSqN(T1, T1, 2);         // z^(2^252 - 4)
  feMul(out, T1, z);        // z^(2^252 - 3)
}

/**
 * Writes the canonical 32-byte little-endian encoding of f (value mod p, in [0, p)). ref10's
 * method: carry to reduced form, q = floor((h + 19) / 2^255) via a carry chain, then h - q*p.
 */
export function feToBytes(s: usize, f: usize): void {
  feCarry(FE_SCRATCH, f);
  const h = FE_SCRATCH;
  let h0 = ld(h, 0), h1 = ld(h, 4), h2 = ld(h, 8), h3 = ld(h, 12), h4 = ld(h, 16);
  let h5 = ld(h, 20), h6 = ld(h, 24), h7 = ld(h, 28), h8 = ld(h, 32), h9 = ld(h, 36);
  let q = (19 * h9 + (1 << 24)) >> 25;
  q = (h0 + q) >> 26; q = (h1 + q) >> 25; q = (h2 + q) >> 26; q = (h3 + q) >> 25; q = (h4 + q) >> 26;
  q = (h5 + q) >> 25; q = (h6 + q) >> 26; q = (h7 + q) >> 25; q = (h8 + q) >> 26; q = (h9 + q) >> 25;
  h0 += 19 * q;
  let c: i64;
  c = h0 >> 26; h1 += c; h0 -= c << 26;
  c = h1 >> 25; h2 += c; h1 -= c << 25;
  c = h2 >> 26; h3 += c; h2 -= c << 26;
  c = h3 >> 25; h4 += c; h3 -= c << 25;
  c = h4 >> 26; h5 += c; h4 -= c << 26;
  c = h5 >> 25; h6 += c; h5 -= c << 25;
  c = h6 >> 26; h7 += c; h6 -= c << 26;
  c = h7 >> 25; h8 += c; h7 -= c << 25;
  c = h8 >> 26; h9 += c; h8 -= c << 26;
  c = h9 >> 25; h9 -= c << 25;
  // Limbs now in [0, 2^26) / [0, 2^25): pack the 255 bits little-endian.
  store<u64>(s, <u64>h0 | (<u64>h1 << 26) | (<u64>h2 << 51));
  store<u64>(s + 8, (<u64>h2 >> 13) | (<u64>h3 << 13) | (<u64>h4 << 38));
  store<u64>(s + 16, <u64>h5 | (<u64>h6 << 25) | (<u64>h7 << 51));
  store<u64>(s + 24, (<u64>h7 >> 13) | (<u64>h8 << 12) | (<u64>h9 << 38));
}

/** Loads 255 bits (the top bit of byte 31 is ignored); a value >= p is kept, not rejected. */
export function feFromBytes(h: usize, s: usize): void {
  const w0 = load<u64>(s), w1 = load<u64>(s + 8), w2 = load<u64>(s + 16), w3 = load<u64>(s + 24);
  const m26: u64 = (1 << 26) - 1, m25: u64 = (1 << 25) - 1;
  store<i32>(h, <i32>(w0 & m26), 0);                              // bits 0..25
  store<i32>(h, <i32>((w0 >> 26) & m25), 4);                      // 26..50
  store<i32>(h, <i32>(((w0 >> 51) | (w1 << 13)) & m26), 8);       // 51..76
  store<i32>(h, <i32>((w1 >> 13) & m25), 12);                     // 77..101
  store<i32>(h, <i32>((w1 >> 38) & m26), 16);                     // 102..127
  store<i32>(h, <i32>(w2 & m25), 20);                             // 128..152
  store<i32>(h, <i32>((w2 >> 25) & m26), 24);                     // 153..178
  store<i32>(h, <i32>(((w2 >> 51) | (w3 << 13)) & m25), 28);      // 179..203
  store<i32>(h, <i32>((w3 >> 12) & m26), 32);                     // 204..229
  store<i32>(h, <i32>((w3 >> 38) & m25), 36);                     // 230..254
}

// @ts-ignore: decorator
@lazy const BYTES: usize = memory.data(32, 8);

/** True when f mod p is odd ("negative" in RFC 8032 §5.1.2 terms: the low bit of x). */
export function feIsNegative(f: usize): bool {
  feToBytes(BYTES, f);
  return (load<u8>(BYTES) & 1) != 0;
}

/** True when f mod p != 0. */
export function feIsNonZero(f: usize): bool {
  feToBytes(BYTES, f);
  return (load<u64>(BYTES) | load<u64>(BYTES + 8) | load<u64>(BYTES + 16) | load<u64>(BYTES + 24)) != 0;
}
