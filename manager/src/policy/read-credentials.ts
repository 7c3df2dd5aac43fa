/**
 * `spec.credentials` of a GrpcAuthPolicy: API keys (SHA-256 hashes), users (PBKDF2 hashes) and JWT
 * providers (inline JWKS verified in the filter, or jwtAuthn: verified by Envoy's jwt_authn and
 * read from its dynamic metadata). Plaintext secrets are refused with a pointer to
 * `meshwasm policy hash`.
 */
import { LIMITS, type ApiKey, type Credentials, type JwkKey, type JwtProvider, type PasswordUser } from "./model.ts";
import { checkHeaderName, checkName } from "./patterns.ts";
import { parseJwk, parsePasswordHash, parseSha256Hex } from "./secrets.ts";
import { keyPath, MapReader, toPlain, type Issues } from "./source.ts";

export const DEFAULT_API_KEY_HEADER = "x-api-key";
export const DEFAULT_USERNAME_HEADER = "username";
export const DEFAULT_PASSWORD_HEADER = "password";
export const DEFAULT_JWT_HEADER = "authorization";
export const DEFAULT_JWT_PREFIX = "Bearer ";
export const DEFAULT_SPACE_DELIMITED = ["scope", "permission"];

function headerField(m: MapReader, key: string, fallback: string): string {
  const v = m.string(key);
  if (v === undefined) return fallback;
  const bad = checkHeaderName(v);
  if (bad || v.startsWith(":")) return m.fail(key, bad ?? "a credential header cannot be a pseudo-header") ?? fallback;
  return v;
}

/** A list of named items with unique names; calls `read` for each mapping. */
function namedItems<T extends { name: string }>(
  m: MapReader,
  key: string,
  issues: Issues,
  read: (item: MapReader) => T | undefined,
): Array<T & { at: MapReader }> {
  const out: Array<T & { at: MapReader }> = [];
  const names = new Map<string, string>();
  for (const it of m.list(key, true, true) ?? []) {
    const item = MapReader.of(it.node, it.path, issues);
    if (!item) continue;
    const name = item.string("name", true);
    if (name !== undefined) {
      const bad = checkName(name);
      if (bad) item.fail("name", bad);
      else if (names.has(name)) item.fail("name", `duplicate name "${name}" (also at ${names.get(name)})`);
      else names.set(name, item.path);
    }
    const v = read(item);
    if (v && name !== undefined) out.push({ ...v, at: item });
  }
  return out;
}

function readApiKeys(m: MapReader, issues: Issues): NonNullable<Credentials["apiKeys"]> {
  m.unknown(["header", "keys"]);
  const header = headerField(m, "header", DEFAULT_API_KEY_HEADER);
  const keys = namedItems<ApiKey>(m, "keys", issues, (k) => {
    if (k.has("key") || k.has("value")) {
      k.fail(k.has("key") ? "key" : "value", "plaintext API keys are not accepted: store the output of `meshwasm policy hash api-key` in sha256");
    }
    k.unknown(["name", "sha256", "key", "value"]);
    const text = k.string("sha256", !k.has("key") && !k.has("value"));
    if (text === undefined) return undefined;
    const h = parseSha256Hex(text);
    if (!h.ok) return k.fail("sha256", h.reason);
    return { name: k.string("name") ?? "", sha256: h.value };
  });
  const seen = new Map<string, string>();
  for (const k of keys) {
    const hex = Buffer.from(k.sha256).toString("hex");
    if (seen.has(hex)) k.at.fail("sha256", `the same key hash as key "${seen.get(hex)}"`);
    else seen.set(hex, k.name);
  }
  return { header, keys: keys.map(({ name, sha256 }) => ({ name, sha256 })) };
}

