/**
 * Envoy's per-cluster statistics (config/upstream/cluster_manager/cluster_stats), defined
 * on the shared StatsStore (fixed ones up front through stats/builtin.ts) under `cluster.<name>.`. Names follow Envoy exactly:
 * upstream_rq_total, upstream_rq_<code>, upstream_rq_<N>xx, upstream_rq_time (ms histogram),
 * upstream_cx_*, membership_*, health_check.*, outlier_detection.*, update_*.
 */
import { clusterStats, type ClusterStats as BuiltinClusterStats } from "../../stats/builtin.ts";
import type { Counter, Gauge, Histogram, StatsStore } from "../../stats/types.ts";

export class ClusterStats {
  readonly prefix: string;
  private builtin: BuiltinClusterStats;
  constructor(
    private readonly store: StatsStore,
    private readonly name: string,
  ) {
    this.prefix = `cluster.${name}.`;
    this.builtin = clusterStats(store, name);
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

  /** Envoy's chargeResponseStat (stats/builtin.ts): upstream_rq_<code>, _<N>xx, _completed, also under external. */
  chargeResponseCode(code: number): void {
    this.builtin.chargeResponse(code);
  }

  /**
   * A response the router retried instead of forwarding, as Envoy's router charges it
   * (CodeStatsImpl::chargeBasicResponseStat with the `retry` prefix):
   * retry.upstream_rq_completed, retry.upstream_rq_<N>xx, retry.upstream_rq_<code>. The
   * plain upstream_rq_<code> counters only see responses that went downstream.
   */
  chargeRetriedResponseCode(code: number): void {
    this.inc("retry.upstream_rq_completed");
    if (code >= 100 && code < 600) this.inc(`retry.upstream_rq_${Math.floor(code / 100)}xx`);
    this.inc(`retry.upstream_rq_${code}`);
  }

  /** Envoy's chargeResponseTiming: upstream_rq_time and external.upstream_rq_time (ms). */
  chargeResponseTime(ms: number): void {
    this.builtin.chargeResponseTime(ms);
  }

  /** Defines the stats Envoy always creates for a cluster, so /stats lists them at zero. */
  defineDefaults(): void {
    this.builtin = clusterStats(this.store, this.name);
  }
}
