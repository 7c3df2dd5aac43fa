/**
 * The PromQL behind the dashboard's Auth row, as pure strings over the dashboard's variables.
 *
 * Metrics are the grpc-auth filter's (filters/grpc-auth/README.md, "Stats"), in their Prometheus
 * form after the sidecar's `stats_tags` (Istio `extraStatTags`: auth_rule, auth_decision,
 * grpc_code, grpc_service, grpc_method):
 *
 *  - `grpc_auth_decisions_total{auth_rule, auth_decision, grpc_code}`: one count per decision, by
 *    the rule that made it (a policy rule's name, or `_default`, `_authn`, `_malformed_path`);
 *    `auth_decision` is `allowed`, `denied`, `shadow_denied` (a dry-run rule would have denied an
 *    allowed call) or `audited` (an AUDIT rule matched; not a decision of its own);
 *  - `grpc_auth_denials_total{grpc_service, grpc_method, grpc_code, auth_decision}`: denials and
 *    shadow denials by method (bounded by the filter's max_method_series, then "other").
 *
 * `grpc_code` is the grpc-go name: `OK`, `PermissionDenied` (7), `Unauthenticated` (16).
 * Selectors are positive (`auth_decision="denied"`, never `!=`), so series without the label
 * never count. The scrape labels (`namespace`, `app`) are the gRPC rows' (grpc-queries.ts).
 */
import { SCRAPE_LABELS } from "./grpc-queries.ts";

export const AUTH_METRICS = {
  decisions: "grpc_auth_decisions_total",
  denials: "grpc_auth_denials_total",
} as const;

/** `{namespace=~"$namespace",app=~"$workload",...extra}`. */
function scope(extra: string[] = []): string {
  return `{${[`${SCRAPE_LABELS.namespace}=~"$namespace"`, `${SCRAPE_LABELS.workload}=~"$workload"`, ...extra].join(",")}}`;
}

const rate = (metric: string, extra: string[]) => `rate(${metric}${scope(extra)}[$__rate_interval])`;
const ENFORCED = 'auth_decision=~"allowed|denied"';
const byMethod = ['grpc_service=~"$service"', 'grpc_method=~"$method"'];

export const AUTH_QUERIES = {
  /** Allowed, denied and shadow-denied calls per second, by rule. */
  decisionsByRule: `sum by (auth_rule, auth_decision) (${rate(AUTH_METRICS.decisions, ['auth_decision=~"allowed|denied|shadow_denied"'])})`,
  /** Share of decided calls that were denied (enforced decisions only). */
  deniedRatio: `sum(${rate(AUTH_METRICS.decisions, ['auth_decision="denied"'])}) / sum(${rate(AUTH_METRICS.decisions, [ENFORCED])})`,
  /** Denials per second by gRPC code (Unauthenticated = 16, PermissionDenied = 7) and rule. */
  denialsByCode: `sum by (grpc_code, auth_rule) (${rate(AUTH_METRICS.decisions, ['auth_decision="denied"'])})`,
  /** Denials per second by method and code. */
  denialsByMethod: `sum by (grpc_service, grpc_method, grpc_code) (${rate(AUTH_METRICS.denials, [...byMethod, 'auth_decision="denied"'])})`,
  /** Dry-run denials per second: by the rule that would have denied, and code. */
  shadowByRule: `sum by (auth_rule, grpc_code) (${rate(AUTH_METRICS.decisions, ['auth_decision="shadow_denied"'])})`,
  /** Dry-run denials per second by method. */
  shadowByMethod: `sum by (grpc_service, grpc_method, grpc_code) (${rate(AUTH_METRICS.denials, [...byMethod, 'auth_decision="shadow_denied"'])})`,
  /** The ten most denied methods over the dashboard's range. */
  topDenied: `topk(10, sum by (grpc_service, grpc_method, grpc_code) (increase(${AUTH_METRICS.denials}${scope([...byMethod, 'auth_decision="denied"'])}[$__range])))`,
};
