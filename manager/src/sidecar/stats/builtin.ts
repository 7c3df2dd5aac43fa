/**
 * Envoy's built-in stats, named exactly as Envoy names them, for the data plane to charge.
 * Like Envoy, every fixed stat is created up front (so /stats shows it at 0); per-code stats
 * are created on first use.
 * - http.<stat_prefix>.*: connection manager stats (docs: http_conn_man/stats) plus the
 *   router's `no_route`, `no_cluster`, `rq_direct_response`, `rq_redirect`, `rq_total`;
 * - cluster.<name>.*: cluster manager stats (docs: cluster_manager/cluster_stats), including
 *   health_check.*, outlier_detection.*, circuit_breakers.default.*;
 * - listener.<address>.*: listener stats (docs: listeners/stats); the address is Envoy's
 *   `127.0.0.1_10000` / `[__1]_10000` form.
 * Response codes are charged like Envoy's CodeStatsImpl::chargeResponseStat:
 * `<prefix>upstream_rq_<code>`, `upstream_rq_<N>xx`, `upstream_rq_completed`, and the same
 * under `external.` (or `internal.` for x-envoy-internal requests).
 */
import type { Counter, Gauge, Histogram, StatsStore } from "./types.ts";

function counters<K extends string>(store: StatsStore, prefix: string, names: readonly K[]): Record<K, Counter> {
  const out = {} as Record<K, Counter>;
  for (const n of names) out[n] = store.counter(prefix + n);
  return out;
}

function gauges<K extends string>(store: StatsStore, prefix: string, names: readonly K[]): Record<K, Gauge> {
  const out = {} as Record<K, Gauge>;
  for (const n of names) out[n] = store.gauge(prefix + n);
  return out;
}

function histograms<K extends string>(store: StatsStore, prefix: string, names: readonly K[]): Record<K, Histogram> {
  const out = {} as Record<K, Histogram>;
  for (const n of names) out[n] = store.histogram(prefix + n);
  return out;
}

/** Envoy's listener stat address: "127.0.0.1:10000" -> "127.0.0.1_10000", "[::1]:80" -> "[__1]_80". */
export function listenerStatAddress(address: string, port: number): string {
  const host = address.includes(":") ? `[${address}]` : address;
  return `${host}:${port}`.replaceAll(":", "_");
}

const HTTP_COUNTERS = [
  "downstream_cx_total", "downstream_cx_http1_total", "downstream_cx_http2_total",
  "downstream_cx_destroy", "downstream_cx_destroy_remote", "downstream_cx_destroy_local",
  "downstream_cx_destroy_active_rq", "downstream_cx_protocol_error", "downstream_cx_rx_bytes_total",
  "downstream_cx_tx_bytes_total", "downstream_cx_idle_timeout", "downstream_cx_max_duration_reached",
  "downstream_rq_total", "downstream_rq_http1_total", "downstream_rq_http2_total",
  "downstream_rq_1xx", "downstream_rq_2xx", "downstream_rq_3xx", "downstream_rq_4xx", "downstream_rq_5xx",
  "downstream_rq_completed", "downstream_rq_rx_reset", "downstream_rq_tx_reset", "downstream_rq_timeout",
  "downstream_rq_idle_timeout", "downstream_rq_too_large", "downstream_rq_header_timeout",
  "downstream_rq_max_duration_reached", "downstream_rq_non_relative_path", "downstream_rq_response_before_rq_complete",
  "rs_too_large", "no_route", "no_cluster", "rq_direct_response", "rq_redirect", "rq_total",
] as const;
const HTTP_GAUGES = [
  "downstream_cx_active", "downstream_cx_http1_active", "downstream_cx_http2_active",
  "downstream_cx_rx_bytes_buffered", "downstream_cx_tx_bytes_buffered", "downstream_rq_active",
] as const;
const HTTP_HISTOGRAMS = ["downstream_cx_length_ms", "downstream_rq_time"] as const;

