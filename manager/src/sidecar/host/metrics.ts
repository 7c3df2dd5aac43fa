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
 */
import { MetricType, WasmResult } from "./abi.ts";
import type { Counter, Gauge, Histogram, StatsStore } from "../stats/types.ts";

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

  constructor(private readonly stats: StatsStore) {}

  define(type: number, name: string): { result: WasmResult; id?: number } {
    if (!Number.isInteger(type) || type < 0 || type > MetricType.Histogram) return { result: WasmResult.BadArgument };
    const statName = CUSTOM_STAT_PREFIX + name;
    const id = (this.lastId[type]! += ID_INCREMENT);
    switch (type as MetricType) {
      case MetricType.Counter:
        this.counters[id >>> 2] = this.stats.counter(statName);
        break;
      case MetricType.Gauge:
        this.gauges[id >>> 2] = this.stats.gauge(statName);
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
