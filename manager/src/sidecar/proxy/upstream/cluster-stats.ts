/**
 * Envoy's per-cluster statistics (config/upstream/cluster_manager/cluster_stats), defined
 * on the shared StatsStore (fixed ones up front through stats/builtin.ts) under `cluster.<name>.`. Names follow Envoy exactly:
 * upstream_rq_total, upstream_rq_<code>, upstream_rq_<N>xx, upstream_rq_time (ms histogram),
 * upstream_cx_*, membership_*, health_check.*, outlier_detection.*, update_*, and the HTTP/2
 * codec's http2.*.
 */
import { clusterStats, type ClusterStats as BuiltinClusterStats } from "../../stats/builtin.ts";
import type { Counter, Gauge, Histogram, StatsStore } from "../../stats/types.ts";
import { h2CodecStats, type H2CodecStats } from "../../http/h2/stats.ts";

export class ClusterStats {
  readonly prefix: string;
  private builtin: BuiltinClusterStats;
  // Stats resolved once by name (the store never drops one), so the hot path neither builds
  // `cluster.<name>.<stat>` strings nor looks them up per request.
  private readonly counters = new Map<string, Counter>();
  private readonly gauges = new Map<string, Gauge>();
  private readonly histograms = new Map<string, Histogram>();
  /** Per response code: the counters chargeResponseCode increments. */
  private readonly responseCounters = new Map<number, Counter[]>();
  private responseTimes?: Histogram[];
  private h2?: H2CodecStats;
  constructor(
    private readonly store: StatsStore,
    private readonly name: string,
  ) {
    this.prefix = `cluster.${name}.`;
    this.builtin = clusterStats(store, name);
  }
  /** Envoy's upstream codec stats, cluster.<name>.http2.*, defined with the first HTTP/2 connection. */
  http2(): H2CodecStats {
    return (this.h2 ??= h2CodecStats((n) => this.counter(`http2.${n}`), (n) => this.gauge(`http2.${n}`)));
  }

  counter(name: string): Counter {
    let c = this.counters.get(name);
    if (!c) this.counters.set(name, (c = this.store.counter(this.prefix + name)));
    return c;
  }
  gauge(name: string): Gauge {
    let g = this.gauges.get(name);
    if (!g) this.gauges.set(name, (g = this.store.gauge(this.prefix + name)));
    return g;
  }
  histogram(name: string): Histogram {
    let h = this.histograms.get(name);
    if (!h) this.histograms.set(name, (h = this.store.histogram(this.prefix + name)));
    return h;
  }
  inc(name: string): void {
    this.counter(name).inc();
  }

  /** Envoy's chargeResponseStat (stats/builtin.ts): upstream_rq_<code>, _<N>xx, _completed, also under external. */
  chargeResponseCode(code: number): void {
    const held = this.responseCounters.get(code);
    if (held) {
      for (const c of held) c.inc();
      return;
    }
    this.builtin.chargeResponse(code);
    // The counters builtin.chargeResponse(code) (external request) just charged, held for next time.
    const names = (p: string) => [`${p}upstream_rq_completed`, `${p}upstream_rq_${Math.floor(code / 100)}xx`, `${p}upstream_rq_${code}`];
    this.responseCounters.set(code, [...names(""), ...names("external.")].map((n) => this.counter(n)));
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
    if (this.responseTimes) {
      for (const h of this.responseTimes) h.record(ms);
      return;
    }
    this.builtin.chargeResponseTime(ms);
    // The histograms builtin.chargeResponseTime (external request) records to, held for next time.
    this.responseTimes = [this.histogram("upstream_rq_time"), this.histogram("external.upstream_rq_time")];
  }

  /** Defines the stats Envoy always creates for a cluster, so /stats lists them at zero. */
  defineDefaults(): void {
    this.builtin = clusterStats(this.store, this.name);
  }
}
