/**
 * The decision (README.md, "Evaluation", gRFC A43 with Istio's default-deny-once-allowed rule),
 * for the rules that apply to the request's method (methods.ts):
 *
 *  1. the first matching DENY rule denies, PERMISSION_DENIED (7);
 *  2. else the first matching ALLOW rule allows;
 *  3. else, when the policy has any ALLOW rule, the call is denied by "_default": UNAUTHENTICATED
 *     (16) when an ALLOW rule for this method would allow it if the credentials it requires and
 *     the request lacks were presented (every other condition holds) — credentials are missing;
 *     else PERMISSION_DENIED (7) — nothing the caller lacks would help;
 *  4. else it is allowed by "_default".
 *
 * This is computed twice in one pass: the enforced decision over the rules that are not dry-run,
 * and the shadow decision over all rules (dry-run ones as if enforced). Only the enforced decision
 * acts; a shadow denial of an allowed call is counted and logged ("shadow_denied"). AUDIT rules
 * never decide: each one that matches is reported.
 */
import { RequestHeaders } from "./headers";
import { Identities } from "./identity";
import { matchRule, MATCH } from "./conditions";
import { ACTION_NAMES, Config, Rule } from "./model";
import { RuleList } from "./methods";
import { logDebug } from "../../sdk/hostcalls";
import { FAIL_NAMES } from "./conditions";
import { Text, text } from "./texts";

export const CODE_OK: i32 = 0;
export const CODE_PERMISSION_DENIED: i32 = 7;
export const CODE_UNAUTHENTICATED: i32 = 16;

/** Rule indices of decisions no rule made. */
export const BY_DEFAULT: i32 = -1;

export class Decision {
  deny: bool = false;
  code: i32 = CODE_OK;
  /** The deciding rule, or BY_DEFAULT. */
  rule: i32 = BY_DEFAULT;
  shadowDeny: bool = false;
  shadowCode: i32 = CODE_OK;
  shadowRule: i32 = BY_DEFAULT;
  /** Matching AUDIT rules (indices), in policy order. */
  readonly audits: Array<i32> = [];

  reset(): void {
    this.deny = false; this.code = CODE_OK; this.rule = BY_DEFAULT;
    this.shadowDeny = false; this.shadowCode = CODE_OK; this.shadowRule = BY_DEFAULT;
    this.audits.length = 0;
  }
}

function trace(rule: Rule, result: i32): void {
  logDebug(text(Text.traceRule) + rule.name + text(Text.traceRuleClose) + ACTION_NAMES[rule.action] +
    (rule.dryRun ? text(Text.dryRun) : "") + text(Text.colon) +
    (result == MATCH ? text(Text.matched) : text(Text.notMatched) + FAIL_NAMES[result]));
}

export function decide(config: Config, list: RuleList, id: Identities, h: RequestHeaders, tracing: bool, out: Decision): void {
  out.reset();
  const rules = config.rules;
  let enforcedDeny = -1, shadowDeny = -1;
  for (let i = 0, n = list.deny.length; i < n && enforcedDeny < 0; i++) {
    const r = unchecked(list.deny[i]);
    const rule = unchecked(rules[r]);
    const m = matchRule(rule, config, id, h);
    if (tracing) trace(rule, m);
    if (m != MATCH) continue;
    if (shadowDeny < 0) shadowDeny = r;
    if (!rule.dryRun) enforcedDeny = r;
  }
  let enforcedAllow = -1, shadowAllow = -1;
  let enforcedMissing = false, shadowMissing = false;
  if (enforcedDeny < 0 || shadowDeny < 0) {
    let absent: u32 = 0xffffffff; // computed on first need
    for (let i = 0, n = list.allow.length; i < n && enforcedAllow < 0; i++) {
      const r = unchecked(list.allow[i]);
      const rule = unchecked(rules[r]);
      const m = matchRule(rule, config, id, h);
      if (tracing) trace(rule, m);
      if (m == MATCH) {
        if (shadowAllow < 0) shadowAllow = r;
        if (!rule.dryRun) enforcedAllow = r;
        continue;
      }
      if (rule.required != 0 && (rule.dryRun ? !shadowMissing : !enforcedMissing)) {
        if (absent == 0xffffffff) absent = id.absentKinds();
        if ((rule.required & absent) != 0 && matchRule(rule, config, id, h, true) == MATCH) {
          shadowMissing = true;
          if (!rule.dryRun) enforcedMissing = true;
        }
      }
    }
  }
  // Enforced.
  if (enforcedDeny >= 0) { out.deny = true; out.code = CODE_PERMISSION_DENIED; out.rule = enforcedDeny; }
  else if (enforcedAllow >= 0) { out.rule = enforcedAllow; }
  else if (config.enforcedAllowExists) {
    out.deny = true;
    out.code = enforcedMissing ? CODE_UNAUTHENTICATED : CODE_PERMISSION_DENIED;
  }
  // Shadow: only reported when it would deny what the enforced decision lets through.
  if (!out.deny) {
    if (shadowDeny >= 0) { out.shadowDeny = true; out.shadowCode = CODE_PERMISSION_DENIED; out.shadowRule = shadowDeny; }
    else if (shadowAllow < 0 && config.anyAllowExists) {
      out.shadowDeny = true;
      out.shadowCode = shadowMissing ? CODE_UNAUTHENTICATED : CODE_PERMISSION_DENIED;
    }
  }
  for (let i = 0, n = list.audit.length; i < n; i++) {
    const r = unchecked(list.audit[i]);
    const rule = unchecked(rules[r]);
    const m = matchRule(rule, config, id, h);
    if (tracing) trace(rule, m);
    if (m == MATCH) out.audits.push(r);
  }
}
