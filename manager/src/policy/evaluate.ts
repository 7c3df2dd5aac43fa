/**
 * The reference evaluator: the decision filters/grpc-auth/README.md describes ("Evaluation"),
 * computed in TypeScript from the policy model — the oracle of the filter's property test, and
 * the narrator of `meshwasm policy explain` (which reports the filter's own decision and checks
 * that this one agrees).
 *
 * Order: a malformed `:path` is denied by _malformed_path (7); a presented but invalid credential
 * by _authn (16); then DENY rules, ALLOW rules, and the default (deny once any ALLOW rule exists:
 * 16 if an ALLOW rule for the method would allow the call with the credentials it lacks, else 7).
 * Dry-run rules take part only in the shadow decision; AUDIT rules only report.
 */
import { PSEUDO_RULES, type Policy, type Rule } from "./model.ts";
import { cidrContains, methodMatches, parseRequestPath, parseSourceAddress, principalMatches } from "./patterns.ts";
import { checkApiKey, checkJwt, checkUser, type CredentialState, type JwtOutcome, type RequestView } from "./evaluate-credentials.ts";
import type { AuthCall } from "./wasm-runner.ts";

export interface RuleCheck {
  rule: string;
  action: Rule["action"];
  dryRun: boolean;
  /** "matched", or the first condition that failed (the filter's trace wording). */
  result: string;
}

export interface Evaluation {
  allowed: boolean;
  code: number;
  rule: string;
  message?: string;
  principal?: string;
  shadow?: { rule: string; code: number };
  audits: string[];
  credentials: { apiKey: CredentialState; user: CredentialState; jwt: CredentialState; jwtReason?: string };
  /** The rules evaluated, in the filter's order. */
  checks: RuleCheck[];
  /** Enforced ALLOW rules that would allow the call with the credentials it lacks. */
  missingCredentialRules: string[];
}

interface Facts {
  apiKey: { state: CredentialState; name?: string };
  user: { state: CredentialState; name?: string };
  jwt: JwtOutcome;
  peer?: string;
  source?: Uint8Array;
  headers: (name: string) => string[];
}

function claimValues(claims: Record<string, unknown>, path: string[], spaceDelimited: string[]): string[] {
  let v: unknown = claims;
  for (const seg of path) {
    if (v === null || typeof v !== "object" || Array.isArray(v) || !Object.hasOwn(v, seg)) return [];
    v = (v as Record<string, unknown>)[seg];
  }
  if (typeof v === "string") return path.length === 1 && spaceDelimited.includes(path[0]!) ? v.split(" ").filter((s) => s !== "") : [v];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === "string");
  return [];
}

const FAIL = { apiKey: "API key", user: "user", jwt: "JWT", claim: "JWT claim", principal: "peer principal", source: "source IP", header: "request header" };

/** "matched" or the failed condition; with assumeAbsent, conditions on absent credentials count as met. */
function matchRule(rule: Rule, f: Facts, assumeAbsent = false): string {
  const lenient = (present: boolean) => assumeAbsent && !present;
  if (rule.apiKeys && !lenient(f.apiKey.state === "valid")) {
    if (f.apiKey.state !== "valid" || !(rule.apiKeys[0] === "*" || rule.apiKeys.includes(f.apiKey.name!))) return FAIL.apiKey;
  }
  if (rule.users && !lenient(f.user.state === "valid")) {
    if (f.user.state !== "valid" || !(rule.users[0] === "*" || rule.users.includes(f.user.name!))) return FAIL.user;
  }
  if (rule.jwt && !lenient(f.jwt.state === "valid")) {
    if (f.jwt.state !== "valid" || (rule.jwt.providers.length > 0 && !rule.jwt.providers.includes(f.jwt.provider!.name))) return FAIL.jwt;
    for (const c of rule.jwt.claims) {
      const values = claimValues(f.jwt.claims!, c.path, f.jwt.provider!.spaceDelimitedClaims);
      const ok = c.match === "allOf" ? c.values.every((v) => values.includes(v)) : c.values.some((v) => values.includes(v));
      if (!ok) return FAIL.claim;
    }
  }
  if (rule.principals && !lenient(f.peer !== undefined)) {
    if (f.peer === undefined || !rule.principals.some((p) => principalMatches(p, f.peer!))) return FAIL.principal;
  }
  if (rule.sourceIps) {
    if (!f.source || !rule.sourceIps.some((c) => cidrContains(c, f.source!))) return FAIL.source;
  }
  for (const h of rule.headers) {
    const values = f.headers(h.name);
    const present = values.length > 0;
    if (h.present !== undefined) {
      if (present !== h.present) return FAIL.header;
      continue;
    }
    const joined = values.join(",");
    if (!present || !(h.values.includes(joined) || h.prefixes.some((p) => joined.startsWith(p)))) return FAIL.header;
  }
  return "matched";
}

function principalOf(f: Facts): string | undefined {
  if (f.jwt.state === "valid") {
    const c = f.jwt.claims!;
    return `${typeof c.iss === "string" ? c.iss : ""}/${typeof c.sub === "string" ? c.sub : ""}`;
  }
  if (f.user.state === "valid") return `user:${f.user.name}`;
  if (f.apiKey.state === "valid") return `apikey:${f.apiKey.name}`;
  return f.peer;
}

function message(policy: Policy, code: number, rule: string, text: string, custom?: string): string {
  const kind = code === 16 ? "unauthenticated" : "permission denied";
  if (policy.denialMessages === "generic") return kind;
  if (custom !== undefined) return custom;
  return `grpc-auth: ${kind}${text ? `: ${text}` : ""} (rule "${rule}")`;
}

