/**
 * The PromQL of the health gate (pure). A wave is judged on what its pods did between the moment
 * it was applied (t0) and the end of its bake time (t1), read as differences of counters
 * evaluated at t0 and t1 (a series that first appears inside the window counts from zero, which
 * `increase()` would miss; a counter that went down was reset and counts from zero):
 *
 * - gRPC traffic and server errors from the grpc-metrics filter: `grpc_server_handled_total`, and
 *   those with a server error code (OpenTelemetry's: Unknown, DeadlineExceeded, Unimplemented,
 *   Internal, Unavailable, DataLoss; a denial is not a server error);
 * - p99 latency from `grpc_server_handling_milliseconds_bucket` (milliseconds, the filter's unit);
 * - module fetches that failed: istio-agent's `istio_agent_wasm_remote_fetch_count{result!="success"}`;
 * - Envoy refusing a plugin's configuration (ECDS `config_fail`, e.g. the VM or its
 *   on_configure failing):
 *   `envoy_extension_config_discovery_http_filter_extensions_istio_io_<kind>_<ns>_<name>_config_fail`;
 * - istio-agent's deny-all RBAC filter standing in for a plugin it could not load
 *   (`…rbac…wasm_default_denydenied`).
 *
 * Series are selected by the scrape's target labels (Istio's kubernetes-pods job: `namespace`
 * and `pod`; configurable) with positive matchers only.
 */
import { SERVER_ERROR_CODES } from "../../dashboards/grpc-queries.ts";

export interface GateScope {
  namespace: string;
  pods: string[];
  namespaceLabel: string;
  podLabel: string;
  /** Prometheus-sanitized object identities: `<ns>_<name>` per WasmPlugin/TrafficExtension. */
  objects: Array<{ kind: "WasmPlugin" | "TrafficExtension"; namespace: string; name: string }>;
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const promString = (s: string) => JSON.stringify(s);
const sanitize = (s: string) => s.replace(/[^a-zA-Z0-9_]/g, "_");

export function scopeMatchers(scope: GateScope): string[] {
  return [
    `${scope.namespaceLabel}=${promString(scope.namespace)}`,
    `${scope.podLabel}=~${promString(scope.pods.map(escapeRegex).join("|"))}`,
  ];
}

const sel = (scope: GateScope, extra: string[] = []) => `{${[...scopeMatchers(scope), ...extra].join(",")}}`;

export const SERVER_ERRORS = `grpc_code=~"${SERVER_ERROR_CODES.join("|")}"`;

/** Counter sums read at t0 and t1; the gate uses their difference. */
export function counterQueries(scope: GateScope): Record<"requests" | "serverErrors" | "fetchFailures" | "configRejections" | "denyFallback", string> {
  const ecds = scope.objects.map((o) => `envoy_extension_config_discovery_http_filter_extensions_istio_io_${o.kind === "WasmPlugin" ? "wasmplugin" : "trafficextension"}_${sanitize(o.namespace)}_${sanitize(o.name)}_config_fail`);
  return {
    requests: `sum(grpc_server_handled_total${sel(scope)})`,
    serverErrors: `sum(grpc_server_handled_total${sel(scope, [SERVER_ERRORS])})`,
    fetchFailures: `sum(istio_agent_wasm_remote_fetch_count${sel(scope, ['result!="success"'])})`,
    configRejections: `sum(${sel(scope, [`__name__=~${promString(ecds.map(escapeRegex).join("|") || "^$")}`])})`,
    denyFallback: `sum(${sel(scope, ['__name__=~"envoy_http_.*rbac.*wasm_default_denydenied"'])})`,
  };
}

/** p99 latency (ms) of the RPCs finished in the last `windowSeconds` before the evaluation time. */
export function latencyP99Query(scope: GateScope, windowSeconds: number): string {
  const bucket = `grpc_server_handling_milliseconds_bucket${sel(scope)}`;
  const w = Math.max(1, Math.round(windowSeconds));
  return `histogram_quantile(0.99, sum by (le) (${bucket}) - (sum by (le) (${bucket} offset ${w}s) or sum by (le) (${bucket}) * 0))`;
}
