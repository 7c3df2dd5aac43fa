/**
 * The reference evaluator's authentication (filters/grpc-auth/README.md, "Credentials" and
 * "JWT"), written from the README with Node's crypto — independent of the filter's AssemblyScript,
 * so the property test can hold one against the other. Header values are handled as the bytes
 * the filter sees (UTF-8, as the host serializes header maps).
 */
import { createHash, createHmac, createPublicKey, pbkdf2Sync, timingSafeEqual, verify, type KeyObject } from "node:crypto";
import { LIMITS, type JwkKey, type JwtProvider, type Policy } from "./model.ts";
import { fromBase64Url } from "./secrets.ts";

export type CredentialState = "absent" | "valid" | "invalid";

export interface JwtOutcome {
  state: CredentialState;
  reason?: string;
  provider?: JwtProvider;
  claims?: Record<string, unknown>;
}

export interface RequestView {
  /** Every value of a header (name lower-case), in order. */
  values(name: string): string[];
  nowSeconds: number;
  /** jwt_authn payloads by payload_in_metadata key. */
  jwtAuthn: Record<string, Record<string, unknown>>;
}

const utf8 = (s: string) => Buffer.from(new TextEncoder().encode(s));

export function checkApiKey(policy: Policy, req: RequestView): { state: CredentialState; name?: string } {
  const store = policy.credentials.apiKeys;
  if (!store) return { state: "absent" };
  const values = req.values(store.header);
  if (values.length === 0) return { state: "absent" };
  const bytes = utf8(values[0]!);
  if (values.length > 1 || bytes.length === 0 || bytes.length > LIMITS.maxApiKeyBytes) return { state: "invalid" };
  const digest = createHash("sha256").update(bytes).digest();
  const key = store.keys.find((k) => timingSafeEqual(Buffer.from(k.sha256), digest));
  return key ? { state: "valid", name: key.name } : { state: "invalid" };
}

const kdfCache = new Map<string, Buffer>();

export function checkUser(policy: Policy, req: RequestView): { state: CredentialState; name?: string } {
  const store = policy.credentials.passwords;
  if (!store) return { state: "absent" };
  const users = req.values(store.usernameHeader);
  const passwords = req.values(store.passwordHeader);
  if (users.length === 0 && passwords.length === 0) return { state: "absent" };
  if (users.length !== 1 || passwords.length !== 1) return { state: "invalid" };
  const u = utf8(users[0]!);
  const p = utf8(passwords[0]!);
  if (u.length === 0 || p.length === 0 || u.length > LIMITS.maxUsernameBytes || p.length > LIMITS.maxPasswordBytes) return { state: "invalid" };
  const name = new TextDecoder("utf-8", { ignoreBOM: true }).decode(u);
  const user = store.users.find((x) => x.name === name);
  if (!user) return { state: "invalid" };
  const cacheKey = `${user.name}\0${p.toString("hex")}`;
  let dk = kdfCache.get(cacheKey);
  if (!dk) {
    dk = pbkdf2Sync(p, user.salt, user.iterations, 32, "sha256");
    kdfCache.set(cacheKey, dk);
  }
  return timingSafeEqual(dk, Buffer.from(user.hash)) ? { state: "valid", name: user.name } : { state: "invalid" };
}

const edKeys = new WeakMap<JwkKey, KeyObject>();
function edKey(k: JwkKey): KeyObject {
  let key = edKeys.get(k);
  if (!key) {
    key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(k.bytes).toString("base64url") }, format: "jwk" });
    edKeys.set(k, key);
  }
  return key;
}

function signatureValid(k: JwkKey, signingInput: Buffer, sig: Uint8Array): boolean {
  if (k.alg === "HS256") {
    if (sig.length !== 32) return false;
    return timingSafeEqual(createHmac("sha256", k.bytes).update(signingInput).digest(), Buffer.from(sig));
  }
  return sig.length === 64 && verify(null, signingInput, edKey(k), sig);
}

function parseObject(bytes: Uint8Array): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes));
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const isTimeClaim = (v: unknown) => v === undefined ? "absent" : typeof v === "number" ? "number" : "bad";

