/**
 * gRPC's own authorization policy (gRFC A43, with A59's audit_logging_options) -> the same
 * Policy model, so a policy written for gRPC's in-process authorization runs in the mesh:
 *
 *   { "name": "...", "deny_rules": [Rule], "allow_rules": [Rule] (required, non-empty),
 *     "audit_logging_options": { "audit_condition": NONE|ON_DENY|ON_ALLOW|ON_DENY_AND_ALLOW,
 *                                "audit_loggers": [...] } }
 *   Rule: { "name", "source": { "principals": [...] }, "request": { "paths": [...],
 *           "headers": [{ "key", "values": [...] }] } }
 *
 * A43 evaluates deny_rules, then allow_rules, then denies: our evaluation of DENY then ALLOW
 * rules with default deny (allow_rules is never empty) is the same. Its string matchers are
 * exact, prefix (`abc*`), suffix (`*abc`) and presence (`*`). Paths map to our method patterns
 * (`*`, `/pkg.Svc/*`, `/pkg.*` — a prefix ending in "." — and exact methods); principals to SPIFFE
 * patterns (exact, or a prefix ending at a whole segment); header values to exact / prefix /
 * presence. Anything else is an error at its position saying what is not supported. Principals
 * match the peer's URI SAN only (A43 also tries the DNS SAN and the subject). Audit lines go to
 * the proxy log; audit_loggers are accepted and not used.
 */
import type { AuditLog, HeaderCondition, Policy, PrincipalPattern, Rule } from "./model.ts";
import { checkHeaderName, checkName, parseMethodPattern, parsePrincipalPattern } from "./patterns.ts";
import { Issues, MapReader, parseSource, type SourceNode } from "./source.ts";

const AUDIT: Record<string, AuditLog> = { NONE: "none", ON_DENY: "denials", ON_ALLOW: "allows", ON_DENY_AND_ALLOW: "all" };

function pathPattern(text: string): { ok: true; text: string } | { ok: false; reason: string } {
  if (text === "*") return { ok: true, text };
  if (text.startsWith("*")) return { ok: false, reason: "suffix matches (*abc) are not supported: list the methods, or use /package.Service/*" };
  if (text.endsWith("*") && !text.endsWith("/*") && !text.endsWith(".*")) {
    return { ok: false, reason: 'a prefix must end at a whole segment ("/package.Service/*" or "/package.*")' };
  }
  return { ok: true, text };
}

function principalPattern(text: string): { ok: true; value: PrincipalPattern } | { ok: false; reason: string } {
  if (text === "") return { ok: false, reason: 'the empty principal (a TLS peer without a certificate) is not supported: the filter sees only a certificate\'s URI SAN' };
  if (text === "*") return parsePrincipalPattern("*");
  if (text.startsWith("*")) return { ok: false, reason: "suffix matches (*abc) are not supported for principals" };
  let t = text;
  if (t.endsWith("/*")) {
    const segs = t.slice("spiffe://".length).split("/");
    if (segs.length === 4 && segs[1] === "ns" && segs[3] === "*") t = `${t.slice(0, -1)}sa/*`; // spiffe://td/ns/x/* -> sa *
    else if (segs.length === 2 && segs[1] === "*") t = `${t.slice(0, -1)}ns/*/sa/*`; // spiffe://td/* -> any ns, sa
  } else if (t.endsWith("*")) {
    return { ok: false, reason: "a principal prefix must end at a whole segment (spiffe://<td>/ns/<ns>/sa/*)" };
  }
  if (!t.startsWith("spiffe://")) return { ok: false, reason: "only SPIFFE principals (spiffe://...) are supported: the filter matches the peer's URI SAN" };
  return parsePrincipalPattern(t);
}

