/**
 * GrpcAuthPolicy YAML -> validated Policy (model.ts). Every problem is collected with its
 * file:line:column and field path (source.ts) and thrown together as one PolicyError.
 *
 *   apiVersion: meshwasm.io/v1alpha1
 *   kind: GrpcAuthPolicy
 *   metadata: { name, namespace? }
 *   spec: { denialMessages?, auditLog?, stripCredentials?, filterState?, maxMethodSeries?,
 *           credentials?: { apiKeys?, passwords?, jwt? }, rules: [...] }
 *
 * A rule: { name, action: ALLOW|DENY|AUDIT, methods: [...], dryRun?, message?,
 *           from?: { principals?, jwt?: { providers?, claims?, scopes? }, apiKeys?, users?, sourceIps? },
 *           when?: { headers?: [{ name, values? | prefixes? | present? }] } }
 * filters/grpc-auth/README.md documents each field and the evaluation.
 */
import { API_VERSION, KIND, LIMITS, type ClaimCondition, type Credentials, type HeaderCondition, type JwtCondition, type Policy, type Rule } from "./model.ts";
import { checkHeaderName, checkName, parseCidr, parseMethodPattern, parsePrincipalPattern } from "./patterns.ts";
import { credentialHeaders, readCredentials } from "./read-credentials.ts";
import { Issues, MapReader, parseSource, type SourceNode } from "./source.ts";

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
    claims.push({ path: ["scope"], match: "allOf", values: scopes.map((s) => s.value) });
  }
  return { providers, claims };
}

function readFrom(rule: MapReader, creds: Credentials, issues: Issues, out: Rule): void {
  const f = rule.map("from");
  if (!f) return;
  f.unknown(["principals", "jwt", "apiKeys", "users", "sourceIps"]);
  const principals = f.strings("principals", false, true);
  if (principals) {
    out.principals = [];
    for (const p of principals) {
      const r = parsePrincipalPattern(p.value);
      if (r.ok) out.principals.push(r.value);
      else issues.add(p.node, p.path, r.reason);
    }
  }
  out.jwt = readJwtCondition(f, creds, issues);
  if (f.has("apiKeys")) out.apiKeys = namesIn(f, "apiKeys", creds.apiKeys && new Set(creds.apiKeys.keys.map((k) => k.name)), "API key", "apiKeys.keys");
  if (f.has("users")) out.users = namesIn(f, "users", creds.passwords && new Set(creds.passwords.users.map((u) => u.name)), "user", "passwords.users");
  const ips = f.strings("sourceIps", false, true);
  if (ips) {
    out.sourceIps = [];
    for (const ip of ips) {
      const r = parseCidr(ip.value);
      if (r.ok) out.sourceIps.push(r.value);
      else issues.add(ip.node, ip.path, r.reason);
    }
  }
}

function readWhen(rule: MapReader, secretHeaders: string[], issues: Issues, out: Rule): void {
  const w = rule.map("when");
  if (!w) return;
  w.unknown(["headers"]);
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
    if (match === "present") cond.present = h.boolean("present") ?? true;
    else cond[match] = (h.strings(match, true, true) ?? []).map((v) => v.value);
    if (name !== undefined) out.headers.push(cond);
  }
}

function readRule(node: SourceNode, path: string, creds: Credentials, secretHeaders: string[], issues: Issues): Rule | undefined {
  const r = MapReader.of(node, path, issues);
  if (!r) return undefined;
  r.unknown(["name", "action", "methods", "dryRun", "message", "from", "when"]);
  const name = r.string("name", true);
  if (name !== undefined) {
    const bad = checkName(name);
    if (bad) r.fail("name", bad);
  }
  const action = r.oneOf("action", ["ALLOW", "DENY", "AUDIT"] as const, true);
  const dryRun = r.boolean("dryRun") ?? false;
  if (dryRun && action === "AUDIT") r.fail("dryRun", "AUDIT rules only log: dryRun has no meaning on them");
  const message = r.string("message");
  if (message !== undefined && action !== "DENY" && action !== "ALLOW") r.fail("message", "only rules that can deny (ALLOW, DENY) have a denial message");
  if (message !== undefined && !/^[\x20-\x7e]{1,256}$/.test(message)) r.fail("message", "expected 1-256 printable ASCII characters");
  const rule: Rule = { name: name ?? "", action: action ?? "ALLOW", dryRun, methods: [], methodTexts: [], headers: [] };
  if (message !== undefined) rule.message = message;
  for (const m of r.strings("methods", true, true) ?? []) {
    const p = parseMethodPattern(m.value);
    if (!p.ok) issues.add(m.node, m.path, p.reason);
    else {
      rule.methods.push(p.value);
      rule.methodTexts.push(m.value);
    }
  }
  readFrom(r, creds, issues, rule);
  readWhen(r, secretHeaders, issues, rule);
  return rule;
}