function readPasswords(m: MapReader, issues: Issues): NonNullable<Credentials["passwords"]> {
  m.unknown(["usernameHeader", "passwordHeader", "cacheSize", "users"]);
  const usernameHeader = headerField(m, "usernameHeader", DEFAULT_USERNAME_HEADER);
  const passwordHeader = headerField(m, "passwordHeader", DEFAULT_PASSWORD_HEADER);
  if (usernameHeader === passwordHeader) m.fail("passwordHeader", "must differ from usernameHeader");
  const cacheSize = m.integer("cacheSize", 0, 65536) ?? 1024;
  const users = namedItems<PasswordUser>(m, "users", issues, (u) => {
    if (u.has("password")) u.fail("password", "plaintext passwords are not accepted: store the output of `meshwasm policy hash password` in hash");
    u.unknown(["name", "hash", ...(u.has("password") ? ["password"] : [])]);
    const text = u.string("hash", !u.has("password"));
    if (text === undefined) return undefined;
    const h = parsePasswordHash(text);
    if (!h.ok) return u.fail("hash", h.reason);
    return { name: u.string("name") ?? "", ...h.value };
  });
  return { usernameHeader, passwordHeader, cacheSize, users: users.map(({ at: _, ...u }) => u) };
}

function readJwks(m: MapReader, issues: Issues): JwkKey[] | undefined {
  const jwks = m.map("jwks", true);
  if (!jwks) return undefined;
  jwks.unknown(["keys"]);
  const keys: JwkKey[] = [];
  const kids = new Set<string>();
  for (const it of jwks.list("keys", true, true) ?? []) {
    const jm = MapReader.of(it.node, it.path, issues);
    if (!jm) continue;
    const parsed = parseJwk(toPlain(it.node) as Record<string, unknown>);
    if (!parsed.ok) {
      const member = parsed.member ?? "kty";
      if (jm.has(member)) jm.fail(member, parsed.reason);
      else issues.add(it.node, keyPath(it.path, member), `missing: ${parsed.reason}`);
      continue;
    }
    if (parsed.value.kid !== undefined) {
      if (kids.has(parsed.value.kid)) {
        jm.fail("kid", `duplicate kid "${parsed.value.kid}"`);
        continue;
      }
      kids.add(parsed.value.kid);
    }
    keys.push(parsed.value);
  }
  return keys;
}

/** Provider fields the filter applies only to tokens it verifies itself (README "Limits"). */
const INLINE_ONLY: Record<string, string> = {
  audiences: "jwt_authn checks aud for this provider and the filter does not re-check it: list the audiences in the RequestAuthentication (jwt_authn's provider audiences)",
  clockSkewSeconds: "jwt_authn checks exp and nbf for this provider, with its own clock_skew_seconds (default 60), and the filter does not re-check them: leave clockSkewSeconds out",
  requireExpiration: "jwt_authn checks exp for this provider (its require_expiration) and the filter does not re-check it: leave requireExpiration out",
};

function readProvider(p: MapReader, issues: Issues): JwtProvider | undefined {
  const inline = p.has("jwks");
  const viaEnvoy = p.has("jwtAuthn");
  p.unknown(["name", "issuer", "audiences", "clockSkewSeconds", "requireExpiration", "spaceDelimitedClaims", "jwks", "jwtAuthn"]);
  const issuer = p.string("issuer", true);
  if (issuer === "") p.fail("issuer", "must not be empty");
  const audienceItems = p.strings("audiences");
  if (audienceItems?.length === 0) p.fail("audiences", "must not be empty: leave audiences out to accept any aud");
  const audiences = (audienceItems ?? []).map((a) => a.value);
  const clockSkewSeconds = p.integer("clockSkewSeconds", 0, 3600) ?? 60;
  const requireExpiration = p.boolean("requireExpiration") ?? true;
  const spaceDelimitedClaims = (p.strings("spaceDelimitedClaims") ?? DEFAULT_SPACE_DELIMITED.map((value) => ({ value }))).map((s) => s.value);
  if (inline === viaEnvoy) {
    issues.add(p.node, p.path, "expected exactly one of jwks (HS256 / EdDSA keys verified in the filter) and jwtAuthn (verified by Envoy's jwt_authn)");
    return undefined;
  }
  const base = { name: p.string("name") ?? "", issuer: issuer ?? "", audiences, clockSkewSeconds, requireExpiration, spaceDelimitedClaims };
  if (viaEnvoy) {
    for (const [field, why] of Object.entries(INLINE_ONLY)) if (p.has(field)) p.fail(field, why);
    const j = p.map("jwtAuthn", true);
    if (!j) return undefined;
    j.unknown(["payloadInMetadata"]);
    const key = j.string("payloadInMetadata") ?? "payload";
    if (key === "") return j.fail("payloadInMetadata", "must not be empty");
    return { ...base, jwtAuthn: { payloadInMetadata: key } };
  }
  const keys = readJwks(p, issues);
  return keys ? { ...base, keys } : undefined;
}

