/**
 * `meshwasm policy explain`: which rule decides a request and why. The decision, the code, the
 * rule and the per-rule results come from the real filter, run at debug log level so that it
 * writes its trace (one line per rule it evaluated, with the first condition that failed); the
 * reference evaluator (evaluate.ts) adds what the trace cannot say — why a default denial is
 * UNAUTHENTICATED or PERMISSION_DENIED — and must agree with the filter, or explain says so.
 */
import { CODE_NAMES } from "./cases.ts";
import { compilePolicy } from "./compile.ts";
import { evaluate, type Evaluation } from "./evaluate.ts";
import { formatMethodPattern, PSEUDO_RULES, type Policy } from "./model.ts";
import { methodMatches, parseRequestPath } from "./patterns.ts";
import { PolicyRunner, type AuthCall, type AuthOutcome } from "./wasm-runner.ts";

export interface Explanation {
  outcome: AuthOutcome;
  reference: Evaluation;
  agrees: boolean;
  /** The filter's trace lines, without their prefix. */
  trace: string[];
  text: string;
}

const TRACE = "grpc-auth: trace: ";

function why(policy: Policy, call: AuthCall, o: AuthOutcome, ref: Evaluation): string {
  if (o.rule === PSEUDO_RULES.malformedPath) return "the :path is not /<package.Service>/<Method>: the filter refuses it before any rule";
  if (o.rule === PSEUDO_RULES.authn) return `a credential was presented and is invalid (${o.message ?? ""}): invalid credentials are refused whatever the rules say`;
  const method = parseRequestPath(call.path)!;
  const applicable = policy.rules.filter((r) => r.methods.some((p) => methodMatches(p, method)));
  if (o.rule === PSEUDO_RULES.default) {
    if (o.allowed) return ref.shadow
      ? `no rule decided and no enforced ALLOW rule exists, so the call is allowed; with the dry-run rules it would be denied (${CODE_NAMES[ref.shadow.code]})`
      : "no rule decided and the policy has no enforced ALLOW rule, so the call is allowed";
    const allows = applicable.filter((r) => r.action === "ALLOW" && !r.dryRun).map((r) => r.name);
    if (o.code === 16) {
      return `no rule matched; ALLOW rule(s) ${ref.missingCredentialRules.join(", ")} would allow the call with credentials it does not carry: UNAUTHENTICATED`;
    }
    return allows.length === 0
      ? "no ALLOW rule names this method, and once a policy has ALLOW rules, what none allows is denied: PERMISSION_DENIED"
      : `no rule matched, and no missing credential would make ${allows.join(", ")} match: PERMISSION_DENIED`;
  }
  const rule = policy.rules.find((r) => r.name === o.rule);
  if (!rule) return "";
  const pattern = rule.methods.find((p) => methodMatches(p, method));
  return `${rule.action} rule "${rule.name}" (method pattern ${pattern ? formatMethodPattern(pattern) : "?"}) matched${rule.action === "DENY" ? ": DENY rules are evaluated first" : ""}`;
}

export async function explain(policy: Policy, call: AuthCall, wasm?: Uint8Array): Promise<Explanation> {
  const runner = await PolicyRunner.create(compilePolicy(policy), { logLevel: 1, ...(wasm ? { wasm } : {}) });
  let outcome: AuthOutcome;
  try {
    outcome = runner.run(call);
  } finally {
    await runner.close();
  }
  const reference = evaluate(policy, call);
  const agrees = reference.allowed === outcome.allowed && reference.code === outcome.code && reference.rule === (outcome.rule ?? "");
  const trace = outcome.logs.map((l) => l.slice(l.indexOf(TRACE) + TRACE.length)).filter((_, i) => outcome.logs[i]!.includes(TRACE));
  const lines = [
    `decision:    ${outcome.allowed ? "ALLOW" : "DENY"} (${CODE_NAMES[outcome.code]}, ${outcome.code})`,
    `rule:        ${outcome.rule ?? "-"}`,
  ];
  if (outcome.message !== undefined) lines.push(`grpc-message: ${outcome.message}`);
  lines.push(`principal:   ${outcome.principal ?? "-"}`);
  const credentials = trace.find((t) => t.startsWith("credentials: "));
  if (credentials) lines.push(`credentials: ${credentials.slice("credentials: ".length)}`);
  const rules = trace.filter((t) => t.startsWith("rule "));
  lines.push(rules.length ? "rules evaluated (in order):" : "rules evaluated: none");
  for (const r of rules) lines.push(`  ${r.slice("rule ".length)}`);
  if (reference.shadow && outcome.allowed) lines.push(`dry run:     would be denied by ${reference.shadow.rule} (${CODE_NAMES[reference.shadow.code]})`);
  if (reference.audits.length) lines.push(`audit:       ${reference.audits.join(", ")}`);
  lines.push(`why:         ${why(policy, call, outcome, reference)}`);
  if (!agrees) {
    lines.push(`warning:     the reference evaluator decides ${reference.allowed ? "ALLOW" : "DENY"} (${CODE_NAMES[reference.code]}) by ${reference.rule}; please report this policy and request`);
  }
  return { outcome, reference, agrees, trace, text: lines.join("\n") };
}
