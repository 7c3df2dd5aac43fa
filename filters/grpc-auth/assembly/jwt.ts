/**
 * JWT verification (RFC 7519 / RFC 7515 compact serialization) for HS256 (RFC 7518 §3.2) and EdDSA
 * (RFC 8037, Ed25519) against the policy's inline keys, and routing of tokens from jwt_authn
 * providers to the metadata Envoy's jwt_authn wrote (README.md, "JWT").
 *
 * Checks, in this order (the first failure is the reason; the reference evaluator follows it):
 *  1. structure: three base64url parts (strict, canonical), header and payload JSON objects, no
 *     `crit`, `alg` a string, `kid` a string if present -> "malformed";
 *  2. `iss` names a provider -> else "unknown issuer" (a jwt_authn provider's token is not
 *     verified here: its verified payload must be in the metadata, else "not verified by jwt_authn");
 *  3. `alg` is HS256 or EdDSA -> else "unsupported algorithm" (`none` included);
 *  4. a key: the one named by `kid` with that alg, or (no kid) every provider key with that alg
 *     -> else "unknown key" (so an HS256 token never meets an Ed25519 key: no algorithm confusion);
 *  5. time, at the current second: `exp` / `nbf` numbers if present ("malformed"), `exp` present
 *     when required ("missing exp"), now <= exp + skew ("expired"), nbf <= now + skew
 *     ("not yet valid");
 *  6. `aud` (a string or an array of strings) shares a value with the provider's audiences, when
 *     it lists any -> else "audience not allowed";
 *  7. the signature verifies under one of the keys -> else "bad signature".
 *
 * Cache: tokens whose signature was checked (valid, or a bad signature) are kept in a bounded
 * direct-mapped table indexed by a keyed 64-bit hash of the token (SipHash-2-4 under a per-VM
 * random key) and confirmed by comparing the stored token in constant time. A hit re-runs only the
 * time checks (5) with the current clock, so a cached token stops being valid exactly when its
 * `exp` passes; a bad-signature entry never evicts a valid one. So a token costs one signature
 * verification per VM, then one hash and one comparison per RPC. The entry last looked up is
 * kept aside: the same token again (the common case: a client reuses its token) is recognised by
 * one constant-time compare of its bytes, without the hash.
 */
import { JsonObject, parseJsonBytes } from "../../sdk/json";
import {
  base64UrlDecode, constantTimeEqualsUnchecked, hmacSha256Into, keyedDigestAvailable, keyedHash64,
} from "../../sdk/crypto/index";
import { incrementMetric } from "../../sdk/hostcalls";
import { names } from "./names";
import { ALG_HS256, ALG_NAMES, JwtKey, JwtProvider, JwtSettings } from "./model";

export const R_OK: i32 = 0;
export const R_DUPLICATE: i32 = 1;
export const R_MALFORMED: i32 = 2;
export const R_OVERSIZED: i32 = 3;
export const R_UNKNOWN_ISSUER: i32 = 4;
export const R_UNSUPPORTED_ALG: i32 = 5;
export const R_UNKNOWN_KEY: i32 = 6;
export const R_MISSING_EXP: i32 = 7;
export const R_EXPIRED: i32 = 8;
export const R_NOT_YET_VALID: i32 = 9;
export const R_AUDIENCE: i32 = 10;
export const R_BAD_SIGNATURE: i32 = 11;
export const R_NOT_VERIFIED: i32 = 12;
/** The reasons' words by R_* value. */
export const JWT_REASONS: Array<string> = names(memory.data<u8>([ // "|duplicate header|malformed|oversized|unknown issuer|unsupported algorithm|unknown key|missing exp|expired|not yet valid|audience not allowed|bad signature|not verified by jwt_authn"
  0x7c, 0x64, 0x75, 0x70, 0x6c, 0x69, 0x63, 0x61, 0x74, 0x65, 0x20, 0x68, 0x65, 0x61, 0x64, 0x65,
  0x72, 0x7c, 0x6d, 0x61, 0x6c, 0x66, 0x6f, 0x72, 0x6d, 0x65, 0x64, 0x7c, 0x6f, 0x76, 0x65, 0x72,
  0x73, 0x69, 0x7a, 0x65, 0x64, 0x7c, 0x75, 0x6e, 0x6b, 0x6e, 0x6f, 0x77, 0x6e, 0x20, 0x69, 0x73,
  0x73, 0x75, 0x65, 0x72, 0x7c, 0x75, 0x6e, 0x73, 0x75, 0x70, 0x70, 0x6f, 0x72, 0x74, 0x65, 0x64,
  0x20, 0x61, 0x6c, 0x67, 0x6f, 0x72, 0x69, 0x74, 0x68, 0x6d, 0x7c, 0x75, 0x6e, 0x6b, 0x6e, 0x6f,
  0x77, 0x6e, 0x20, 0x6b, 0x65, 0x79, 0x7c, 0x6d, 0x69, 0x73, 0x73, 0x69, 0x6e, 0x67, 0x20, 0x65,
  0x78, 0x70, 0x7c, 0x65, 0x78, 0x70, 0x69, 0x72, 0x65, 0x64, 0x7c, 0x6e, 0x6f, 0x74, 0x20, 0x79,
  0x65, 0x74, 0x20, 0x76, 0x61, 0x6c, 0x69, 0x64, 0x7c, 0x61, 0x75, 0x64, 0x69, 0x65, 0x6e, 0x63,
  0x65, 0x20, 0x6e, 0x6f, 0x74, 0x20, 0x61, 0x6c, 0x6c, 0x6f, 0x77, 0x65, 0x64, 0x7c, 0x62, 0x61,
  0x64, 0x20, 0x73, 0x69, 0x67, 0x6e, 0x61, 0x74, 0x75, 0x72, 0x65, 0x7c, 0x6e, 0x6f, 0x74, 0x20,
  0x76, 0x65, 0x72, 0x69, 0x66, 0x69, 0x65, 0x64, 0x20, 0x62, 0x79, 0x20, 0x6a, 0x77, 0x74, 0x5f,
  0x61, 0x75, 0x74, 0x68, 0x6e,
]), 181);

