/**
 * Hashed secrets and keys of a policy:
 *  - API keys: SHA-256 of the key, written as 64 hex digits.
 *  - Passwords: PBKDF2-HMAC-SHA256 (RFC 8018 §5.2) in the PHC string format
 *    `$pbkdf2-sha256$i=<iterations>$<salt>$<hash>` (salt and a 32-byte hash in unpadded standard
 *    base64, as the PHC format and passlib write them).
 *  - JWKs (RFC 7517): `oct` keys for HS256 (at least 32 bytes, RFC 7518 §3.2) and `OKP` Ed25519
 *    public keys for EdDSA (RFC 8037), the x coordinate checked to decode to a curve point with a
 *    canonical encoding (RFC 8032 §5.1.3), so the filter never meets a key it must reject.
 *
 * `hashApiKey` / `hashPassword` produce what `meshwasm policy hash` prints.
 */
import { createHash, pbkdf2Sync, randomBytes } from "node:crypto";
import { LIMITS, type JwkKey } from "./model.ts";
import type { Parsed } from "./patterns.ts";

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(reason: string): Parsed<T> => ({ ok: false, reason });

export const DEFAULT_ITERATIONS = 20_000;

export function hashApiKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

export function hashPassword(password: string, iterations = DEFAULT_ITERATIONS, salt: Uint8Array = randomBytes(16)): string {
  const dk = pbkdf2Sync(Buffer.from(password, "utf8"), salt, iterations, 32, "sha256");
  return `$pbkdf2-sha256$i=${iterations}$${b64(salt)}$${b64(dk)}`;
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64").replace(/=+$/, "");

/** Unpadded standard base64 (PHC "B64"), canonical; undefined when not. */
function fromB64(s: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*$/.test(s) || s.length % 4 === 1) return undefined;
  const bytes = Buffer.from(s, "base64");
  return b64(bytes) === s ? new Uint8Array(bytes) : undefined;
}

/** Unpadded base64url (RFC 4648 §5, as JWK members are), canonical; undefined when not. */
export function fromBase64Url(s: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) return undefined;
  const bytes = Buffer.from(s, "base64url");
  return bytes.toString("base64url") === s ? new Uint8Array(bytes) : undefined;
}

export function parseSha256Hex(text: string): Parsed<Uint8Array> {
  if (!/^[0-9a-f]{64}$/.test(text)) return fail("expected 64 lower-case hex digits (the key's SHA-256, from `meshwasm policy hash api-key`)");
  return ok(new Uint8Array(Buffer.from(text, "hex")));
}

export function parsePasswordHash(text: string): Parsed<{ iterations: number; salt: Uint8Array; hash: Uint8Array }> {
  const m = /^\$pbkdf2-sha256\$i=([0-9]+)\$([^$]*)\$([^$]*)$/.exec(text);
  if (!m) return fail('expected "$pbkdf2-sha256$i=<iterations>$<salt>$<hash>" (from `meshwasm policy hash password`)');
  const iterations = Number(m[1]);
  if (!Number.isSafeInteger(iterations) || iterations < LIMITS.minIterations || iterations > LIMITS.maxIterations) {
    return fail(`the iteration count must be in [${LIMITS.minIterations}, ${LIMITS.maxIterations}]`);
  }
  const salt = fromB64(m[2]!);
  if (!salt || salt.length < 8 || salt.length > 64) return fail("the salt must be 8 to 64 bytes in unpadded base64");
  const hash = fromB64(m[3]!);
  if (!hash || hash.length !== 32) return fail("the hash must be 32 bytes in unpadded base64");
  return ok({ iterations, salt, hash });
}

// ===== Ed25519 point decoding (RFC 8032 §5.1.3) =====

const P = 2n ** 255n - 19n;
const D = (-121665n * modInverse(121666n)) % P;

