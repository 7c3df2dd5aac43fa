/**
 * The PromQL of the dashboard's Balancer row, as pure strings over the dashboard's variables.
 *
 * Metrics are the grpc-balancer filter's (filters/grpc-balancer/README.md "Metrics"), in their
 * Prometheus form after the sidecar's `stats_tags` (Istio `extraStatTags: cluster, endpoint,
 * decision`): `grpc_balancer_picks_total{cluster,endpoint}`, `grpc_balancer_penalties_total
 * {cluster,endpoint}`, `grpc_balancer_rpcs_total{decision}` (directed | explored | pinned |
 * passthrough), and the gauges `grpc_balancer_endpoint_cost{cluster,endpoint}` (millionths of an
 * idle endpoint at the class median) and `grpc_balancer_endpoint_in_flight{cluster,endpoint}`.
 * `cluster` is the Envoy cluster the RPC was routed to and `endpoint` the pod's "ip:port"; the
 * filter writes every character of a label value outside [A-Za-z0-9_.-/] as '_', so Istio's
 * `outbound|9000||inventory.shop.svc.cluster.local` reads `outbound_9000__inventory.shop...`
 * and an endpoint `10.1.2.3_9000`.
 *
 * The balancer runs on the CALLING workload, so the row filters by the scrape's `namespace` and
 * `app` labels (SCRAPE_LABELS) only: its series carry no gRPC service or method. Each calling pod
 * balances on its own view; sums add the pods' counters up, and the cost is averaged over them.
 */
import { SCRAPE_LABELS } from "./grpc-queries.ts";

export const BALANCER_METRICS = {
  picks: "grpc_balancer_picks_total",
  penalties: "grpc_balancer_penalties_total",
  rpcs: "grpc_balancer_rpcs_total",
  cost: "grpc_balancer_endpoint_cost",
  inFlight: "grpc_balancer_endpoint_in_flight",
} as const;

/** The gauge's unit: 1,000,000 is an idle endpoint at the class median. */
export const COST_SCALE = 1_000_000;

/** `{namespace=~"$namespace",app=~"$workload",...extra}`. */
export function balancerSelector(extra: string[] = []): string {
  return `{${[`${SCRAPE_LABELS.namespace}=~"$namespace"`, `${SCRAPE_LABELS.workload}=~"$workload"`, ...extra].join(",")}}`;
}

const rate = (metric: string, extra: string[] = []) => `rate(${metric}${balancerSelector(extra)}[$__rate_interval])`;

export const BALANCER_QUERIES = {
  /** RPCs per second the filter directed to each endpoint. */
  picksByEndpoint: `sum by (cluster, endpoint) (${rate(BALANCER_METRICS.picks)})`,
  /** Relative cost of one more RPC per endpoint (1 = idle, typical), averaged over calling pods. */
  costByEndpoint: `avg by (cluster, endpoint) (${BALANCER_METRICS.cost}${balancerSelector()}) / ${COST_SCALE}`,
  /** RPCs per second by decision: directed, explored (left to Envoy), pinned, passthrough. */
  rpcsByDecision: `sum by (decision) (${rate(BALANCER_METRICS.rpcs)})`,
  /** Share of balanced RPCs the filter directed (the rest explored, pinned or passed through). */
  directedShare: `sum(${rate(BALANCER_METRICS.rpcs, ['decision="directed"'])}) / sum(${rate(BALANCER_METRICS.rpcs)})`,
  /** Failures recorded as a penalty per second, per endpoint. */
  penaltiesByEndpoint: `sum by (cluster, endpoint) (${rate(BALANCER_METRICS.penalties)})`,
  /** RPCs in flight per endpoint as the balancer counts them, summed over calling pods. */
  inFlightByEndpoint: `sum by (cluster, endpoint) (${BALANCER_METRICS.inFlight}${balancerSelector()})`,
};