/** The JWT credential of a request (README "JWT": extraction, then checks 1-7 in order). */
export function checkJwt(policy: Policy, req: RequestView): JwtOutcome {
  const jwt = policy.credentials.jwt;
  if (!jwt) return { state: "absent" };
  const values = req.values(jwt.header);
  if (values.length > 1) return { state: "invalid", reason: "duplicate header" };
  if (values.length === 1) {
    const bytes = utf8(values[0]!);
    const prefix = Buffer.from(jwt.prefix.toLowerCase(), "latin1");
    const lower = Buffer.from(bytes.subarray(0, prefix.length).map((c) => (c >= 0x41 && c <= 0x5a ? c + 0x20 : c)));
    if (bytes.length >= prefix.length && lower.equals(prefix)) {
      let start = prefix.length;
      let end = bytes.length;
      while (start < end && (bytes[start] === 0x20 || bytes[start] === 0x09)) start++;
      while (end > start && (bytes[end - 1] === 0x20 || bytes[end - 1] === 0x09)) end--;
      const token = bytes.subarray(start, end);
      if (token.length === 0) return { state: "invalid", reason: "malformed" };
      if (token.length > jwt.maxTokenBytes) return { state: "invalid", reason: "oversized" };
      return verifyToken(policy, token, req);
    }
  }
  for (const key of [...new Set(jwt.providers.filter((p) => p.jwtAuthn).map((p) => p.jwtAuthn!.payloadInMetadata))]) {
    const payload = req.jwtAuthn[key];
    if (!payload || typeof payload !== "object" || Array.isArray(payload)) continue;
    const provider = typeof payload.iss === "string" ? jwt.providers.find((p) => p.issuer === payload.iss) : undefined;
    if (!provider || provider.jwtAuthn?.payloadInMetadata !== key) continue;
    return { state: "valid", provider, claims: payload };
  }
  return { state: "absent" };
}

function verifyToken(policy: Policy, token: Buffer, req: RequestView): JwtOutcome {
  const jwt = policy.credentials.jwt!;
  const bad = (reason: string): JwtOutcome => ({ state: "invalid", reason });
  const text = token.toString("latin1");
  const parts = text.split(".");
  if (parts.length !== 3 || parts[0] === "" || parts[1] === "" || parts[2] === "") return bad("malformed");
  const h = fromBase64Url(parts[0]!);
  const p = fromBase64Url(parts[1]!);
  const sig = fromBase64Url(parts[2]!);
  if (!h || !p || !sig) return bad("malformed");
  const header = parseObject(h);
  const payload = parseObject(p);
  if (!header || !payload || "crit" in header) return bad("malformed");
  if (typeof header.alg !== "string" || ("kid" in header && typeof header.kid !== "string")) return bad("malformed");
  const provider = typeof payload.iss === "string" ? jwt.providers.find((x) => x.issuer === payload.iss) : undefined;
  if (!provider) return bad("unknown issuer");
  if (provider.jwtAuthn) {
    const verified = req.jwtAuthn[provider.jwtAuthn.payloadInMetadata];
    if (!verified || verified.iss !== provider.issuer) return bad("not verified by jwt_authn");
    return { state: "valid", provider, claims: verified };
  }
  const alg = header.alg === "HS256" || header.alg === "EdDSA" ? header.alg : undefined;
  if (!alg) return bad("unsupported algorithm");
  const kid = header.kid as string | undefined;
  const keys = (provider.keys ?? []).filter((k) => (kid !== undefined ? k.kid === kid : k.alg === alg));
  if (keys.length === 0 || (kid !== undefined && keys[0]!.alg !== alg)) return bad("unknown key");
  const expKind = isTimeClaim(payload.exp);
  const nbfKind = isTimeClaim(payload.nbf);
  if (expKind === "bad") return bad("malformed");
  if (expKind === "absent" && provider.requireExpiration) return bad("missing exp");
  if (nbfKind === "bad") return bad("malformed");
  const now = req.nowSeconds;
  if (expKind === "number" && now > (payload.exp as number) + provider.clockSkewSeconds) return bad("expired");
  if (nbfKind === "number" && (payload.nbf as number) > now + provider.clockSkewSeconds) return bad("not yet valid");
  if (provider.audiences.length > 0) {
    const aud = payload.aud;
    const list = typeof aud === "string" ? [aud] : Array.isArray(aud) ? aud.filter((a): a is string => typeof a === "string") : [];
    if (!list.some((a) => provider.audiences.includes(a))) return bad("audience not allowed");
  }
  const signingInput = token.subarray(0, parts[0]!.length + 1 + parts[1]!.length);
  if (!keys.some((k) => signatureValid(k, signingInput, sig))) return bad("bad signature");
  return { state: "valid", provider, claims: payload };
}
