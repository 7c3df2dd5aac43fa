/**
 * Envoy's per-cluster statistics (config/upstream/cluster_manager/cluster_stats), defined
 * lazily on the shared StatsStore under `cluster.<name>.`. Names follow Envoy exactly:
 * upstream_rq_total, upstream_rq_<code>, upstream_rq_<N>xx, upstream_rq_time (ms histogram),
 * upstream_cx_*, membership_*, health_check.*, outlier_detection.*, update_*.
 */
import type { Counter, Gauge, Histogram, StatsStore } from "../../stats/types.ts";

export class ClusterStats {
  readonly prefix: string;
  constructor(
    private readonly store: StatsStore,
    clusterName: string,
  ) {
    this.prefix = `cluster.${clusterName}.`;
  }
  counter(name: string): Counter {
    return this.store.counter(this.prefix + name);
  }
  gauge(name: string): Gauge {
    return this.store.gauge(this.prefix + name);
  }
  histogram(name: string): Histogram {
    return this.store.histogram(this.prefix + name);
  }
  inc(name: string): void {
    this.counter(name).inc();
  }

  /** Envoy's chargeResponseStat: upstream_rq_<code>, upstream_rq_<N>xx, upstream_rq_completed. */
  chargeResponseCode(code: number): void {
    this.inc(`upstream_rq_${code}`);
    this.inc(`upstream_rq_${Math.floor(code / 100)}xx`);
    this.inc("upstream_rq_completed");
  }

  /** Defines the stats Envoy always creates for a cluster, so /stats lists them at zero. */
  defineDefaults(): void {
    for (const c of [
      "upstream_cx_total",
      "upstream_cx_connect_fail",
      "upstream_cx_connect_timeout",
      "upstream_cx_destroy",
      "upstream_cx_overflow",
      "upstream_cx_none_healthy",
      "upstream_rq_total",
      "upstream_rq_completed",
      "upstream_rq_timeout",
      "upstream_rq_per_try_timeout",
      "upstream_rq_retry",
      "upstream_rq_retry_success",
      "upstream_rq_retry_overflow",
      "upstream_rq_retry_limit_exceeded",
      "upstream_rq_pending_total",
      "upstream_rq_pending_overflow",
      "upstream_rq_cancelled",
      "upstream_rq_rx_reset",
      "upstream_rq_tx_reset",
      "lb_healthy_panic",
      "membership_change",
      "retry_or_shadow_abandoned",
    ])
      this.counter(c);
    for (const g of [
      "upstream_cx_active",
      "upstream_rq_active",
      "upstream_rq_pending_active",
      "membership_total",
      "membership_healthy",
      "membership_degraded",
      "membership_excluded",
    ])
      this.gauge(g);
  }
}