function readJwt(m: MapReader, stripCredentials: boolean, issues: Issues): NonNullable<Credentials["jwt"]> {
  m.unknown(["fromHeader", "forward", "maxTokenBytes", "cacheSize", "providers"]);
  let header = DEFAULT_JWT_HEADER;
  let prefix = DEFAULT_JWT_PREFIX;
  const from = m.map("fromHeader");
  if (from) {
    from.unknown(["name", "prefix"]);
    header = headerField(from, "name", DEFAULT_JWT_HEADER);
    prefix = from.string("prefix") ?? (header === DEFAULT_JWT_HEADER ? DEFAULT_JWT_PREFIX : "");
    if (!/^[\x21-\x7e ]*$/.test(prefix)) from.fail("prefix", "expected visible ASCII characters and spaces");
  }
  const forward = m.boolean("forward") ?? false;
  if (m.has("forward") && !stripCredentials) m.fail("forward", "has no effect: spec.stripCredentials is false, so the JWT header is forwarded whatever forward says");
  const maxTokenBytes = m.integer("maxTokenBytes", 64, LIMITS.maxTokenBytesLimit) ?? LIMITS.defaultMaxTokenBytes;
  const cacheSize = m.integer("cacheSize", 0, 65536) ?? 256;
  const providers = namedItems<JwtProvider>(m, "providers", issues, (p) => readProvider(p, issues));
  const written = m.node.entries.find((e) => e.key === "providers")?.value;
  const onlyJwtAuthn = written?.kind === "seq" && written.items.length > 0 &&
    written.items.every((n) => n.kind === "map" && n.entries.some((e) => e.key === "jwtAuthn") && !n.entries.some((e) => e.key === "jwks"));
  if (m.has("cacheSize") && onlyJwtAuthn) {
    m.fail("cacheSize", "has no effect: only tokens the filter verifies (providers with jwks) are cached, and every provider here is verified by Envoy's jwt_authn");
  }
  const issuers = new Map<string, string>();
  for (const prov of providers) {
    if (issuers.has(prov.issuer)) prov.at.fail("issuer", `issuer already used by provider "${issuers.get(prov.issuer)}"`);
    else issuers.set(prov.issuer, prov.name);
  }
  return { header, prefix, forward, maxTokenBytes, cacheSize, providers: providers.map(({ at: _, ...p }) => p) };
}

/** `spec.credentials`; `stripCredentials` is the policy's (it decides whether jwt.forward means anything). */
export function readCredentials(spec: MapReader, stripCredentials: boolean, issues: Issues): Credentials {
  const m = spec.map("credentials");
  if (!m) return {};
  m.unknown(["apiKeys", "passwords", "jwt"]);
  const out: Credentials = {};
  const a = m.map("apiKeys");
  if (a) out.apiKeys = readApiKeys(a, issues);
  const p = m.map("passwords");
  if (p) out.passwords = readPasswords(p, issues);
  const j = m.map("jwt");
  if (j) out.jwt = readJwt(j, stripCredentials, issues);
  // One header, one credential.
  const owners = new Map<string, string>();
  const claim = (header: string | undefined, what: string, reader: MapReader | undefined, field: string) => {
    if (!header || !reader) return;
    if (owners.has(header)) reader.fail(field, `header "${header}" is already the ${owners.get(header)} header`);
    else owners.set(header, what);
  };
  claim(out.jwt?.header, "JWT", j, "fromHeader");
  claim(out.apiKeys?.header, "API-key", a, "header");
  claim(out.passwords?.usernameHeader, "username", p, "usernameHeader");
  claim(out.passwords?.passwordHeader, "password", p, "passwordHeader");
  return out;
}

/** Every header that carries a credential under these settings. */
export function credentialHeaders(c: Credentials): string[] {
  const out: string[] = [];
  if (c.jwt) out.push(c.jwt.header);
  if (c.apiKeys) out.push(c.apiKeys.header);
  if (c.passwords) out.push(c.passwords.usernameHeader, c.passwords.passwordHeader);
  return out;
}