export type HttpStats = Record<(typeof HTTP_COUNTERS)[number], Counter> &
  Record<(typeof HTTP_GAUGES)[number], Gauge> &
  Record<(typeof HTTP_HISTOGRAMS)[number], Histogram> & {
    /** Charges `downstream_rq_<N>xx` and `downstream_rq_completed` (Envoy's HCM). */
    chargeResponse(code: number): void;
  };

/** Connection manager (and router) stats under `http.<statPrefix>.`. */
export function httpStats(store: StatsStore, statPrefix: string): HttpStats {
  const p = `http.${statPrefix}.`;
  const s = {
    ...counters(store, p, HTTP_COUNTERS),
    ...gauges(store, p, HTTP_GAUGES),
    ...histograms(store, p, HTTP_HISTOGRAMS),
  };
  const classes = [s.downstream_rq_1xx, s.downstream_rq_2xx, s.downstream_rq_3xx, s.downstream_rq_4xx, s.downstream_rq_5xx];
  return {
    ...s,
    chargeResponse(code: number): void {
      classes[Math.floor(code / 100) - 1]?.inc();
      s.downstream_rq_completed.inc();
    },
  };
}

/** Per-listener copy of the HCM response stats: `listener.<address>.http.<statPrefix>.`. */
export function listenerHttpStats(store: StatsStore, listenerAddress: string, statPrefix: string) {
  const p = `listener.${listenerAddress}.http.${statPrefix}.`;
  const s = counters(store, p, [
    "downstream_rq_1xx", "downstream_rq_2xx", "downstream_rq_3xx", "downstream_rq_4xx", "downstream_rq_5xx",
    "downstream_rq_completed",
  ] as const);
  const classes = [s.downstream_rq_1xx, s.downstream_rq_2xx, s.downstream_rq_3xx, s.downstream_rq_4xx, s.downstream_rq_5xx];
  return {
    ...s,
    chargeResponse(code: number): void {
      classes[Math.floor(code / 100) - 1]?.inc();
      s.downstream_rq_completed.inc();
    },
  };
}

const LISTENER_COUNTERS = [
  "downstream_cx_total", "downstream_cx_destroy", "downstream_cx_overflow", "downstream_cx_overload_reject",
  "no_filter_chain_match", "downstream_listener_filter_error",
] as const;
const LISTENER_GAUGES = ["downstream_cx_active", "downstream_pre_cx_active"] as const;

export type ListenerStats = Record<(typeof LISTENER_COUNTERS)[number], Counter> &
  Record<(typeof LISTENER_GAUGES)[number], Gauge> & { downstream_cx_length_ms: Histogram };

/** Listener stats under `listener.<address>.` (see listenerStatAddress). */
export function listenerStats(store: StatsStore, listenerAddress: string): ListenerStats {
  const p = `listener.${listenerAddress}.`;
  return {
    ...counters(store, p, LISTENER_COUNTERS),
    ...gauges(store, p, LISTENER_GAUGES),
    ...histograms(store, p, ["downstream_cx_length_ms"] as const),
  };
}

