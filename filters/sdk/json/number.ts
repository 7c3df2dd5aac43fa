/**
 * Decimal text -> f64, correctly rounded (round half to even), as JSON.parse (V8's StringToDouble)
 * converts numbers. AssemblyScript's own `parseFloat` is not used: it is not correctly rounded
 * (it mis-rounds long mantissas and values near the subnormal range; see filters/sdk/README.md).
 *
 * Two paths:
 *  1. Clinger's fast path (W. D. Clinger, "How to Read Floating Point Numbers Accurately",
 *     PLDI 1990): a mantissa of at most 19 digits that is <= 2^53 and a power of ten <= 10^22 are
 *     both exact f64 values, so one IEEE multiplication or division rounds correctly. Extended
 *     for exponents up to 22 + 15 when the mantissa times the excess power stays <= 2^53.
 *  2. Otherwise the "simple decimal conversion" used by Go's strconv (decimal.go, atof.go
 *     floatBits) and Nigel Tao's wuffs: the digits are held in a decimal buffer of 800 digits
 *     (enough for the longest exact halfway point between two doubles, 767 significant digits;
 *     any digit beyond is folded into a sticky `trunc` flag) and shifted by powers of two until
 *     the value is in [0.5, 1); the binary exponent and 53 mantissa bits are then read off and
 *     rounded half to even. Overflow gives ±Infinity and underflow ±0, as in JSON.parse.
 *
 * The input must already match RFC 8259's number grammar (the parser checks it); this module
 * never reads outside [ptr, ptr + len).
 */

