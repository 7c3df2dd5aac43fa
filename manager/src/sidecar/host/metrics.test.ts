import { beforeEach, describe, expect, it } from "vitest";
import { MetricType, WasmResult } from "./abi.ts";
import { MetricsRegistry } from "./metrics.ts";
import type { Counter, Gauge, Histogram, StatsStore } from "../stats/types.ts";

/** A minimal StatsStore: enough to observe what the registry writes. */
class TestStore implements StatsStore {
  readonly c = new Map<string, Counter>();
  readonly g = new Map<string, Gauge>();
  readonly h = new Map<string, Histogram & { samples: bigint[] }>();
  counter(name: string): Counter {
    let s = this.c.get(name);
    if (!s) {
      let v = 0n;
      s = { name, add: (d) => void (v += BigInt(d)), inc: () => void (v += 1n), value: () => v };
      this.c.set(name, s);
    }
    return s;
  }
  gauge(name: string): Gauge {
    let s = this.g.get(name);
    if (!s) {
      let v = 0n;
      s = {
        name,
        set: (x) => void (v = BigInt(x)),
        add: (d) => void (v += BigInt(d)),
        sub: (d) => void (v -= BigInt(d)),
        value: () => v,
      };
      this.g.set(name, s);
    }
    return s;
  }
  histogram(name: string): Histogram {
    let s = this.h.get(name);
    if (!s) {
      const samples: bigint[] = [];
      s = {
        name,
        samples,
        record: (x) => void samples.push(BigInt(x)),
        snapshot: () => ({ bounds: [], cumulative: [], count: samples.length, sum: 0 }),
      };
      this.h.set(name, s);
    }
    return s;
  }
  counters() {
    return [...this.c.values()];
  }
  gauges() {
    return [...this.g.values()];
  }
  histograms() {
    return [...this.h.values()];
  }
  find(name: string) {
    return this.c.get(name) ?? this.g.get(name) ?? this.h.get(name);
  }
}

let store: TestStore;
let m: MetricsRegistry;
let counter: number;
let gauge: number;
let histogram: number;
beforeEach(() => {
  store = new TestStore();
  m = new MetricsRegistry(store);
  counter = m.define(MetricType.Counter, "requests").id!;
  gauge = m.define(MetricType.Gauge, "inflight").id!;
  histogram = m.define(MetricType.Histogram, "latency").id!;
});

describe("MetricsRegistry.define", () => {
  it("allocates ids 4n + type and names stats wasmcustom.<name>", () => {
    expect([counter, gauge, histogram]).toEqual([4, 5, 6]);
    expect(m.define(MetricType.Counter, "second")).toEqual({ result: WasmResult.Ok, id: 8 });
    expect(m.define(MetricType.Histogram, "h2")).toEqual({ result: WasmResult.Ok, id: 10 });
    expect([...store.c.keys()]).toEqual(["wasmcustom.requests", "wasmcustom.second"]);
    expect([...store.g.keys()]).toEqual(["wasmcustom.inflight"]);
    expect([...store.h.keys()]).toEqual(["wasmcustom.latency", "wasmcustom.h2"]);
  });

  it("returns a new id for the same stat when a name is defined twice", () => {
    const again = m.define(MetricType.Counter, "requests").id!;
    expect(again).toBe(8);
    m.increment(counter, 2n);
    m.increment(again, 3n);
    expect(m.get(counter).value).toBe(5n);
    expect(m.get(again).value).toBe(5n);
  });

  it.each([3, 4, 100, -1])("rejects metric type %d", (type) => {
    expect(m.define(type, "x")).toEqual({ result: WasmResult.BadArgument });
  });
});

describe("MetricsRegistry operations", () => {
  type Op = (ids: { counter: number; gauge: number; histogram: number }) => WasmResult;
  it.each<[string, Op, WasmResult]>([
    ["counter += 1", (i) => m.increment(i.counter, 1n), WasmResult.Ok],
    ["counter += 0", (i) => m.increment(i.counter, 0n), WasmResult.BadArgument],
    ["counter += -1", (i) => m.increment(i.counter, -1n), WasmResult.BadArgument],
    ["gauge += -3", (i) => m.increment(i.gauge, -3n), WasmResult.Ok],
    ["gauge += 0", (i) => m.increment(i.gauge, 0n), WasmResult.Ok],
    ["histogram increment", (i) => m.increment(i.histogram, 1n), WasmResult.BadArgument],
    ["increment type 3", () => m.increment(7, 1n), WasmResult.BadArgument],
    ["increment unknown counter", () => m.increment(400, 1n), WasmResult.NotFound],
    ["increment unknown gauge", () => m.increment(401, 1n), WasmResult.NotFound],
    ["increment unknown histogram", () => m.increment(402, 1n), WasmResult.BadArgument],
    ["record counter", (i) => m.record(i.counter, 0n), WasmResult.Ok],
    ["record gauge", (i) => m.record(i.gauge, 9n), WasmResult.Ok],
    ["record histogram", (i) => m.record(i.histogram, 9n), WasmResult.Ok],
    ["record unknown counter", () => m.record(400, 1n), WasmResult.NotFound],
    ["record unknown histogram", () => m.record(402, 1n), WasmResult.NotFound],
    ["record type 3", () => m.record(7, 1n), WasmResult.NotFound],
    ["get histogram", (i) => m.get(i.histogram).result, WasmResult.BadArgument],
    ["get type 3", () => m.get(7).result, WasmResult.BadArgument],
    ["get unknown counter", () => m.get(400).result, WasmResult.NotFound],
    ["get unknown gauge", () => m.get(401).result, WasmResult.NotFound],
  ])("%s", (_name, op, expected) => {
    expect(op({ counter, gauge, histogram })).toBe(expected);
  });

  it("counter: increment adds, record adds too", () => {
    m.increment(counter, 2n);
    m.record(counter, 10n);
    expect(m.get(counter)).toEqual({ result: WasmResult.Ok, value: 12n });
    expect(store.c.get("wasmcustom.requests")!.value()).toBe(12n);
  });

  it("gauge: increment adds and subtracts, record sets", () => {
    m.increment(gauge, 5n);
    m.increment(gauge, -2n);
    expect(m.get(gauge).value).toBe(3n);
    m.record(gauge, 42n);
    expect(m.get(gauge).value).toBe(42n);
  });

  it("histogram: record records samples (as uint64)", () => {
    m.record(histogram, 7n);
    m.record(histogram, -1n);
    expect(store.h.get("wasmcustom.latency")!.samples).toEqual([7n, 2n ** 64n - 1n]);
  });

  it("a failed operation leaves the stat unchanged", () => {
    m.increment(counter, 0n);
    m.increment(counter, -5n);
    expect(m.get(counter).value).toBe(0n);
  });
});
