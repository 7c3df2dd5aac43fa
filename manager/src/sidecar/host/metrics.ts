/**
 * Per-VM custom metrics (proxy_define_metric / increment / record / get), following Envoy's
 * source/extensions/common/wasm/context.cc (`defineMetric`, `incrementMetric`,
 * `recordMetric`, `getMetric`):
 *
 * - Stats live in the StatsStore as `wasmcustom.<name>` (Envoy's CustomStatNamespace; the
 *   admin layer strips the prefix). No plugin name is added.
 * - Ids are `4n + type` per VM: first counter 4, first gauge 5, first histogram 6; the type
 *   is `id & 3`. Defining the same name twice returns a new id for the same stat.
 * - define: type > 2 -> BadArgument.
 * - increment: counter needs delta > 0 (0 or negative -> BadArgument); gauge adds or
 *   subtracts; histogram (and type 3) -> BadArgument; unknown counter/gauge id -> NotFound.
 * - record (value read as uint64, as Envoy's signature): counter adds, gauge sets, histogram
 *   records; unknown id, including type 3 -> NotFound.
 * - get: counter/gauge value; unknown counter/gauge id -> NotFound; histogram and type 3 ->
 *   BadArgument.
 *
 * With a FastMetricTable (`useFastTable`: the metric adapter's memory, metric-fast-table.ts),
 * every counter and gauge defined afterwards whose stat accepts deferred writes
 * (`deferWrites`) is marked there: the adapter then sums its increments (and counter records)
 * in Wasm, and the stat folds the sums in before every read. Everything else (unknown ids,
 * BadArgument cases, gauge sets, histograms, sums that would overflow) reaches the methods
 * below, whose results are unchanged; additions commute, and a gauge `set` folds first.
 */
import { MetricType, WasmResult } from "./abi.ts";
import type { Counter, Gauge, Histogram, StatsStore } from "../stats/types.ts";
import type { FastMetricTable } from "./metric-fast-table.ts";

/** Envoy's CustomStatNamespace. */
export const CUSTOM_STAT_PREFIX = "wasmcustom.";

const ID_INCREMENT = 4;
const TYPE_MASK = 3;
const TWO_POW_64 = 1n << 64n;

export class MetricsRegistry {
  // By id >>> 2 (ids are 4n + type): an increment is an array index, not a map lookup.
  private readonly counters: Array<Counter | undefined> = [];
  private readonly gauges: Array<Gauge | undefined> = [];
  private readonly histograms: Array<Histogram | undefined> = [];
  private readonly lastId = [MetricType.Counter, MetricType.Gauge, MetricType.Histogram];

  private fast: FastMetricTable | undefined = undefined;
  private closedFastUpdates = 0;
  /** Stats holding this registry's fold, and how to unregister it. */
  private readonly deferring = new Map<Counter | Gauge, () => void>();
  /** Folds the adapter's pending sums into the stats (a no-op unless an update came since). */
  readonly fold = (): void => this.fast?.fold();

  constructor(private readonly stats: StatsStore) {}

  /** The metric adapter's table for ids defined from now on (undefined: every update in JavaScript). */
  useFastTable(table: FastMetricTable | undefined): void {
    this.fast = table;
  }

  /** Opens (running guest code) or closes (start-up, allocator) the adapter's Wasm path. */
  setFastPath(on: boolean): void {
    this.fast?.setEnabled(on);
  }

  /** Updates the adapter answered without calling JavaScript. */
  fastUpdates(): number {
    return this.closedFastUpdates + (this.fast?.fastUpdates() ?? 0);
  }

  /**
   * Folds the pending sums and stops deferring (the VM goes away). Safe at any time: later
   * updates, if any, take the JavaScript path and reach the stats directly.
   */
  close(): void {
    if (!this.fast) return;
    this.closedFastUpdates += this.fast.fastUpdates();
    this.fast.close();
    this.fast = undefined;
    for (const stop of this.deferring.values()) stop();
    this.deferring.clear();
  }

  private deferToTable(id: number, stat: Counter | Gauge): void {
    if (!this.fast || !stat.deferWrites) return;
    if (!this.deferring.has(stat)) this.deferring.set(stat, stat.deferWrites(this.fold));
    this.fast.enable(id, stat);
  }

  define(type: number, name: string): { result: WasmResult; id?: number } {
    if (!Number.isInteger(type) || type < 0 || type > MetricType.Histogram) return { result: WasmResult.BadArgument };
    const statName = CUSTOM_STAT_PREFIX + name;
    const id = (this.lastId[type]! += ID_INCREMENT);
    switch (type as MetricType) {
      case MetricType.Counter:
        this.deferToTable(id, (this.counters[id >>> 2] = this.stats.counter(statName)));
        break;
      case MetricType.Gauge:
        this.deferToTable(id, (this.gauges[id >>> 2] = this.stats.gauge(statName)));
        break;
      case MetricType.Histogram:
        this.histograms[id >>> 2] = this.stats.histogram(statName);
        break;
    }
    return { result: WasmResult.Ok, id };
  }

  /** `delta` is the i64 argument (a number when the i64 adapter could make it one exactly). */
  increment(id: number, delta: number | bigint): WasmResult {
    switch (typeOf(id)) {
      case MetricType.Counter: {
        const c = this.counters[id >>> 2];
        if (!c) return WasmResult.NotFound;
        if (delta <= 0) return WasmResult.BadArgument;
        c.add(delta);
        return WasmResult.Ok;
      }
      case MetricType.Gauge: {
        const g = this.gauges[id >>> 2];
        if (!g) return WasmResult.NotFound;
        g.add(delta); // a negative delta subtracts (no negated BigInt)
        return WasmResult.Ok;
      }
      default:
        return WasmResult.BadArgument;
    }
  }

  /** `value` is the argument as uint64 (a number when exact), or the i64 as a BigInt. */
  record(id: number, value: number | bigint): WasmResult {
    // The i64 argument read as uint64 (asUintN only when it is negative or wider: no new BigInt
    // for the usual value; a number from the i64 adapter is already the uint64).
    const v = typeof value === "number" || (value >= 0n && value < TWO_POW_64) ? value : BigInt.asUintN(64, value);
    switch (typeOf(id)) {
      case MetricType.Counter: {
        const c = this.counters[id >>> 2];
        if (!c) return WasmResult.NotFound;
        c.add(v);
        return WasmResult.Ok;
      }
      case MetricType.Gauge: {
        const g = this.gauges[id >>> 2];
        if (!g) return WasmResult.NotFound;
        g.set(v);
        return WasmResult.Ok;
      }
      case MetricType.Histogram: {
        const h = this.histograms[id >>> 2];
        if (!h) return WasmResult.NotFound;
        h.record(v);
        return WasmResult.Ok;
      }
      default:
        return WasmResult.NotFound;
    }
  }

  get(id: number): { result: WasmResult; value?: bigint } {
    switch (typeOf(id)) {
      case MetricType.Counter: {
        const c = this.counters[id >>> 2];
        return c ? { result: WasmResult.Ok, value: c.value() } : { result: WasmResult.NotFound };
      }
      case MetricType.Gauge: {
        const g = this.gauges[id >>> 2];
        return g ? { result: WasmResult.Ok, value: g.value() } : { result: WasmResult.NotFound };
      }
      default:
        return { result: WasmResult.BadArgument };
    }
  }
}

function typeOf(id: number): number {
  return (id >>> 0) & TYPE_MASK;
}
