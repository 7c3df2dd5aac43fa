/**
 * The conditions of a GrpcAuthPolicy rule: `from` (principals, jwt with claims and scopes,
 * apiKeys, users, sourceIps) and `when.headers`, read with positions into the Rule model
 * (model.ts), as filters/grpc-auth/README.md ("Rules") defines them. Entries that have no effect
 * (repeated or covered, no-effect.ts), header values no request can carry and header conditions
 * no request can meet together are errors at their position.
 */
import { formatPrincipal, type ClaimCondition, type Credentials, type HeaderCondition, type JwtCondition, type Rule } from "./model.ts";
import { cidrCovers, headerConditionsSatisfiable, prefixCovers, principalCovers, redundantEntries, sameValue } from "./no-effect.ts";
import { checkHeaderName, parseCidr, parsePrincipalPattern } from "./patterns.ts";
import { MapReader, type Issues, type SourceNode } from "./source.ts";

export interface At<T> {
  value: T;
  node: SourceNode;
  path: string;
}

/**
 * Reports every entry of an any-of list that has no effect: repeated, or covered by a wider
 * entry (no-effect.ts). `show` renders an entry for the message (never for values that may be
 * secrets or private data: header values are not shown).
 */
export function reportRedundant<T>(entries: Array<At<T>>, covers: (outer: T, inner: T) => boolean, issues: Issues, show?: (v: T) => string): void {
  for (const r of redundantEntries(entries.map((e) => e.value), covers)) {
    const e = entries[r.index]!;
    const by = entries[r.by]!;
    const shown = show ? ` (${JSON.stringify(show(by.value))})` : "";
    issues.add(e.node, e.path, r.duplicate
      ? `the same entry as ${by.path}: a repeated entry has no effect`
      : `has no effect: ${by.path}${shown} already matches everything this entry matches`);
  }
}

/** A header value never holds NUL, CR or LF (RFC 9113 §8.2.1, RFC 9110 §5.5): a condition on them never holds. */
function checkHeaderValues(entries: Array<At<string>>, issues: Issues): void {
  for (const e of entries) {
    if (/[\0\r\n]/.test(e.value)) issues.add(e.node, e.path, "a header value cannot contain NUL, CR or LF (RFC 9113 §8.2.1): this condition could never hold");
  }
}

/** Reads names that must exist in `known` (or "*" alone). */
function namesIn(m: MapReader, key: string, known: Set<string> | undefined, what: string, section: string): string[] | undefined {
  const items = m.strings(key, false, true);
  if (!items) return undefined;
  if (!known) {
    m.fail(key, `no ${what}s are declared (spec.credentials.${section})`);
    return undefined;
  }
  const names = items.map((i) => i.value);
  if (names.includes("*") && names.length > 1) {
    m.fail(key, `"*" (any ${what}) cannot be combined with names`);
    return undefined;
  }
  for (const it of items) {
    if (it.value !== "*" && !known.has(it.value)) m.issues.add(it.node, it.path, `unknown ${what} "${it.value}"`);
  }
  reportRedundant(items, sameValue, m.issues);
  return names;
}

function readClaims(j: MapReader, issues: Issues): ClaimCondition[] {
  const out: ClaimCondition[] = [];
  for (const it of j.list("claims", false, true) ?? []) {
    const c = MapReader.of(it.node, it.path, issues);
    if (!c) continue;
    c.unknown(["claim", "path", "anyOf", "allOf"]);
    let path: string[] | undefined;
    if (c.has("claim") === c.has("path")) {
      issues.add(it.node, it.path, "expected exactly one of claim (a top-level claim name) and path (a list of names into nested claims)");
    } else if (c.has("claim")) {
      const name = c.string("claim", true);
      if (name === "") c.fail("claim", "must not be empty");
      else if (name !== undefined) path = [name];
    } else {
      const parts = c.strings("path", true, true);
      if (parts?.some((p) => p.value === "")) c.fail("path", "names must not be empty");
      else if (parts) path = parts.map((p) => p.value);
    }
    if (c.has("anyOf") === c.has("allOf")) {
      issues.add(it.node, it.path, "expected exactly one of anyOf and allOf");
      continue;
    }
    const match = c.has("anyOf") ? "anyOf" : "allOf";
    const values = c.strings(match, true, true);
    if (values) reportRedundant(values, sameValue, issues);
    if (path && values) out.push({ path, match, values: values.map((v) => v.value) });
  }
  return out;
}

function readJwtCondition(f: MapReader, creds: Credentials, issues: Issues): JwtCondition | undefined {
  const j = f.map("jwt");
  if (!j) return undefined;
  j.unknown(["providers", "claims", "scopes"]);
  if (!creds.jwt) {
    f.fail("jwt", "no JWT providers are declared (spec.credentials.jwt)");
    return undefined;
  }
  const known = new Set(creds.jwt.providers.map((p) => p.name));
  const providers = j.has("providers") ? (namesIn(j, "providers", known, "JWT provider", "jwt.providers") ?? []) : [];
  if (providers.includes("*")) j.fail("providers", 'list provider names, or leave providers out for any provider');
  const claims = readClaims(j, issues);
  const scopes = j.strings("scopes", false, true);
  if (scopes) {
    for (const s of scopes) if (!/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(s.value)) issues.add(s.node, s.path, "a scope is one scope-token (RFC 6749 §3.3): no spaces");
    reportRedundant(scopes, sameValue, issues);
    claims.push({ path: ["scope"], match: "allOf", values: scopes.map((s) => s.value) });
  }
  return { providers, claims };
}

