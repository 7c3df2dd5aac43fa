/**
 * Policy -> the grpc-auth filter's pluginConfig JSON (filters/grpc-auth/README.md,
 * "Configuration"). The output is canonical: keys sorted at every level (as RFC 8785 orders
 * them for ASCII keys), no whitespace, arrays in policy order, integers only — so one policy
 * always compiles to the same bytes, and a digest of them identifies it.
 *
 * Secrets leave only as hashes: API keys as SHA-256, passwords as PBKDF2 salt + derived key.
 * HS256 keys are symmetric: verifying needs the key itself (see the README's limits).
 */
import type { HeaderCondition, Policy, Rule } from "./model.ts";
import { formatMethodPattern, formatPrincipal } from "./model.ts";

export const CONFIG_VERSION = 1;

const b64url = (b: Uint8Array) => Buffer.from(b).toString("base64url");
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** JSON with keys sorted recursively (code-unit order), no whitespace. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
}

function header(h: HeaderCondition): Record<string, unknown> {
  if (h.present !== undefined) return { name: h.name, present: h.present };
  return { name: h.name, ...(h.values.length ? { values: h.values } : {}), ...(h.prefixes.length ? { prefixes: h.prefixes } : {}) };
}

function rule(r: Rule): Record<string, unknown> {
  const out: Record<string, unknown> = {
    name: r.name,
    action: r.action,
    dry_run: r.dryRun,
    methods: r.methods.map(formatMethodPattern),
  };
  if (r.message !== undefined) out.message = r.message;
  if (r.principals) out.principals = r.principals.map(formatPrincipal);
  if (r.jwt) {
    out.jwt = {
      providers: r.jwt.providers,
      claims: r.jwt.claims.map((c) => ({ path: c.path, [c.match === "anyOf" ? "any_of" : "all_of"]: c.values })),
    };
  }
  if (r.apiKeys) out.api_keys = r.apiKeys;
  if (r.users) out.users = r.users;
  if (r.sourceIps) out.source_ips = r.sourceIps.map((c) => c.text);
  if (r.headers.length) out.headers = r.headers.map(header);
  return out;
}

/** The pluginConfig object (before serialization). */
export function pluginConfigObject(p: Policy): Record<string, unknown> {
  const c = p.credentials;
  const out: Record<string, unknown> = {
    version: CONFIG_VERSION,
    policy: p.name,
    denial_messages: p.denialMessages,
    audit_log: p.auditLog,
    strip_credentials: p.stripCredentials,
    filter_state: p.filterState,
    max_method_series: p.maxMethodSeries,
    rules: p.rules.map(rule),
  };
  if (c.apiKeys) {
    out.api_keys = { header: c.apiKeys.header, keys: c.apiKeys.keys.map((k) => ({ name: k.name, sha256: hex(k.sha256) })) };
  }
  if (c.passwords) {
    out.passwords = {
      username_header: c.passwords.usernameHeader,
      password_header: c.passwords.passwordHeader,
      cache_size: c.passwords.cacheSize,
      users: c.passwords.users.map((u) => ({ name: u.name, iterations: u.iterations, salt: b64url(u.salt), hash: b64url(u.hash) })),
    };
  }
  if (c.jwt) {
    out.jwt = {
      header: c.jwt.header,
      prefix: c.jwt.prefix,
      forward: c.jwt.forward,
      max_token_bytes: c.jwt.maxTokenBytes,
      cache_size: c.jwt.cacheSize,
      providers: c.jwt.providers.map((pr) => ({
        name: pr.name,
        issuer: pr.issuer,
        audiences: pr.audiences,
        clock_skew_seconds: pr.clockSkewSeconds,
        require_exp: pr.requireExpiration,
        space_delimited_claims: pr.spaceDelimitedClaims,
        ...(pr.jwtAuthn
          ? { jwt_authn: { payload_in_metadata: pr.jwtAuthn.payloadInMetadata } }
          : {
              keys: (pr.keys ?? []).map((k) => ({
                alg: k.alg,
                ...(k.kid !== undefined ? { kid: k.kid } : {}),
                ...(k.alg === "HS256" ? { k: b64url(k.bytes) } : { x: b64url(k.bytes) }),
              })),
            }),
      })),
    };
  }
  return out;
}

/** The canonical pluginConfig JSON text of a policy. */
export function compilePolicy(p: Policy): string {
  return canonicalJson(pluginConfigObject(p));
}
