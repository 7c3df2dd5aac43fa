/**
 * `x-kubernetes-validations` CEL rules, evaluated as the API server evaluates them
 * (apiextensions-apiserver `pkg/apiserver/schema/cel`): `self` is the value at the rule's schema
 * node, integers are CEL ints, objects are maps (so `has(self.f)` tests presence), and the
 * Kubernetes CEL libraries the Istio CRDs use are available: the URL library (`isURL`, `url`,
 * and on a URL `getScheme`, `getHost`, `getHostname`, `getPort`, `getEscapedPath`, over Go's
 * ParseRequestURI, go-url.ts).
 *
 * The evaluator is @marcbachmann/cel-js (type-checked environment, macros, custom types). A rule
 * that is false yields its `message` (or "failed rule: <rule>"); a rule that errors yields the
 * error, as the API server reports both.
 */
import { Environment } from "@marcbachmann/cel-js";
import { parseRequestUri, type GoUrl } from "./go-url.ts";

class CelUrl {
  constructor(readonly url: GoUrl) {}
}

function portOf(host: string): string {
  const m = /:(\d*)$/.exec(host.startsWith("[") ? host.slice(host.lastIndexOf("]") + 1) : host);
  return m ? m[1]! : "";
}

function hostnameOf(host: string): string {
  if (host.startsWith("[")) return host.slice(1, host.lastIndexOf("]"));
  const colon = host.lastIndexOf(":");
  return colon >= 0 && /^:\d*$/.test(host.slice(colon)) ? host.slice(0, colon) : host;
}

const env = new Environment({ unlistedVariablesAreDyn: false })
  .registerType("kubernetes.URL", CelUrl)
  .registerVariable("self", "dyn")
  .registerFunction("isURL(string): bool", (s: string) => {
    try {
      parseRequestUri(s);
      return true;
    } catch {
      return false;
    }
  })
  .registerFunction("url(string): kubernetes.URL", (s: string) => {
    try {
      return new CelUrl(parseRequestUri(s));
    } catch (e) {
      throw new Error(`URL parse error during conversion from string: ${(e as Error).message}`);
    }
  })
  .registerFunction("kubernetes.URL.getScheme(): string", (u: CelUrl) => u.url.scheme)
  .registerFunction("kubernetes.URL.getHost(): string", (u: CelUrl) => u.url.host)
  .registerFunction("kubernetes.URL.getHostname(): string", (u: CelUrl) => hostnameOf(u.url.host))
  .registerFunction("kubernetes.URL.getPort(): string", (u: CelUrl) => portOf(u.url.host))
  .registerFunction("kubernetes.URL.getEscapedPath(): string", (u: CelUrl) => u.url.rawPath);

type Compiled = (context: { self: unknown }) => unknown;
const compiled = new Map<string, Compiled>();

function compile(rule: string): Compiled {
  let fn = compiled.get(rule);
  if (!fn) {
    const parsed = env.parse(rule);
    const checked = parsed.check();
    if (!checked.valid) throw new Error(`CEL rule does not compile: ${checked.error?.message ?? "invalid"}: ${rule}`);
    fn = parsed as unknown as Compiled;
    compiled.set(rule, fn);
  }
  return fn;
}

/** A JSON-like value as a CEL value: integral numbers become ints (bigint). */
export function toCel(value: unknown): unknown {
  if (typeof value === "number") return Number.isInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(toCel);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toCel(v);
    return out;
  }
  return value;
}

export interface CelRule {
  rule: string;
  message?: string;
}

/** Evaluates `rule` with `self` = value; returns the failure message, or null when it holds. */
export function evaluateRule(rule: CelRule, value: unknown): string | null {
  let result: unknown;
  try {
    result = compile(rule.rule)({ self: toCel(value) });
  } catch (e) {
    return (e as Error).message.split("\n")[0]!;
  }
  if (result === true) return null;
  if (result === false) return rule.message ?? `failed rule: ${rule.rule.replace(/\s+/g, " ")}`;
  return `rule did not evaluate to a bool: ${rule.rule.replace(/\s+/g, " ")}`;
}
