/**
 * grpc-auth's metrics (README.md, "Stats"), labelled with Istio's `tag=.=value;.;` convention
 * through the SDK's MetricFamily (filters/sdk/metrics.ts), for Envoy `stats_tags`:
 *
 *  - grpc_auth_decisions_total{auth_rule, auth_decision, grpc_code}: every decision, by the rule
 *    that made it (a rule name, or _default / _authn / _malformed_path); auth_decision is allowed,
 *    denied, shadow_denied (a dry-run rule, or the default deny dry-run ALLOW rules would bring,
 *    would have denied an allowed call) or audited (an AUDIT rule matched); grpc_code is the
 *    grpc-ecosystem name of the code (OK, PermissionDenied, Unauthenticated).
 *  - grpc_auth_denials_total{grpc_service, grpc_method, grpc_code, auth_decision}: denials and
 *    shadow denials by method, bounded by max_method_series (then grpc_service / grpc_method
 *    become "other").
 *
 *  - grpc_auth_jwt_verifications_total: JWT signatures checked (tokens the cache did not hold);
 *  - grpc_auth_password_derivations_total: PBKDF2 runs (credentials the cache did not hold).
 *
 * Series ids are resolved once per (rule, decision, code) and kept on the rule, so counting a
 * decision is one host call.
 */
import { MetricType } from "../../sdk/abi/imports";
import { defineMetric, incrementMetric } from "../../sdk/hostcalls";
import { MetricFamily } from "../../sdk/metrics";
import { Text, text } from "./texts";

export const DECISION_ALLOWED: i32 = 0;
export const DECISION_DENIED: i32 = 1;
export const DECISION_SHADOW_DENIED: i32 = 2;
export const DECISION_AUDITED: i32 = 3;
// Their label values are the texts allowed, denied, shadow_denied, audited, in that order.

/** The three codes a decision has (OK, PermissionDenied, Unauthenticated: texts in that order). */
function codeSlot(code: i32): i32 { return code == 7 ? 1 : code == 16 ? 2 : 0; }

export class Stats {
  readonly decisions: MetricFamily;
  readonly denials: MetricFamily;
  readonly jwtVerifications: u32 = defineMetric(MetricType.Counter, text(Text.jwtVerifications));
  readonly passwordDerivations: u32 = defineMetric(MetricType.Counter, text(Text.passwordDerivations));
  private readonly labels3: StaticArray<string> = new StaticArray<string>(3);
  private readonly labels4: StaticArray<string> = new StaticArray<string>(4);

  constructor(rules: i32, maxMethodSeries: i32) {
    const other = text(Text.other);
    this.decisions = new MetricFamily(MetricType.Counter, text(Text.decisionsTotal),
      [text(Text.authRule), text(Text.authDecision), text(Text.grpcCode)], (rules + 3) * 12 + 1, other, 0b110);
    this.denials = new MetricFamily(MetricType.Counter, text(Text.denialsTotal),
      [text(Text.grpcService), text(Text.grpcMethod), text(Text.grpcCode), text(Text.authDecision)], maxMethodSeries, other, 0b1100);
    for (let i = 0; i < 3; i++) this.labels3[i] = "";
    for (let i = 0; i < 4; i++) this.labels4[i] = "";
  }

  /** Counts one decision of `rule` (its name and its cached ids). */
  decision(ruleName: string, ids: StaticArray<u32>, decision: i32, code: i32): void {
    const slot = decision * 3 + codeSlot(code);
    let id = unchecked(ids[slot]);
    if (id == 0) {
      const l = this.labels3;
      l[0] = ruleName; l[1] = text(Text.allowed + decision); l[2] = text(Text.codeOk + codeSlot(code));
      id = this.decisions.id(l);
      unchecked(ids[slot] = id);
    }
    if (id != 0) incrementMetric(id, 1);
  }

  /** Counts a denial (or shadow denial) of a method. */
  denial(service: string, method: string, decision: i32, code: i32): void {
    const l = this.labels4;
    l[0] = service; l[1] = method; l[2] = text(Text.codeOk + codeSlot(code)); l[3] = text(Text.allowed + decision);
    this.denials.add(l, 1);
  }
}