/** A request as the filter's host presents it (header names lower-case). */
export function requestHeaders(call: AuthCall): Array<[string, string]> {
  const out: Array<[string, string]> = [[":method", "POST"], [":scheme", call.peer !== undefined ? "https" : "http"], [":path", call.path], [":authority", "policy.test"]];
  if (call.contentType !== null) out.push(["content-type", call.contentType ?? "application/grpc"]);
  out.push(["te", "trailers"], ...(call.metadata ?? []).map(([k, v]) => [k.toLowerCase(), v] as [string, string]));
  return out;
}

export function evaluate(policy: Policy, call: AuthCall): Evaluation {
  const headers = requestHeaders(call);
  const values = (name: string) => headers.filter(([k]) => k === name).map(([, v]) => v);
  const view: RequestView = { values, nowSeconds: Math.floor(call.nowSeconds ?? Date.now() / 1000), jwtAuthn: call.jwtAuthn ?? {} };
  const peer = call.peer === undefined || call.peer === "" ? undefined : call.peer;
  const out: Evaluation = {
    allowed: false, code: 7, rule: PSEUDO_RULES.malformedPath, audits: [], checks: [], missingCredentialRules: [],
    credentials: { apiKey: "absent", user: "absent", jwt: "absent" },
  };
  const pathValue = values(":path")[0] ?? "";
  const method = /^[\x00-\x7f]*$/.test(pathValue) ? parseRequestPath(pathValue) : undefined;
  if (!method) {
    out.message = message(policy, 7, out.rule, "not a gRPC method path");
    if (peer !== undefined) out.principal = peer;
    return out;
  }
  const facts: Facts = {
    apiKey: checkApiKey(policy, view),
    user: checkUser(policy, view),
    jwt: checkJwt(policy, view),
    ...(peer !== undefined ? { peer } : {}),
    headers: values,
  };
  const src = parseSourceAddress(call.source ?? "127.0.0.1:40000");
  if (src) facts.source = src;
  out.credentials = { apiKey: facts.apiKey.state, user: facts.user.state, jwt: facts.jwt.state, ...(facts.jwt.reason ? { jwtReason: facts.jwt.reason } : {}) };
  const principal = principalOf(facts);
  if (principal !== undefined && principal !== "") out.principal = principal;
  const invalid = facts.jwt.state === "invalid" ? `JWT: ${facts.jwt.reason}` : facts.apiKey.state === "invalid" ? "API key" : facts.user.state === "invalid" ? "username or password" : "";
  if (invalid) {
    out.code = 16;
    out.rule = PSEUDO_RULES.authn;
    out.message = message(policy, 16, out.rule, `invalid ${invalid}`);
    return out;
  }
  const applicable = policy.rules.filter((r) => r.methods.some((p) => methodMatches(p, method)));
  const absentKinds = {
    principal: peer === undefined, jwt: facts.jwt.state !== "valid", apiKey: facts.apiKey.state !== "valid", user: facts.user.state !== "valid",
  };
  const requiresAbsent = (r: Rule) =>
    (r.principals !== undefined && absentKinds.principal) || (r.jwt !== undefined && absentKinds.jwt) ||
    (r.apiKeys !== undefined && absentKinds.apiKey) || (r.users !== undefined && absentKinds.user);
  const check = (r: Rule) => {
    const result = matchRule(r, facts);
    out.checks.push({ rule: r.name, action: r.action, dryRun: r.dryRun, result });
    return result === "matched";
  };
  // DENY rules (the filter stops at the first enforced match).
  let enforcedDeny: Rule | undefined, shadowDeny: Rule | undefined;
  for (const r of applicable.filter((x) => x.action === "DENY")) {
    if (!check(r)) continue;
    shadowDeny ??= r;
    if (!r.dryRun) { enforcedDeny = r; break; }
  }
  let enforcedAllow: Rule | undefined, shadowAllow: Rule | undefined;
  let enforcedMissing = false, shadowMissing = false;
  if (!enforcedDeny || !shadowDeny) {
    for (const r of applicable.filter((x) => x.action === "ALLOW")) {
      if (check(r)) {
        shadowAllow ??= r;
        if (!r.dryRun) { enforcedAllow = r; break; }
        continue;
      }
      if (requiresAbsent(r) && matchRule(r, facts, true) === "matched") {
        shadowMissing = true;
        if (!r.dryRun) {
          enforcedMissing = true;
          out.missingCredentialRules.push(r.name);
        }
      }
    }
  }
  const enforcedAllowExists = policy.rules.some((r) => r.action === "ALLOW" && !r.dryRun);
  const anyAllowExists = policy.rules.some((r) => r.action === "ALLOW");
  if (enforcedDeny) {
    out.code = 7;
    out.rule = enforcedDeny.name;
    out.message = message(policy, 7, out.rule, "", enforcedDeny.message);
  } else if (enforcedAllow) {
    out.allowed = true; out.code = 0; out.rule = enforcedAllow.name;
  } else if (enforcedAllowExists) {
    out.code = enforcedMissing ? 16 : 7;
    out.rule = PSEUDO_RULES.default;
    out.message = message(policy, out.code, out.rule, out.code === 16 ? "credentials required" : "no rule allows this call");
  } else {
    out.allowed = true; out.code = 0; out.rule = PSEUDO_RULES.default;
  }
  if (out.allowed) {
    if (shadowDeny) out.shadow = { rule: shadowDeny.name, code: 7 };
    else if (!shadowAllow && anyAllowExists) out.shadow = { rule: PSEUDO_RULES.default, code: shadowMissing ? 16 : 7 };
  }
  for (const r of applicable.filter((x) => x.action === "AUDIT")) if (check(r)) out.audits.push(r.name);
  return out;
}