// @ts-ignore: decorator
@lazy const POW10: StaticArray<f64> = [
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
  1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/** 2^53: every integer up to it is an exact f64. */
// @ts-ignore: decorator
@inline const TWO53: u64 = 9007199254740992;

/** Converts the JSON number text at [ptr, ptr + len) to the nearest f64. */
export function jsonNumberToF64(ptr: usize, len: i32): f64 {
  let i = 0;
  const negative = load<u8>(ptr) == 0x2d;
  if (negative) i++;
  let w: u64 = 0;       // the first significant digits
  let digits = 0;       // significant digits in w
  let exact = true;     // every significant digit fits in w
  let fraction: i64 = 0; // digits after the point consumed into w (or skipped leading zeros)
  let sawDot = false;
  for (; i < len; i++) {
    const c = <u32>load<u8>(ptr + <usize>i);
    if (c == 0x2e) { sawDot = true; continue; }
    const d = c - 0x30;
    if (d > 9) break;
    if (w == 0 && d == 0) { if (sawDot) fraction++; continue; }
    if (digits < 19) {
      w = w * 10 + <u64>d;
      digits++;
      if (sawDot) fraction++;
    } else {
      exact = false;
      break;
    }
  }
  const exponent = exact ? readExponent(ptr, i, len) : 0;
  if (exact) {
    if (w == 0) return negative ? -0.0 : 0.0;
    const e = exponent - fraction;
    if (w <= TWO53) {
      let v: f64 = NaN;
      if (e >= 0 && e <= 22) {
        v = <f64>w * unchecked(POW10[<i32>e]);
      } else if (e < 0 && e >= -22) {
        v = <f64>w / unchecked(POW10[<i32>-e]);
      } else if (e > 22 && e <= 22 + 15) {
        const scale = <u64>unchecked(POW10[<i32>e - 22]);
        if (w <= TWO53 / scale) v = <f64>(w * scale) * 1e22;
      }
      if (!isNaN(v)) return negative ? -v : v;
    }
  }
  return slowPath(ptr, len);
}

/** The signed decimal exponent after 'e'/'E' at [i, len), saturated at ±10^9; 0 if none. */
function readExponent(ptr: usize, i: i32, len: i32): i64 {
  while (i < len) {
    const c = load<u8>(ptr + <usize>i);
    if (c == 0x65 || c == 0x45) break;
    i++;
  }
  if (i >= len) return 0;
  i++;
  let sign: i64 = 1;
  const s = load<u8>(ptr + <usize>i);
  if (s == 0x2d) { sign = -1; i++; } else if (s == 0x2b) { i++; }
  let e: i64 = 0;
  for (; i < len; i++) {
    const d = <u32>load<u8>(ptr + <usize>i) - 0x30;
    if (d > 9) break;
    if (e < 1_000_000_000) e = e * 10 + <i64>d;
  }
  return sign * e;
}

// ===== simple decimal conversion =====

// @ts-ignore: decorator
@inline const MAX_DIGITS: i32 = 800;
/** Left shifts write up to 19 new digits past the current end before moving them down. */
// @ts-ignore: decorator
@inline const SLACK: i32 = 20;
/** Largest shift per step: n * 10 + 9 must fit in a u64 while holding (digit << k). */
// @ts-ignore: decorator
@inline const MAX_SHIFT: i32 = 60;

/** Digit values 0..9 of 0.d[0]d[1]...d[nd-1] x 10^dp. */
// @ts-ignore: decorator
@lazy const dig = new StaticArray<u8>(MAX_DIGITS + SLACK);
let nd = 0;
let dp = 0;
let trunc = false;

/** Bits to shift by for a decimal point position 0..8 (Go strconv powtab). */
// @ts-ignore: decorator
@lazy const POWTAB: StaticArray<i32> = [1, 3, 6, 9, 13, 16, 19, 23, 26];

function slowPath(ptr: usize, len: i32): f64 {
  const negative = loadDecimal(ptr, len);
  const bits = decimalToBits();
  const v = reinterpret<f64>(bits);
  return negative ? -v : v;
}

/** Fills the decimal buffer from the number text; returns the sign. */
function loadDecimal(ptr: usize, len: i32): bool {
  nd = 0;
  trunc = false;
  let i = 0;
  const negative = load<u8>(ptr) == 0x2d;
  if (negative) i++;
  let point: i64 = 0;
  let sawDot = false;
  for (; i < len; i++) {
    const c = <u32>load<u8>(ptr + <usize>i);
    if (c == 0x2e) { sawDot = true; continue; }
    const d = c - 0x30;
    if (d > 9) break;
    if (nd == 0 && d == 0) { if (sawDot) point--; continue; }
    if (!sawDot) point++;
    if (nd < MAX_DIGITS) unchecked(dig[nd++] = <u8>d);
    else if (d != 0) trunc = true;
  }
  point += readExponent(ptr, i, len);
  trim();
  dp = <i32>(point > 100_000 ? 100_000 : point < -100_000 ? -100_000 : point);
  return negative;
}

function trim(): void {
  while (nd > 0 && unchecked(dig[nd - 1]) == 0) nd--;
  if (nd == 0) dp = 0;
}

function rightShift(k: i32): void {
  let r = 0;
  let w = 0;
  let n: u64 = 0;
  for (; (n >> <u64>k) == 0; r++) {
    if (r >= nd) {
      if (n == 0) { nd = 0; return; }
      while ((n >> <u64>k) == 0) { n *= 10; r++; }
      break;
    }
    n = n * 10 + <u64>unchecked(dig[r]);
  }
  dp -= r - 1;
  const mask: u64 = (<u64>1 << <u64>k) - 1;
  for (; r < nd; r++) {
    const c = <u64>unchecked(dig[r]);
    unchecked(dig[w++] = <u8>(n >> <u64>k));
    n &= mask;
    n = n * 10 + c;
  }
  while (n > 0) {
    const d = n >> <u64>k;
    n &= mask;
    if (w < MAX_DIGITS) unchecked(dig[w++] = <u8>d);
    else if (d > 0) trunc = true;
    n *= 10;
  }
  nd = w;
  trim();
}

function leftShift(k: i32): void {
  // Multiply right to left, writing SLACK places further right, then move the digits down.
  let w = nd + SLACK;
  let n: u64 = 0;
  for (let r = nd - 1; r >= 0; r--) {
    n += <u64>unchecked(dig[r]) << <u64>k;
    const q = n / 10;
    unchecked(dig[--w] = <u8>(n - q * 10));
    n = q;
  }
  while (n > 0) {
    const q = n / 10;
    unchecked(dig[--w] = <u8>(n - q * 10));
    n = q;
  }
  let count = nd + SLACK - w;
  memory.copy(changetype<usize>(dig), changetype<usize>(dig) + <usize>w, <usize>count);
  dp += count - nd;
  if (count > MAX_DIGITS) {
    for (let i = MAX_DIGITS; i < count; i++) if (unchecked(dig[i]) != 0) trunc = true;
    count = MAX_DIGITS;
  }
  nd = count;
  trim();
}

/** Multiplies the decimal by 2^k (k > 0) or divides it by 2^-k. */
function shift(k: i32): void {
  if (nd == 0) return;
  if (k > 0) {
    while (k > MAX_SHIFT) { leftShift(MAX_SHIFT); k -= MAX_SHIFT; }
    leftShift(k);
  } else if (k < 0) {
    while (k < -MAX_SHIFT) { rightShift(MAX_SHIFT); k += MAX_SHIFT; }
    rightShift(-k);
  }
}

/** Whether rounding to `n` digits goes up: half to even, a truncated tail counts as above half. */
function shouldRoundUp(n: i32): bool {
  if (n < 0 || n >= nd) return false;
  const d = unchecked(dig[n]);
  if (d == 5 && n + 1 == nd) {
    if (trunc) return true;
    return n > 0 && (unchecked(dig[n - 1]) & 1) == 1;
  }
  return d >= 5;
}

/** The integer part, rounded half to even. */
function roundedInteger(): u64 {
  if (dp > 20) return u64.MAX_VALUE;
  let n: u64 = 0;
  let i = 0;
  for (; i < dp && i < nd; i++) n = n * 10 + <u64>unchecked(dig[i]);
  for (; i < dp; i++) n *= 10;
  if (shouldRoundUp(dp)) n++;
  return n;
}

/** IEEE 754 binary64 bits (sign excluded) of the decimal, as Go's decimal.floatBits. */
function decimalToBits(): u64 {
  const MANT_BITS = 52;
  const BIAS = -1023;
  const INF: u64 = 0x7ff0000000000000;
  if (nd == 0 || dp < -330) return 0;
  if (dp > 310) return INF;
  let exp = 0;
  while (dp > 0) {
    const n = dp >= 9 ? 27 : unchecked(POWTAB[dp]);
    shift(-n);
    exp += n;
  }
  while (dp < 0 || (dp == 0 && unchecked(dig[0]) < 5)) {
    const n = -dp >= 9 ? 27 : unchecked(POWTAB[-dp]);
    shift(n);
    exp -= n;
  }
  exp--; // the value is now in [0.5, 1); binary64 significands are in [1, 2)
  if (exp < BIAS + 1) {
    const n = BIAS + 1 - exp;
    shift(-n);
    exp += n;
  }
  if (exp - BIAS >= 0x7ff) return INF;
  shift(1 + MANT_BITS);
  let mant = roundedInteger();
  if (mant == (<u64>2 << MANT_BITS)) {
    mant >>= 1;
    exp++;
    if (exp - BIAS >= 0x7ff) return INF;
  }
  if ((mant & (<u64>1 << MANT_BITS)) == 0) exp = BIAS; // subnormal
  return (mant & ((<u64>1 << MANT_BITS) - 1)) | (<u64>((exp - BIAS) & 0x7ff) << MANT_BITS);
}
