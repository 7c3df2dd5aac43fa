/**
 * MemoryStatsStore: the in-process StatsStore (stats/types.ts), modelled on Envoy's
 * ThreadLocalStoreImpl as seen from the admin endpoints.
 *
 * - Counters and gauges are exact integers of any size (exact-integer.ts: a number while
 *   within 2^53 - 1, so an update allocates no BigInt; `value()` is a bigint); defining a
 *   name twice returns the same stat. Counters, gauges and histograms are separate
 *   namespaces, as in Envoy.
 * - Every stat carries Envoy's `used` flag: set by the first write (even `set(0)` or
 *   `add(0)`), read by `?usedonly`.
 * - Histograms keep Envoy's log-linear bins (log-linear-histogram.ts). `snapshot()` reports
 *   the histogram's bucket bounds (`stats_config.histogram_bucket_settings` through the store's
 *   `histogramBuckets`, chosen when the histogram is created; Envoy's defaults otherwise) with
 *   the counts, count and sum Envoy itself would print (approximations from the bins, see
 *   that module). Cumulative values are updated on every
 *   record (Envoy: at each stats flush); `mergeHistograms()` closes the current interval,
 *   which is what the `interval` half of the `/stats` quantile pairs shows (Envoy: the last
 *   flush interval; `nan` until the first merge).
 * - Recording is O(1) amortised: one map lookup per sample (each bin holds its cumulative and
 *   current-interval counts).
 * - A counter or gauge may hold writes made elsewhere (`deferWrites`: the proxy-wasm host's Wasm
 *   metric adapter sums updates in its own memory); they are folded in before every read
 *   (`value()`, `used()`) and before a gauge `set`, so readers never see a stale value.
 */
import type { Counter, Gauge, Histogram, HistogramSnapshot, StatsStore } from "./types.ts";
import type { BucketsFor } from "./histogram-settings.ts";
import { ExactInteger } from "./exact-integer.ts";
import {
  DEFAULT_BUCKETS,
  approxCountsBelow,
  approxSum,
  binLeft,
  sampleCount,
  toSample,
  type Bins,
} from "./log-linear-histogram.ts";

/**
 * The fold functions of writes held elsewhere (the proxy-wasm host's Wasm metric adapter sums
 * updates in its own memory); every read runs them first, so no read sees a stale value.
 */