function mod(a: bigint): bigint {
  const r = a % P;
  return r < 0n ? r + P : r;
}
function modPow(b: bigint, e: bigint): bigint {
  let r = 1n;
  b = mod(b);
  while (e > 0n) {
    if (e & 1n) r = (r * b) % P;
    b = (b * b) % P;
    e >>= 1n;
  }
  return r;
}
function modInverse(a: bigint): bigint {
  return modPow(mod(a + P), P - 2n);
}

/** True when 32 bytes are the canonical encoding of a point on edwards25519. */
export function isCanonicalEd25519Point(bytes: Uint8Array): boolean {
  if (bytes.length !== 32) return false;
  let y = 0n;
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(i === 31 ? bytes[i]! & 0x7f : bytes[i]!);
  const sign = (bytes[31]! >> 7) & 1;
  if (y >= P) return false;
  const u = mod(y * y - 1n);
  const v = mod(D * y * y + 1n);
  const x2 = mod(u * modInverse(v));
  if (x2 === 0n) return sign === 0;
  let x = modPow(x2, (P + 3n) / 8n);
  if (mod(x * x - x2) !== 0n) x = mod(x * modPow(2n, (P - 1n) / 4n));
  return mod(x * x - x2) === 0n;
}

/** Reads one JWK (already a plain object) into a key; reasons name the member. */
export function parseJwk(jwk: Record<string, unknown>): Parsed<JwkKey> & { member?: string } {
  const kty = jwk.kty;
  const kid = jwk.kid;
  if (kid !== undefined && (typeof kid !== "string" || kid.length === 0)) return { ...fail("expected a non-empty string"), member: "kid" };
  if (jwk.use !== undefined && jwk.use !== "sig") return { ...fail('expected "sig" (keys verify signatures)'), member: "use" };
  const known = (names: string[]): (Parsed<JwkKey> & { member?: string }) | undefined => {
    for (const k of Object.keys(jwk)) {
      if (k === "d" || k === "p" || k === "q" || k === "dp" || k === "dq" || k === "qi") {
        return { ...fail("private key material in a JWKS: publish only public keys"), member: k };
      }
      if (!names.includes(k)) return { ...fail(`unknown JWK member (known: ${names.join(", ")})`), member: k };
    }
    return undefined;
  };
  const base = kid === undefined ? {} : { kid: kid as string };
  if (kty === "oct") {
    const bad = known(["kty", "kid", "alg", "use", "k", "key_ops"]);
    if (bad) return bad;
    if (jwk.alg !== undefined && jwk.alg !== "HS256") return { ...fail('expected "HS256" for an oct key'), member: "alg" };
    const k = typeof jwk.k === "string" ? fromBase64Url(jwk.k) : undefined;
    if (!k) return { ...fail("expected the key in unpadded base64url"), member: "k" };
    if (k.length < 32) return { ...fail("an HS256 key must be at least 32 bytes (RFC 7518 §3.2)"), member: "k" };
    return ok({ ...base, alg: "HS256", bytes: k });
  }
  if (kty === "OKP") {
    const bad = known(["kty", "kid", "alg", "use", "crv", "x", "key_ops"]);
    if (bad) return bad;
    if (jwk.crv !== "Ed25519") return { ...fail('expected "Ed25519" (the only OKP curve verified in the filter)'), member: "crv" };
    if (jwk.alg !== undefined && jwk.alg !== "EdDSA") return { ...fail('expected "EdDSA" for an Ed25519 key'), member: "alg" };
    const x = typeof jwk.x === "string" ? fromBase64Url(jwk.x) : undefined;
    if (!x || x.length !== 32) return { ...fail("expected a 32-byte public key in unpadded base64url"), member: "x" };
    if (!isCanonicalEd25519Point(x)) return { ...fail("not the canonical encoding of an Ed25519 public key"), member: "x" };
    return ok({ ...base, alg: "EdDSA", bytes: x });
  }
  if (kty === "RSA" || kty === "EC") {
    return { ...fail(`${kty} keys are verified by Envoy's jwt_authn (Istio RequestAuthentication): declare the provider with jwtAuthn`), member: "kty" };
  }
  return { ...fail('expected "oct" (HS256) or "OKP" (Ed25519)'), member: "kty" };
}
