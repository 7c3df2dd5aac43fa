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
 *
 * Nothing is accepted that would be ignored: a field that has no effect in its combination (a
 * message on an ALLOW or AUDIT rule or under denialMessages: generic, stripCredentials without
 * credentials, an empty from), a list entry another entry already covers, header conditions no
 * request can meet together, and a rule's method an earlier unconditional rule always decides
 * first (no-effect.ts) are errors at their position, each saying what to write instead.
 */
import { API_VERSION, KIND, LIMITS, formatMethodPattern, type Credentials, type DenialMessages, type Policy, type Rule } from "./model.ts";
import { decidedFirstBy, methodCovers } from "./no-effect.ts";
import { checkName, parseMethodPattern } from "./patterns.ts";
import { readFrom, readWhen, reportRedundant, type At } from "./read-conditions.ts";
import { credentialHeaders, readCredentials } from "./read-credentials.ts";
import { Issues, keyPath, MapReader, parseSource, readString, type SourceNode } from "./source.ts";

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