const CLAIM_ABSENT: i32 = 0;
const CLAIM_NUMBER: i32 = 1;
const CLAIM_BAD: i32 = 2;

// @ts-ignore: decorator
@lazy const MAC = new ArrayBuffer(32);

/** What verification learned about a token, without the clock. */
export class TokenInfo {
  /** First failure before the time checks (1-4), or R_OK. */
  before: i32 = R_OK;
  /** First failure after them (6-7), or R_OK. */
  after: i32 = R_OK;
  provider: i32 = -1;
  /** The provider is a jwt_authn one: the payload comes from the metadata. */
  viaMetadata: bool = false;
  expKind: i32 = CLAIM_ABSENT;
  exp: f64 = 0;
  nbfKind: i32 = CLAIM_ABSENT;
  nbf: f64 = 0;
  claims: JsonObject | null = null;
  /** A signature check ran (the entry may be cached). */
  signatureChecked: bool = false;
  /** The principal "iss/sub" of `claims` as UTF-8, made on first use (identity.ts). */
  principal: ArrayBuffer | null = null;
}

function timeClaim(payload: JsonObject, name: string): i32 {
  const v = payload.get(name);
  if (v === null) return CLAIM_ABSENT;
  return v.isNumber() ? CLAIM_NUMBER : CLAIM_BAD;
}

/** The reason the time checks give at second `now` (R_OK when they pass). */
export function timeReason(info: TokenInfo, provider: JwtProvider, now: f64): i32 {
  if (info.expKind == CLAIM_BAD) return R_MALFORMED;
  if (info.expKind == CLAIM_ABSENT && provider.requireExp) return R_MISSING_EXP;
  if (info.nbfKind == CLAIM_BAD) return R_MALFORMED;
  const skew = provider.clockSkew;
  if (info.expKind == CLAIM_NUMBER && now > info.exp + skew) return R_EXPIRED;
  if (info.nbfKind == CLAIM_NUMBER && info.nbf > now + skew) return R_NOT_YET_VALID;
  return R_OK;
}

function audienceAllowed(payload: JsonObject, provider: JwtProvider): bool {
  const allowed = provider.audiences;
  if (allowed.length == 0) return true;
  const aud = payload.get("aud");
  if (aud === null) return false;
  const s = aud.asString();
  if (s !== null) return allowed.includes(s);
  const items = aud.asArray();
  if (items === null) return false;
  for (let i = 0; i < items.length; i++) {
    const v = items[i].asString();
    if (v !== null && allowed.includes(v)) return true;
  }
  return false;
}

function verifyWith(key: JwtKey, buf: ArrayBuffer, off: i32, signedLen: i32, sig: ArrayBuffer): bool {
  if (key.alg == ALG_HS256) {
    const mac = key.hmac;
    if (mac === null || sig.byteLength != 32) return false;
    hmacSha256Into(mac, buf, off, signedLen, MAC, 0);
    return constantTimeEqualsUnchecked(changetype<usize>(MAC), 32, changetype<usize>(sig), 32);
  }
  const ed = key.ed25519;
  return ed !== null && ed.verify(buf, off, signedLen, sig, 0, sig.byteLength);
}

