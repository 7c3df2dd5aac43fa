/**
 * The stats store contract shared by the proxy-wasm host (wasmcustom metrics), the data
 * plane (built-in Envoy stats) and the admin endpoints. Modelled on Envoy's Stats::Scope.
 *
 * Names are Envoy's full dotted stat names (e.g. "cluster.backend.upstream_rq_total",
 * "wasmcustom.grpc_requests_total"). Tag extraction (stats_config.stats_tags and Envoy's
 * default tag regexes) happens at render time in the admin layer, so the store keeps the
 * full names. Definition is idempotent: asking twice for the same name returns the same stat.
 */

export interface Counter {
  readonly name: string;
  /** Adds `delta` (>= 0). */
  add(delta: number | bigint): void;
  inc(): void;
  value(): bigint;
  /**
   * Optional: registers writes held elsewhere, which `fold` adds with `add`; the stat runs it
   * before every read. Returns the function that unregisters it.
   */
  deferWrites?(fold: () => void): () => void;
}

export interface Gauge {
  readonly name: string;
  set(value: number | bigint): void;
  add(delta: number | bigint): void;
  sub(delta: number | bigint): void;
  value(): bigint;
  /** Optional: as Counter.deferWrites (folded before every read and before `set`). */
  deferWrites?(fold: () => void): () => void;
}

export interface Histogram {
  readonly name: string;
  /** Records one sample (the unit is the stat's: ms for Envoy's *_time, raw for wasmcustom). */
  record(value: number | bigint): void;
  /** Snapshot of every sample's cumulative count per bucket upper bound. */
  snapshot(): HistogramSnapshot;
}

export interface HistogramSnapshot {
  /** Bucket upper bounds: histogram_bucket_settings' first match, else Envoy's default 0.5,1,5,10,25,50,100,250,500,1000,2500,5000,10000,30000,60000,300000,600000,1800000,3600000. */
  bounds: number[];
  /** Cumulative counts, one per bound. */
  cumulative: number[];
  count: number;
  sum: number;
}

export interface StatsStore {
  counter(name: string): Counter;
  gauge(name: string): Gauge;
  histogram(name: string): Histogram;
  /** Every stat currently defined, for rendering. */
  counters(): Counter[];
  gauges(): Gauge[];
  histograms(): Histogram[];
  /** Finds an existing stat without creating it. */
  find(name: string): Counter | Gauge | Histogram | undefined;
}
