/**
 * A slow, obviously-correct Ed25519 model in BigInt (RFC 8032 §5.1, extended coordinates), used
 * by the tests to craft signatures Node cannot produce: keys with small-order components,
 * non-canonical encodings, small-order R, S >= L. Decoding follows OpenSSL (what Node's
 * crypto.verify does): y is taken mod p, x = 0 with the sign bit set is accepted. Test-only code;
 * never used to decide what the guest must answer (Node does that).
 */
import { createHash } from "node:crypto";

export const P = 2n ** 255n - 19n;
export const L = 2n ** 252n + 27742317777372353535851937790883648493n;

export const mod = (a: bigint, m: bigint = P): bigint => ((a % m) + m) % m;

export function pow(base: bigint, exp: bigint, m: bigint = P): bigint {
  let result = 1n;
  let b = mod(base, m);
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return result;
}

export const inv = (a: bigint): bigint => pow(a, P - 2n);
export const D = mod(-121665n * inv(121666n));
export const SQRT_M1 = pow(2n, (P - 1n) / 4n);

/** Extended coordinates (X, Y, Z, T), x = X/Z, y = Y/Z, xy = T/Z. */
export interface Point { X: bigint; Y: bigint; Z: bigint; T: bigint }

export const IDENTITY: Point = { X: 0n, Y: 1n, Z: 1n, T: 0n };

export function add(p: Point, q: Point): Point {
  const A = mod((p.Y - p.X) * (q.Y - q.X));
  const B = mod((p.Y + p.X) * (q.Y + q.X));
  const C = mod(2n * D * p.T * q.T);
  const Dd = mod(2n * p.Z * q.Z);
  const E = B - A, F = Dd - C, G = Dd + C, H = B + A;
  return { X: mod(E * F), Y: mod(G * H), Z: mod(F * G), T: mod(E * H) };
}

export function negate(p: Point): Point {
  return { X: mod(-p.X), Y: p.Y, Z: p.Z, T: mod(-p.T) };
}

export function multiply(p: Point, n: bigint): Point {
  let r = IDENTITY;
  let q = p;
  let k = n;
  while (k > 0n) {
    if (k & 1n) r = add(r, q);
    q = add(q, q);
    k >>= 1n;
  }
  return r;
}

export function affine(p: Point): { x: bigint; y: bigint } {
  const zi = inv(p.Z);
  return { x: mod(p.X * zi), y: mod(p.Y * zi) };
}

export function equal(p: Point, q: Point): boolean {
  return mod(p.X * q.Z - q.X * p.Z) === 0n && mod(p.Y * q.Z - q.Y * p.Z) === 0n;
}

export function fromAffine(x: bigint, y: bigint): Point {
  return { X: mod(x), Y: mod(y), Z: 1n, T: mod(x * y) };
}

export function bytesToBigInt(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!);
  return n;
}

export function bigIntToBytes(n: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let v = n;
  for (let i = 0; i < length; i++) { out[i] = Number(v & 0xffn); v >>= 8n; }
  return out;
}

/** Canonical encoding (RFC 8032 §5.1.2). */
export function encode(p: Point): Uint8Array {
  const { x, y } = affine(p);
  const out = bigIntToBytes(y, 32);
  if (x & 1n) out[31]! |= 0x80;
  return out;
}

/** Encodes an affine y (any value < 2^255, so also y + p when that fits) with a chosen sign bit. */
export function encodeRaw(y: bigint, signBit: boolean): Uint8Array {
  const out = bigIntToBytes(y, 32);
  if (signBit) out[31]! |= 0x80;
  return out;
}

/** x from y: sqrt((y^2 - 1) / (d y^2 + 1)), or null when there is none. */
export function recoverX(y: bigint): bigint | null {
  const u = mod(y * y - 1n);
  const v = mod(D * y * y + 1n);
  const x2 = mod(u * inv(v));
  let x = pow(x2, (P + 3n) / 8n);
  if (mod(x * x - x2) !== 0n) x = mod(x * SQRT_M1);
  if (mod(x * x - x2) !== 0n) return null;
  return x;
}

/** Decodes as OpenSSL does: y = low 255 bits mod p; the sign bit picks x, and -0 is 0. */
export function decode(bytes: Uint8Array): Point | null {
  const raw = bytesToBigInt(bytes);
  const sign = (raw >> 255n) & 1n;
  const y = mod(raw & ((1n << 255n) - 1n));
  let x = recoverX(y);
  if (x === null) return null;
  if ((x & 1n) !== sign) x = mod(-x);
  return fromAffine(x, y);
}

export const BASE: Point = decode(encodeRaw(mod(4n * inv(5n)), false))!;

/** The 8 points of order dividing 8 (the torsion subgroup), from a generator of order 8. */
export function torsionPoints(): Point[] {
  // A point of order 8 has y^2 = ... ; find one by multiplying a random point by L.
  for (let seed = 2n; ; seed++) {
    const x = recoverX(seed);
    if (x === null) continue;
    const t = multiply(fromAffine(x, seed), L);
    const orders = [1n, 2n, 4n].map((k) => equal(multiply(t, k), IDENTITY));
    if (orders.some((o) => o)) continue; // order < 8
    return Array.from({ length: 8 }, (_, i) => multiply(t, BigInt(i)));
  }
}

export function sha512(...parts: Uint8Array[]): Uint8Array {
  const h = createHash("sha512");
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** k = SHA-512(R || A || M) mod L. */
export function challenge(rEnc: Uint8Array, aEnc: Uint8Array, msg: Uint8Array): bigint {
  return mod(bytesToBigInt(sha512(rEnc, aEnc, msg)), L);
}

/**
 * Signs `msg` with secret scalar `a` while publishing the encoding `aEnc` (which need not be
 * canonical, nor even encode [a]B — that is the point of crafting). R = [r]B.
 */
export function signWith(a: bigint, aEnc: Uint8Array, msg: Uint8Array, r: bigint): Uint8Array {
  const rEnc = encode(multiply(BASE, r));
  const k = challenge(rEnc, aEnc, msg);
  const s = mod(r + k * a, L);
  const sig = new Uint8Array(64);
  sig.set(rEnc, 0);
  sig.set(bigIntToBytes(s, 32), 32);
  return sig;
}