export function readFrom(rule: MapReader, creds: Credentials, issues: Issues, out: Rule): void {
  const f = rule.map("from");
  if (!f) return;
  f.unknown(["principals", "jwt", "apiKeys", "users", "sourceIps"]);
  if (f.node.entries.length === 0) {
    issues.add(f.node, f.path, "empty: name at least one identity condition, or leave from out (a rule without from matches every caller)");
    return;
  }
  const principals = f.strings("principals", false, true);
  if (principals) {
    const parsed: Array<At<NonNullable<Rule["principals"]>[number]>> = [];
    for (const p of principals) {
      const r = parsePrincipalPattern(p.value);
      if (r.ok) parsed.push({ ...p, value: r.value });
      else issues.add(p.node, p.path, r.reason);
    }
    reportRedundant(parsed, principalCovers, issues, formatPrincipal);
    out.principals = parsed.map((p) => p.value);
  }
  out.jwt = readJwtCondition(f, creds, issues);
  if (f.has("apiKeys")) out.apiKeys = namesIn(f, "apiKeys", creds.apiKeys && new Set(creds.apiKeys.keys.map((k) => k.name)), "API key", "apiKeys.keys");
  if (f.has("users")) out.users = namesIn(f, "users", creds.passwords && new Set(creds.passwords.users.map((u) => u.name)), "user", "passwords.users");
  const ips = f.strings("sourceIps", false, true);
  if (ips) {
    const parsed: Array<At<NonNullable<Rule["sourceIps"]>[number]>> = [];
    for (const ip of ips) {
      const r = parseCidr(ip.value);
      if (r.ok) parsed.push({ ...ip, value: r.value });
      else issues.add(ip.node, ip.path, r.reason);
    }
    reportRedundant(parsed, cidrCovers, issues, (c) => c.text);
    out.sourceIps = parsed.map((c) => c.value);
  }
}

/** Header names every request that reaches the rules carries (Envoy's request headers; a gRPC :path). */
const ALWAYS_PRESENT = [":path", ":method"];

export function readWhen(rule: MapReader, secretHeaders: string[], issues: Issues, out: Rule): void {
  const w = rule.map("when");
  if (!w) return;
  w.unknown(["headers"]);
  const read: Array<At<HeaderCondition>> = [];
  for (const it of w.list("headers", true, true) ?? []) {
    const h = MapReader.of(it.node, it.path, issues);
    if (!h) continue;
    h.unknown(["name", "values", "prefixes", "present"]);
    const name = h.string("name", true);
    if (name !== undefined) {
      const bad = checkHeaderName(name);
      if (bad) h.fail("name", bad);
      else if (secretHeaders.includes(name)) h.fail("name", `"${name}" carries a credential: require the credential in from instead`);
    }
    const forms = (["values", "prefixes", "present"] as const).filter((k) => h.has(k));
    if (forms.length !== 1) {
      issues.add(it.node, it.path, "expected exactly one of values, prefixes and present");
      continue;
    }
    const match = forms[0]!;
    const cond: HeaderCondition = { name: name ?? "", values: [], prefixes: [] };
    if (match === "present") {
      cond.present = h.boolean("present") ?? true;
      if (!cond.present && name !== undefined && ALWAYS_PRESENT.includes(name)) h.fail("present", `every request the rules see has ${name}: this condition could never hold`);
    } else {
      const entries = h.strings(match, true, true) ?? [];
      checkHeaderValues(entries, issues);
      reportRedundant(entries, match === "values" ? sameValue : prefixCovers, issues);
      cond[match] = entries.map((v) => v.value);
    }
    if (name !== undefined) read.push({ value: cond, node: it.node, path: it.path });
  }
  checkSameHeader(read, issues);
  out.headers.push(...read.map((c) => c.value));
}

const sameCondition = (a: HeaderCondition, b: HeaderCondition) =>
  a.present === b.present && a.values.join("\0") === b.values.join("\0") && a.prefixes.join("\0") === b.prefixes.join("\0");

/** Conditions of one rule on one header must all hold: a repeat, a redundant presence test, or a contradiction is an error. */
function checkSameHeader(conds: Array<At<HeaderCondition>>, issues: Issues): void {
  for (let j = 0; j < conds.length; j++) {
    const c = conds[j]!;
    const earlier = conds.slice(0, j).filter((e) => e.value.name === c.value.name);
    const others = conds.filter((e, i) => i !== j && e.value.name === c.value.name);
    const twin = earlier.find((e) => sameCondition(e.value, c.value));
    const valued = others.find((e) => e.value.present === undefined);
    if (twin) issues.add(c.node, c.path, `the same condition as ${twin.path}: a repeated condition has no effect`);
    else if (earlier.length > 0 && !headerConditionsSatisfiable([...earlier, c].map((e) => e.value))) {
      issues.add(c.node, c.path, `no request can meet this condition and ${earlier[0]!.path} together (both on header "${c.value.name}", and every condition must hold): the rule could never match`);
    } else if (c.value.present === true && valued) {
      issues.add(c.node, c.path, `has no effect: ${valued.path} already requires header "${c.value.name}"`);
    }
  }
}
