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
import { API_VERSION, KIND, LIMITS, formatMethodPattern, formatPrincipal, type ClaimCondition, type Credentials, type DenialMessages, type HeaderCondition, type JwtCondition, type Policy, type Rule } from "./model.ts";
import { decidedFirstBy, headerConditionsSatisfiable, methodCovers, principalCovers, cidrCovers, prefixCovers, redundantEntries, sameValue } from "./no-effect.ts";
import { checkHeaderName, checkName, parseCidr, parseMethodPattern, parsePrincipalPattern } from "./patterns.ts";
import { credentialHeaders, readCredentials } from "./read-credentials.ts";
import { Issues, keyPath, MapReader, parseSource, readString, type SourceNode } from "./source.ts";

interface At<T> {
  value: T;
  node: SourceNode;
  path: string;
}

/**
 * Reports every entry of an any-of list that has no effect: repeated, or covered by a wider
 * entry (no-effect.ts). `show` renders an entry for the message (never for values that may be
 * secrets or private data: header values are not shown).
 */
function reportRedundant<T>(entries: Array<At<T>>, covers: (outer: T, inner: T) => boolean, issues: Issues, show?: (v: T) => string): void {
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

function readFrom(rule: MapReader, creds: Credentials, issues: Issues, out: Rule): void {
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

function readWhen(rule: MapReader, secretHeaders: string[], issues: Issues, out: Rule): void {
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

const ALLOW_MESSAGE = "message is sent only by DENY rules; a call no ALLOW rule admits is denied by _default, whose message cannot be set " +
  "(spec.denialMessages: generic shortens it): to send this text, deny those calls with a DENY rule that has it";

function readMessage(r: MapReader, action: Rule["action"] | undefined, denialMessages: DenialMessages): string | undefined {
  const message = r.string("message");
  if (message === undefined) return undefined;
  if (action === "ALLOW") return r.fail("message", ALLOW_MESSAGE);
  if (action === "AUDIT") return r.fail("message", "message is sent only by DENY rules; an AUDIT rule never denies (it only logs and counts)");
  if (!/^[\x20-\x7e]{1,256}$/.test(message)) return r.fail("message", "expected 1-256 printable ASCII characters");
  if (denialMessages === "generic") {
    return r.fail("message", 'spec.denialMessages is generic, so a denial sends only "permission denied": this message would never be sent (remove it, or set denialMessages: rule)');
  }
  return message;
}

interface RuleRead {
  rule: Rule;
  /** Where each of rule.methods was written. */
  methodsAt: Array<At<Rule["methods"][number]>>;
}

function readRule(node: SourceNode, path: string, creds: Credentials, secretHeaders: string[], denialMessages: DenialMessages, issues: Issues): RuleRead | undefined {
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
  const message = readMessage(r, action, denialMessages);
  const rule: Rule = { name: name ?? "", action: action ?? "ALLOW", dryRun, methods: [], methodTexts: [], headers: [] };
  if (message !== undefined) rule.message = message;
  const methodsAt: RuleRead["methodsAt"] = [];
  for (const m of r.strings("methods", true, true) ?? []) {
    const p = parseMethodPattern(m.value);
    if (!p.ok) issues.add(m.node, m.path, p.reason);
    else {
      methodsAt.push({ ...m, value: p.value });
      rule.methods.push(p.value);
      rule.methodTexts.push(m.value);
    }
  }
  reportRedundant(methodsAt, methodCovers, issues, formatMethodPattern);
  readFrom(r, creds, issues, rule);
  readWhen(r, secretHeaders, issues, rule);
  return { rule, methodsAt };
}

/** A rule's method that an earlier unconditional rule always decides first (no-effect.ts) never reaches the rule. */
function reportShadowed(read: RuleRead[], paths: string[], issues: Issues): void {
  const rules = read.map((x) => x.rule);
  read.forEach((x, i) => {
    x.methodsAt.forEach((m, k) => {
      const j = decidedFirstBy(rules, i, k);
      if (j === undefined) return;
      const by = rules[j]!;
      const order = by.action === "DENY" && x.rule.action === "ALLOW" ? "DENY rules are evaluated before ALLOW rules" : `it comes first and ${by.action} rules are evaluated in order`;
      issues.add(m.node, m.path, `no call to this method reaches rule "${x.rule.name}": rule "${by.name}" (${paths[j]}) has no conditions and decides every call to it first (${order})`);
    });
  });
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
    // Kubernetes-style metadata for people and tools; not compiled, but well-formed.
    for (const key of ["labels", "annotations"]) {
      const m = meta.map(key);
      for (const e of m?.node.entries ?? []) readString(e.value, keyPath(m!.path, e.key), issues);
    }
  }
  const spec = top.map("spec", true);
  if (!spec) {
    issues.throwIfAny(file);
    throw new Error("unreachable");
  }
  spec.unknown(["denialMessages", "auditLog", "stripCredentials", "filterState", "maxMethodSeries", "credentials", "rules"]);
  const denialMessages = spec.oneOf("denialMessages", ["rule", "generic"] as const) ?? "rule";
  const stripCredentials = spec.boolean("stripCredentials");
  const auditLog = spec.oneOf("auditLog", ["none", "denials", "allows", "all"] as const) ?? "denials";
  const filterState = spec.boolean("filterState") ?? true;
  const maxMethodSeries = spec.integer("maxMethodSeries", 1, 100_000) ?? 1000;
  const credentials = readCredentials(spec, stripCredentials ?? true, issues);
  if (stripCredentials !== undefined && !credentials.apiKeys && !credentials.passwords && !credentials.jwt) {
    spec.fail("stripCredentials", "has no effect: no credentials are declared (spec.credentials), so the filter strips no header (a header Envoy's jwt_authn reads is governed by its forwardOriginalToken)");
  }
  const secretHeaders = credentialHeaders(credentials);
  const read: RuleRead[] = [];
  const paths: string[] = [];
  const names = new Map<string, string>();
  const items = spec.list("rules", true);
  if (items && items.length === 0) spec.fail("rules", "must not be empty: a policy needs at least one rule");
  if (items && items.length > LIMITS.maxRules) spec.fail("rules", `at most ${LIMITS.maxRules} rules`);
  for (const it of items ?? []) {
    const one = readRule(it.node, it.path, credentials, secretHeaders, denialMessages, issues);
    if (!one) continue;
    const rule = one.rule;
    if (rule.name && names.has(rule.name)) {
      const nameNode = it.node.kind === "map" ? it.node.entries.find((e) => e.key === "name")?.value : undefined;
      issues.add(nameNode ?? it.node, `${it.path}.name`, `duplicate rule name "${rule.name}" (first at ${names.get(rule.name)})`);
    } else if (rule.name) names.set(rule.name, it.path);
    read.push(one);
    paths.push(it.path);
  }
  // Only on an otherwise valid policy: a rule whose conditions failed to read would look unconditional.
  if (issues.ok) reportShadowed(read, paths, issues);
  const policy: Policy = {
    name,
    denialMessages,
    auditLog,
    stripCredentials: stripCredentials ?? true,
    filterState,
    maxMethodSeries,
    credentials,
    rules: read.map((x) => x.rule),
  };
  if (namespace !== undefined) policy.namespace = namespace;
  issues.throwIfAny(file);
  return policy;
}

/** Parses and validates GrpcAuthPolicy text (YAML or JSON). */
export function parsePolicy(text: string, file: string): Policy {
  return readPolicy(parseSource(text, file), file);
}