function headerCondition(h: MapReader, issues: Issues): HeaderCondition | undefined {
  h.unknown(["key", "values"]);
  const key = h.string("key", true);
  const values = h.strings("values", true, true);
  if (key === undefined || !values) return undefined;
  const bad = checkHeaderName(key);
  if (bad) return h.fail("key", bad);
  if (key.startsWith(":") || key === "host" || key.startsWith("grpc-")) return h.fail("key", "A43 does not allow pseudo-headers, host or grpc-* headers");
  const cond: HeaderCondition = { name: key, values: [], prefixes: [] };
  for (const v of values) {
    if (v.value === "*") cond.present = true;
    else if (v.value.startsWith("*")) issues.add(v.node, v.path, "suffix matches (*abc) are not supported for headers");
    else if (v.value.endsWith("*")) cond.prefixes.push(v.value.slice(0, -1));
    else cond.values.push(v.value);
  }
  if (cond.present) return { name: key, values: [], prefixes: [], present: true };
  return cond;
}

function readA43Rule(node: SourceNode, path: string, action: "ALLOW" | "DENY", issues: Issues): Rule | undefined {
  const r = MapReader.of(node, path, issues);
  if (!r) return undefined;
  r.unknown(["name", "source", "request"]);
  const name = r.string("name", true);
  if (name !== undefined && checkName(name)) r.fail("name", checkName(name)!);
  const rule: Rule = { name: name ?? "", action, dryRun: false, methods: [], methodTexts: [], headers: [] };
  const source = r.map("source");
  if (source) {
    source.unknown(["principals"]);
    const principals = source.strings("principals", false, true);
    if (principals) {
      rule.principals = [];
      for (const p of principals) {
        const pp = principalPattern(p.value);
        if (pp.ok) rule.principals.push(pp.value);
        else issues.add(p.node, p.path, pp.reason);
      }
    }
  }
  const request = r.map("request");
  let paths: Array<{ value: string; node: SourceNode; path: string }> | undefined;
  if (request) {
    request.unknown(["paths", "headers"]);
    paths = request.strings("paths", false, true);
    for (const it of request.list("headers", false, true) ?? []) {
      const h = MapReader.of(it.node, it.path, issues);
      const cond = h && headerCondition(h, issues);
      if (cond) rule.headers.push(cond);
    }
  }
  for (const p of paths ?? [{ value: "*", node, path }]) {
    const shape = pathPattern(p.value);
    const parsed = shape.ok ? parseMethodPattern(p.value) : shape;
    if (!parsed.ok) issues.add(p.node, p.path, parsed.reason);
    else {
      rule.methods.push(parsed.value);
      rule.methodTexts.push(p.value);
    }
  }
  return rule;
}

export function readA43(root: SourceNode, file: string): Policy {
  const issues = new Issues();
  const top = MapReader.of(root, "", issues);
  if (!top) {
    issues.throwIfAny(file);
    throw new Error("unreachable");
  }
  top.unknown(["name", "deny_rules", "allow_rules", "audit_logging_options"]);
  const name = top.string("name", true) ?? "";
  if (name === "" && top.has("name")) top.fail("name", "must not be empty");
  const rules: Rule[] = [];
  for (const [key, action] of [["deny_rules", "DENY"], ["allow_rules", "ALLOW"]] as const) {
    for (const it of top.list(key, key === "allow_rules", key === "allow_rules") ?? []) {
      const rule = readA43Rule(it.node, it.path, action, issues);
      if (!rule) continue;
      const prior = rules.find((x) => x.name === rule.name);
      if (prior && rule.name) {
        const n = it.node.kind === "map" ? it.node.entries.find((e) => e.key === "name")?.value : undefined;
        issues.add(n ?? it.node, `${it.path}.name`, `duplicate rule name "${rule.name}": names must be unique across deny_rules and allow_rules`);
      }
      rules.push(rule);
    }
  }
  let auditLog: AuditLog = "none";
  const audit = top.map("audit_logging_options");
  if (audit) {
    audit.unknown(["audit_condition", "audit_loggers"]);
    const cond = audit.oneOf("audit_condition", Object.keys(AUDIT));
    if (cond) auditLog = AUDIT[cond]!;
    audit.list("audit_loggers");
  }
  issues.throwIfAny(file);
  return {
    name,
    denialMessages: "rule",
    auditLog,
    stripCredentials: true,
    filterState: true,
    maxMethodSeries: 1000,
    credentials: {},
    rules,
  };
}

export function parseA43(text: string, file: string): Policy {
  return readA43(parseSource(text, file, true), file);
}