class DeferredFolds {
  #folds: Array<() => void> = [];
  add(fold: () => void): () => void {
    if (!this.#folds.includes(fold)) this.#folds.push(fold);
    return () => {
      this.#folds = this.#folds.filter((f) => f !== fold);
    };
  }
  run(): void {
    for (const f of this.#folds) f();
  }
}

/**
 * An exact integer with Envoy's `used` flag and writes that may be held elsewhere
 * (`deferWrites`): the part counters and gauges share.
 */
abstract class UsedExactInteger extends ExactInteger {
  /** Envoy's `used` flag: set by the first write. */
  protected written = false;
  protected deferred: DeferredFolds | undefined = undefined;
  constructor(readonly name: string) {
    super();
  }
  /** Registers writes held elsewhere: `fold` applies them (with `add`); it runs before every read. */
  deferWrites(fold: () => void): () => void {
    return (this.deferred ??= new DeferredFolds()).add(fold);
  }
  override value(): bigint {
    this.deferred?.run();
    return super.value();
  }
  used(): boolean {
    this.deferred?.run();
    return this.written;
  }
}

export class MemoryCounter extends UsedExactInteger implements Counter {
  add(delta: number | bigint): void {
    this.addExact(delta);
    this.written = true;
  }
  inc(): void {
    this.addExact(1);
    this.written = true;
  }
}

export class MemoryGauge extends UsedExactInteger implements Gauge {
  set(value: number | bigint): void {
    this.deferred?.run(); // deltas made before the set are overwritten by it
    this.setExact(value);
    this.written = true;
  }
  add(delta: number | bigint): void {
    this.addExact(delta);
    this.written = true;
  }
  sub(delta: number | bigint): void {
    this.subExact(delta);
    this.written = true;
  }
}

/** One bin's sample counts: since the histogram was created, and since the last merge. */
class BinCount {
  cumulative = 1;
  pending = 1;
}

export class MemoryHistogram implements Histogram {
  // One map entry per bin holding both counts: a sample costs one lookup and two increments.
  #bins = new Map<number, BinCount>();
  #interval: Bins = new Map();
  constructor(
    readonly name: string,
    /** Bucket upper bounds, ascending. */
    readonly bounds: readonly number[] = DEFAULT_BUCKETS,
  ) {}

  record(value: number | bigint): void {
    const left = binLeft(toSample(value));
    const bin = this.#bins.get(left);
    if (bin === undefined) {
      this.#bins.set(left, new BinCount());
    } else {
      bin.cumulative++;
      bin.pending++;
    }
  }

  snapshot(): HistogramSnapshot {
    const cumulative = this.cumulativeBins();
    return {
      bounds: [...this.bounds],
      cumulative: approxCountsBelow(cumulative, this.bounds),
      count: sampleCount(cumulative),
      sum: approxSum(cumulative),
    };
  }

  /** Envoy's used(): at least one sample recorded. */
  used(): boolean {
    return this.#bins.size > 0;
  }

  /** A copy of the cumulative bins (left edge -> count). */
  cumulativeBins(): Bins {
    const out: Bins = new Map();
    for (const [left, bin] of this.#bins) out.set(left, bin.cumulative);
    return out;
  }

  /** A copy of the bins of the last closed interval. */
  intervalBins(): Bins {
    return new Map(this.#interval);
  }

  /** Closes the current interval (Envoy: ParentHistogramImpl::merge at each flush). */
  merge(): void {
    const interval: Bins = new Map();
    for (const [left, bin] of this.#bins) {
      if (bin.pending === 0) continue;
      interval.set(left, bin.pending);
      bin.pending = 0;
    }
    this.#interval = interval;
  }
}

export class MemoryStatsStore implements StatsStore {
  // Envoy keeps counters, gauges and histograms in separate maps: one name may exist as
  // several kinds (e.g. a Wasm filter defining "x" as both a counter and a gauge).
  readonly #counters = new Map<string, MemoryCounter>();
  readonly #gauges = new Map<string, MemoryGauge>();
  readonly #histograms = new Map<string, MemoryHistogram>();
  readonly #bucketsFor: BucketsFor;

  /** `histogramBuckets` picks each new histogram's bounds (default: Envoy's default buckets). */
  constructor(opts: { histogramBuckets?: BucketsFor } = {}) {
    this.#bucketsFor = opts.histogramBuckets ?? (() => DEFAULT_BUCKETS);
  }

  counter(name: string): MemoryCounter {
    let c = this.#counters.get(name);
    if (!c) this.#counters.set(name, (c = new MemoryCounter(name)));
    return c;
  }

  gauge(name: string): MemoryGauge {
    let g = this.#gauges.get(name);
    if (!g) this.#gauges.set(name, (g = new MemoryGauge(name)));
    return g;
  }

  histogram(name: string): MemoryHistogram {
    let h = this.#histograms.get(name);
    if (!h) this.#histograms.set(name, (h = new MemoryHistogram(name, this.#bucketsFor(name))));
    return h;
  }

  counters(): MemoryCounter[] {
    return [...this.#counters.values()];
  }

  gauges(): MemoryGauge[] {
    return [...this.#gauges.values()];
  }

  histograms(): MemoryHistogram[] {
    return [...this.#histograms.values()];
  }

  /** Looks in counters, then gauges, then histograms. */
  find(name: string): Counter | Gauge | Histogram | undefined {
    return this.#counters.get(name) ?? this.#gauges.get(name) ?? this.#histograms.get(name);
  }

  /** Closes the current histogram interval of every histogram (Envoy's periodic flush). */
  mergeHistograms(): void {
    for (const h of this.#histograms.values()) h.merge();
  }
}
