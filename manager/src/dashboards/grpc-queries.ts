/**
 * The PromQL behind the gRPC dashboard, as pure functions of the dashboard's variables.
 *
 * Metrics are the grpc-ecosystem (go-grpc-prometheus) schema the grpc-metrics filter exports
 * (filters/grpc-metrics/README.md), in their Prometheus form after the sidecar's `stats_tags`:
 * `grpc_server_started_total`, `grpc_server_handled_total`,
 * `grpc_server_handling_milliseconds_{bucket,sum,count}` (Envoy histograms hold integers, so the
 * filter records whole milliseconds; the latency queries divide by 1000 for seconds),
 * `grpc_server_msg_{received,sent}_total`, the gauge `grpc_server_in_flight`, with labels
 * `grpc_type`, `grpc_service`, `grpc_method` and `grpc_code` (code names as grpc-go prints them:
 * `OK`, `PermissionDenied`, ...).
 *
 * Target labels are the ones Prometheus adds when it scrapes Istio sidecars with the usual
 * `kubernetes-pods` job (Istio's Prometheus addon): `namespace` and `pod` from the pod's
 * metadata, and the pod's labels through `labelmap`, so `app` is the workload (Istio asks every
 * workload for an `app` label). `SCRAPE_LABELS` names them in one place.
 *
 * Server-side error classes follow the OpenTelemetry RPC conventions (semantic-conventions
 * docs/rpc/grpc.md): UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE and
 * DATA_LOSS are server errors; a denial (PERMISSION_DENIED, UNAUTHENTICATED) or a bad request
 * is not. The selector is positive (`=~`), because a negative matcher would also match series
 * without the label (the reason Kiali's selectors are positive too).
 */

/** Labels Prometheus's scrape configuration adds to every sidecar series. */
export const SCRAPE_LABELS = { namespace: "namespace", workload: "app" } as const;

/** Server-side error codes (OpenTelemetry), as grpc-go names them. */
export const SERVER_ERROR_CODES = ["Unknown", "DeadlineExceeded", "Unimplemented", "Internal", "Unavailable", "DataLoss"] as const;

export const METRICS = {
  started: "grpc_server_started_total",
  handled: "grpc_server_handled_total",
  handlingBucket: "grpc_server_handling_milliseconds_bucket",
  msgReceived: "grpc_server_msg_received_total",
  msgSent: "grpc_server_msg_sent_total",
  inFlight: "grpc_server_in_flight",
} as const;

/** The series selector every panel shares: `{namespace=~"$namespace",app=~"$workload",...}`. */
export function selector(extra: string[] = []): string {
  return `{${[
    `${SCRAPE_LABELS.namespace}=~"$namespace"`,
    `${SCRAPE_LABELS.workload}=~"$workload"`,
    'grpc_service=~"$service"',
    'grpc_method=~"$method"',
    ...extra,
  ].join(",")}}`;
}

const serverErrors = `grpc_code=~"${SERVER_ERROR_CODES.join("|")}"`;
const rate = (metric: string, extra: string[] = [], range = "$__rate_interval") => `rate(${metric}${selector(extra)}[${range}])`;

export const QUERIES = {
  requestRate: `sum by (grpc_service, grpc_method) (${rate(METRICS.handled)})`,
  startedRate: `sum(${rate(METRICS.started)})`,
  ratesByCode: `sum by (grpc_code) (${rate(METRICS.handled)})`,
  errorRatio: `sum(${rate(METRICS.handled, [serverErrors])}) / sum(${rate(METRICS.handled)})`,
  errorRatioByMethod: `sum by (grpc_service, grpc_method) (${rate(METRICS.handled, [serverErrors])}) / sum by (grpc_service, grpc_method) (${rate(METRICS.handled)})`,
  /** Seconds: the histogram is in milliseconds. */
  latency: (q: number) => `histogram_quantile(${q}, sum by (le) (${rate(METRICS.handlingBucket)})) / 1000`,
  msgReceived: `sum(${rate(METRICS.msgReceived)})`,
  msgSent: `sum(${rate(METRICS.msgSent)})`,
  inFlight: `sum by (grpc_service, grpc_method) (${METRICS.inFlight}${selector()})`,
  topByRate: `topk(10, sum by (grpc_service, grpc_method) (${rate(METRICS.handled, [], "$__range")}))`,
  topByErrors: `topk(10, sum by (grpc_service, grpc_method, grpc_code) (increase(${METRICS.handled}${selector([serverErrors])}[$__range])))`,
};

/**
 * The families a workload running any meshwasm filter exports: grpc-metrics' server and client
 * sides, grpc-balancer (on callers) and grpc-auth, so a pure caller is listed too.
 */
const WORKLOAD_FAMILIES = `__name__=~"grpc_server_started_total|grpc_client_started_total|grpc_balancer_picks_total|grpc_auth_decisions_total"`;
/** The families that carry grpc_service and grpc_method for both sides of an RPC. */
const METHOD_FAMILIES = `__name__=~"grpc_server_started_total|grpc_client_started_total"`;

/** Variable queries: each narrows by the variables before it. */
export const VARIABLE_QUERIES = {
  namespace: `label_values({${WORKLOAD_FAMILIES}}, ${SCRAPE_LABELS.namespace})`,
  workload: `label_values({${WORKLOAD_FAMILIES},${SCRAPE_LABELS.namespace}=~"$namespace"}, ${SCRAPE_LABELS.workload})`,
  service: `label_values({${METHOD_FAMILIES},${SCRAPE_LABELS.namespace}=~"$namespace",${SCRAPE_LABELS.workload}=~"$workload"}, grpc_service)`,
  method: `label_values({${METHOD_FAMILIES},${SCRAPE_LABELS.namespace}=~"$namespace",${SCRAPE_LABELS.workload}=~"$workload",grpc_service=~"$service"}, grpc_method)`,
};