/** Validates a parsed GrpcAuthPolicy document; throws PolicyError listing every problem. */
export function readPolicy(root: SourceNode, file: string): Policy {
  const issues = new Issues();
  const top = MapReader.of(root, "", issues);
  if (!top) {
    issues.throwIfAny(file);
    throw new Error("unreachable");
  }
  top.unknown(["apiVersion", "kind", "metadata", "spec"]);
  const apiVersion = top.string("apiVersion", true);
  if (apiVersion !== undefined && apiVersion !== API_VERSION) top.fail("apiVersion", `expected ${API_VERSION}`);
  const kind = top.string("kind", true);
  if (kind !== undefined && kind !== KIND) top.fail("kind", `expected ${KIND}`);
  const meta = top.map("metadata", true);
  let name = "";
  let namespace: string | undefined;
  if (meta) {
    meta.unknown(["name", "namespace", "labels", "annotations"]);
    name = meta.string("name", true) ?? "";
    if (name && !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(name)) meta.fail("name", "expected a DNS-1123 subdomain (lower-case letters, digits, '-', '.')");
    namespace = meta.string("namespace");
    if (namespace !== undefined && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) meta.fail("namespace", "expected a DNS-1123 label");
  }
  const spec = top.map("spec", true);
  if (!spec) {
    issues.throwIfAny(file);
    throw new Error("unreachable");
  }
  spec.unknown(["denialMessages", "auditLog", "stripCredentials", "filterState", "maxMethodSeries", "credentials", "rules"]);
  const credentials = readCredentials(spec, issues);
  const secretHeaders = credentialHeaders(credentials);
  const rules: Rule[] = [];
  const names = new Map<string, string>();
  const items = spec.list("rules", true);
  if (items && items.length === 0) spec.fail("rules", "must not be empty: a policy needs at least one rule");
  if (items && items.length > LIMITS.maxRules) spec.fail("rules", `at most ${LIMITS.maxRules} rules`);
  for (const it of items ?? []) {
    const rule = readRule(it.node, it.path, credentials, secretHeaders, issues);
    if (!rule) continue;
    if (rule.name && names.has(rule.name)) {
      const nameNode = it.node.kind === "map" ? it.node.entries.find((e) => e.key === "name")?.value : undefined;
      issues.add(nameNode ?? it.node, `${it.path}.name`, `duplicate rule name "${rule.name}" (first at ${names.get(rule.name)})`);
    } else if (rule.name) names.set(rule.name, it.path);
    rules.push(rule);
  }
  const policy: Policy = {
    name,
    denialMessages: spec.oneOf("denialMessages", ["rule", "generic"] as const) ?? "rule",
    auditLog: spec.oneOf("auditLog", ["none", "denials", "allows", "all"] as const) ?? "denials",
    stripCredentials: spec.boolean("stripCredentials") ?? true,
    filterState: spec.boolean("filterState") ?? true,
    maxMethodSeries: spec.integer("maxMethodSeries", 1, 100_000) ?? 1000,
    credentials,
    rules,
  };
  if (namespace !== undefined) policy.namespace = namespace;
  issues.throwIfAny(file);
  return policy;
}

/** Parses and validates GrpcAuthPolicy text (YAML or JSON). */
export function parsePolicy(text: string, file: string): Policy {
  return readPolicy(parseSource(text, file), file);
}