const CLUSTER_COUNTERS = [
  "upstream_cx_total", "upstream_cx_http1_total", "upstream_cx_http2_total", "upstream_cx_connect_fail",
  "upstream_cx_connect_timeout", "upstream_cx_connect_attempts_exceeded", "upstream_cx_overflow",
  "upstream_cx_destroy", "upstream_cx_destroy_local", "upstream_cx_destroy_remote",
  "upstream_cx_destroy_with_active_rq", "upstream_cx_close_notify", "upstream_cx_protocol_error",
  "upstream_cx_max_requests", "upstream_cx_none_healthy", "upstream_cx_idle_timeout",
  "upstream_cx_rx_bytes_total", "upstream_cx_tx_bytes_total", "upstream_cx_pool_overflow",
  "upstream_rq_total", "upstream_rq_completed", "upstream_rq_pending_total", "upstream_rq_pending_overflow",
  "upstream_rq_pending_failure_eject", "upstream_rq_cancelled", "upstream_rq_maintenance_mode",
  "upstream_rq_timeout", "upstream_rq_max_duration_reached", "upstream_rq_per_try_timeout",
  "upstream_rq_rx_reset", "upstream_rq_tx_reset", "upstream_rq_retry", "upstream_rq_retry_success",
  "upstream_rq_retry_overflow", "upstream_rq_retry_limit_exceeded", "upstream_rq_retry_backoff_exponential",
  "upstream_rq_retry_backoff_ratelimited", "membership_change", "lb_healthy_panic", "lb_zone_no_capacity_left",
  "update_attempt", "update_success", "update_failure", "update_empty", "update_no_rebuild",
  "health_check.attempt", "health_check.success", "health_check.failure", "health_check.network_failure",
  "health_check.passive_failure", "health_check.verify_cluster",
  "outlier_detection.ejections_total", "outlier_detection.ejections_overflow",
  "outlier_detection.ejections_enforced_total", "outlier_detection.ejections_consecutive_5xx",
  "outlier_detection.ejections_detected_consecutive_5xx", "outlier_detection.ejections_enforced_consecutive_5xx",
  "outlier_detection.ejections_detected_consecutive_gateway_failure",
  "outlier_detection.ejections_enforced_consecutive_gateway_failure",
  "outlier_detection.ejections_detected_consecutive_local_origin_failure",
  "outlier_detection.ejections_enforced_consecutive_local_origin_failure",
  "outlier_detection.ejections_detected_success_rate", "outlier_detection.ejections_enforced_success_rate",
  "outlier_detection.ejections_detected_failure_percentage",
  "outlier_detection.ejections_enforced_failure_percentage",
] as const;
const CLUSTER_GAUGES = [
  "upstream_cx_active", "upstream_cx_rx_bytes_buffered", "upstream_cx_tx_bytes_buffered",
  "upstream_rq_active", "upstream_rq_pending_active", "membership_total", "membership_healthy",
  "membership_degraded", "membership_excluded", "max_host_weight", "version",
  "health_check.healthy", "health_check.degraded", "outlier_detection.ejections_active",
  "circuit_breakers.default.cx_open", "circuit_breakers.default.cx_pool_open",
  "circuit_breakers.default.rq_pending_open", "circuit_breakers.default.rq_open",
  "circuit_breakers.default.rq_retry_open",
] as const;
const CLUSTER_HISTOGRAMS = ["upstream_cx_connect_ms", "upstream_cx_length_ms", "upstream_rq_time"] as const;

export type ClusterStats = Record<(typeof CLUSTER_COUNTERS)[number], Counter> &
  Record<(typeof CLUSTER_GAUGES)[number], Gauge> &
  Record<(typeof CLUSTER_HISTOGRAMS)[number], Histogram> & {
    /**
     * CodeStatsImpl::chargeResponseStat: `upstream_rq_<code>`, `upstream_rq_<N>xx`,
     * `upstream_rq_completed`, each also under `internal.` or `external.`.
     */
    chargeResponse(code: number, internalRequest?: boolean): void;
    /** CodeStatsImpl::chargeResponseTiming: `upstream_rq_time` and its `internal.`/`external.` twin. */
    chargeResponseTime(ms: number, internalRequest?: boolean): void;
  };

/** Cluster stats under `cluster.<clusterName>.`. */
export function clusterStats(store: StatsStore, clusterName: string): ClusterStats {
  const p = `cluster.${clusterName}.`;
  const s = {
    ...counters(store, p, CLUSTER_COUNTERS),
    ...gauges(store, p, CLUSTER_GAUGES),
    ...histograms(store, p, CLUSTER_HISTOGRAMS),
  };
  const charge = (prefix: string, code: number): void => {
    store.counter(`${prefix}upstream_rq_completed`).inc();
    store.counter(`${prefix}upstream_rq_${Math.floor(code / 100)}xx`).inc();
    store.counter(`${prefix}upstream_rq_${code}`).inc();
  };
  return {
    ...s,
    chargeResponse(code: number, internalRequest = false): void {
      charge(p, code);
      charge(`${p}${internalRequest ? "internal" : "external"}.`, code);
    },
    chargeResponseTime(ms: number, internalRequest = false): void {
      s.upstream_rq_time.record(ms);
      store.histogram(`${p}${internalRequest ? "internal" : "external"}.upstream_rq_time`).record(ms);
    },
  };
}