/** Checks 1-4, 6-7 of the token at buf[off, +len) (time claims recorded for 5). */
export function inspectToken(settings: JwtSettings, buf: ArrayBuffer, off: i32, len: i32): TokenInfo {
  const info = new TokenInfo();
  const base = changetype<usize>(buf) + <usize>off;
  let d1 = -1, d2 = -1;
  for (let i = 0; i < len; i++) {
    if (load<u8>(base + <usize>i) == 0x2e) {
      if (d1 < 0) d1 = i; else if (d2 < 0) d2 = i; else { info.before = R_MALFORMED; return info; }
    }
  }
  if (d2 < 0 || d1 == 0 || d2 == d1 + 1 || d2 == len - 1) { info.before = R_MALFORMED; return info; }
  const headerBytes = base64UrlDecode(buf, off, d1);
  const payloadBytes = base64UrlDecode(buf, off + d1 + 1, d2 - d1 - 1);
  const sig = base64UrlDecode(buf, off + d2 + 1, len - d2 - 1);
  if (headerBytes === null || payloadBytes === null || sig === null) { info.before = R_MALFORMED; return info; }
  const hv = parseJsonBytes(headerBytes).value;
  const pv = parseJsonBytes(payloadBytes).value;
  const header = hv !== null ? hv.asObject() : null;
  const payload = pv !== null ? pv.asObject() : null;
  if (header === null || payload === null || header.has("crit")) { info.before = R_MALFORMED; return info; }
  const algValue = header.get("alg");
  const alg = algValue !== null ? algValue.asString() : null;
  const kidValue = header.get("kid");
  const kid = kidValue !== null ? kidValue.asString() : null;
  if (alg === null || (kidValue !== null && kid === null)) { info.before = R_MALFORMED; return info; }
  const issValue = payload.get("iss");
  const iss = issValue !== null ? issValue.asString() : null;
  if (iss === null || !settings.byIssuer.has(iss)) { info.before = R_UNKNOWN_ISSUER; return info; }
  info.provider = settings.byIssuer.get(iss);
  const provider = settings.providers[info.provider];
  info.claims = payload;
  if (provider.metadataKey !== null) { info.viaMetadata = true; return info; }
  const a = ALG_NAMES.indexOf(alg);
  if (a < 0) { info.before = R_UNSUPPORTED_ALG; return info; }
  const keys = new Array<JwtKey>();
  for (let i = 0; i < provider.keys.length; i++) {
    const k = provider.keys[i];
    if (kid !== null ? k.kid !== null && k.kid == kid : k.alg == a) keys.push(k);
  }
  if (keys.length == 0 || (kid !== null && keys[0].alg != a)) { info.before = R_UNKNOWN_KEY; return info; }
  info.expKind = timeClaim(payload, "exp");
  if (info.expKind == CLAIM_NUMBER) info.exp = payload.get("exp")!.numberValue();
  info.nbfKind = timeClaim(payload, "nbf");
  if (info.nbfKind == CLAIM_NUMBER) info.nbf = payload.get("nbf")!.numberValue();
  if (!audienceAllowed(payload, provider)) { info.after = R_AUDIENCE; return info; }
  info.signatureChecked = true;
  for (let i = 0; i < keys.length; i++) {
    if (verifyWith(keys[i], buf, off, d2, sig)) return info;
  }
  info.after = R_BAD_SIGNATURE;
  return info;
}

/** Bounded cache of inspected tokens; see the module comment. Parallel arrays, one slot per entry. */
export class TokenCache {
  private readonly hashes: StaticArray<u64>;
  private readonly tokens: Array<ArrayBuffer | null>;
  private readonly infos: Array<TokenInfo | null>;
  /** The cached token last looked up and its info: the same token again costs one compare, no hash. */
  private lastToken: ArrayBuffer | null = null;
  private lastInfo: TokenInfo | null = null;
  /** Counter incremented per signature check (0: none). */
  verifications: u32 = 0;

  constructor(size: i32) {
    let n = 0;
    if (size > 0) { n = 1; while (n < size) n <<= 1; }
    this.hashes = new StaticArray<u64>(n);
    this.tokens = new Array<ArrayBuffer | null>(n);
    this.infos = new Array<TokenInfo | null>(n);
  }

  /** The token's info, from the cache or by inspecting it. */
  lookup(settings: JwtSettings, buf: ArrayBuffer, off: i32, len: i32): TokenInfo {
    const n = this.hashes.length;
    if (n == 0 || !keyedDigestAvailable()) return this.inspect(settings, buf, off, len);
    const at = changetype<usize>(buf) + <usize>off;
    const last = this.lastToken;
    if (last !== null && last.byteLength == len && constantTimeEqualsUnchecked(changetype<usize>(last), <usize>len, at, <usize>len)) {
      return this.lastInfo!;
    }
    const h = keyedHash64(buf, off, len);
    const slot = <i32>(h & <u64>(n - 1));
    const token = unchecked(this.tokens[slot]);
    const cached = unchecked(this.infos[slot]);
    if (token !== null && cached !== null && unchecked(this.hashes[slot]) == h && token.byteLength == len &&
        constantTimeEqualsUnchecked(changetype<usize>(token), <usize>len, at, <usize>len)) {
      this.lastToken = token;
      this.lastInfo = cached;
      return cached;
    }
    const info = this.inspect(settings, buf, off, len);
    // Only tokens whose signature was checked are worth keeping; a bad one never evicts a good one.
    if (info.signatureChecked && (cached === null || info.after == R_OK || cached.after != R_OK)) {
      const token = buf.slice(off, off + len);
      unchecked(this.hashes[slot] = h);
      unchecked(this.tokens[slot] = token);
      unchecked(this.infos[slot] = info);
      this.lastToken = token;
      this.lastInfo = info;
    }
    return info;
  }

  private inspect(settings: JwtSettings, buf: ArrayBuffer, off: i32, len: i32): TokenInfo {
    const info = inspectToken(settings, buf, off, len);
    if (info.signatureChecked && this.verifications != 0) incrementMetric(this.verifications, 1);
    return info;
  }
}
