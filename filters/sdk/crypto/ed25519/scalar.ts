/**
 * Scalars mod L = 2^252 + 27742317777372353535851937790883648493, the order of the Ed25519 base
 * point (RFC 8032 §5.1): the canonical-S check of §5.1.7, reduction of a 64-byte SHA-512 digest
 * mod L (the byte-wise method of TweetNaCl's modL, Bernstein et al. 2014), and the signed
 * sliding-window recoding used by the double-scalar multiplication (ref10's `slide`,
 * generalised to any odd-digit bound). All take pointers to valid memory; 32-byte scalars are
 * little-endian.
 */

/** L, little-endian. */
// @ts-ignore: decorator
@lazy const L: usize = memory.data<u8>([
  0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
]);

/** 64 wide digits of the number being reduced. */
// @ts-ignore: decorator
@lazy const WIDE: usize = memory.data(64 * 8, 8);

/** True when the 32-byte scalar at `s` is < L (RFC 8032 §5.1.7 step 1: reject S >= L). */
export function scalarIsCanonical(s: usize): bool {
  for (let i = 31; i >= 0; i--) {
    const a = load<u8>(s + <usize>i), b = load<u8>(L + <usize>i);
    if (a != b) return a < b;
  }
  return false; // equal to L
}

// @ts-ignore: decorator
@inline function wide(i: i32): usize {
  return WIDE + (<usize>i << 3);
}

/**
 * Writes (64-byte little-endian number at `h`) mod L to `out` (32 bytes, fully reduced).
 * Digits 63..32 are folded down with 2^256 = -16 (L - 2^252) mod L, one byte at a time with
 * signed carries; then the bits from 252 up are removed with multiples of L and a final
 * conditional subtraction leaves a value in [0, L).
 */
export function scalarReduce(out: usize, h: usize): void {
  for (let i = 0; i < 64; i++) store<i64>(wide(i), <i64>load<u8>(h + <usize>i));
  for (let i = 63; i >= 32; i--) {
    const top = load<i64>(wide(i));
    let carry: i64 = 0;
    let j = i - 32;
    for (; j < i - 12; j++) {
      let x = load<i64>(wide(j)) + carry - 16 * top * <i64>load<u8>(L + <usize>(j - (i - 32)));
      carry = (x + 128) >> 8;
      x -= carry << 8;
      store<i64>(wide(j), x);
    }
    store<i64>(wide(j), load<i64>(wide(j)) + carry);
    store<i64>(wide(i), 0);
  }
  let carry: i64 = 0;
  for (let j = 0; j < 32; j++) {
    let x = load<i64>(wide(j)) + carry - (load<i64>(wide(31)) >> 4) * <i64>load<u8>(L + <usize>j);
    carry = x >> 8;
    store<i64>(wide(j), x & 255);
  }
  for (let j = 0; j < 32; j++) store<i64>(wide(j), load<i64>(wide(j)) - carry * <i64>load<u8>(L + <usize>j));
  for (let i = 0; i < 32; i++) {
    const x = load<i64>(wide(i));
    store<i64>(wide(i + 1), load<i64>(wide(i + 1)) + (x >> 8));
    store<u8>(out + <usize>i, <u8>(x & 255));
  }
}

/**
 * Recodes the 32-byte scalar at `a` (< 2^253) into 256 signed digits at `r` (one i8 each):
 * every non-zero digit is odd with |digit| <= maxDigit (2^w - 1 for a table of 2^(w-1) odd
 * multiples), and scalar = sum digit_i 2^i. Greedy left-to-right merge of the bits that follow
 * a set bit, borrowing upward when the merged value would exceed the bound.
 */
export function slide(r: usize, a: usize, maxDigit: i32): void {
  for (let i = 0; i < 256; i++) store<i8>(r + <usize>i, <i8>((load<u8>(a + <usize>(i >> 3)) >> <u8>(i & 7)) & 1));
  for (let i = 0; i < 256; i++) {
    let ri = <i32>load<i8>(r + <usize>i);
    if (ri == 0) continue;
    for (let b = 1; b <= 7 && i + b < 256; b++) {
      const rb = <i32>load<i8>(r + <usize>(i + b));
      if (rb == 0) continue;
      const shifted = rb << b;
      if (ri + shifted <= maxDigit) {
        ri += shifted;
        store<i8>(r + <usize>(i + b), 0);
      } else if (ri - shifted >= -maxDigit) {
        ri -= shifted;
        for (let k = i + b; k < 256; k++) {
          if (load<i8>(r + <usize>k) == 0) { store<i8>(r + <usize>k, 1); break; }
          store<i8>(r + <usize>k, 0);
        }
      } else {
        break;
      }
    }
    store<i8>(r + <usize>i, <i8>ri);
  }
}
