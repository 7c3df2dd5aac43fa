import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { WasmResult } from "./abi.ts";
import { adaptI64Imports, joinSigned, joinUnsigned } from "./i64-adapter.ts";
import { FastMetricTable } from "./metric-fast-table.ts";
import { MetricsRegistry } from "./metrics.ts";
import { MemoryStatsStore } from "../stats/store.ts";

const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** One VM's metric imports as the guest calls them (an i64 argument arrives as a BigInt from JS). */
interface MetricVm {
  registry: MetricsRegistry;
  increment(id: number, v: bigint): number;
  record(id: number, v: bigint): number;
  setPhaseRunning(on: boolean): void;
}

/** The plain path: the JavaScript imports as linked without the adapter (vm.ts fallback). */
function plainVm(store: MemoryStatsStore): MetricVm {
  const registry = new MetricsRegistry(store);
  return {
    registry,
    increment: (id, v) => registry.increment(id >>> 0, BigInt.asIntN(64, v)),
    record: (id, v) => registry.record(id >>> 0, BigInt.asIntN(64, v)),
    setPhaseRunning: () => {},
  };
}

/** The adapter path: the Wasm exports, the table marking every counter and gauge defined. */
function adaptedVm(store: MemoryStatsStore): MetricVm {
  const registry = new MetricsRegistry(store);
  const table = new FastMetricTable();
  registry.useFastTable(table);
  const adapted = adaptI64Imports(
    {
      increment: (id, lo, hi) => registry.increment(id >>> 0, joinSigned(lo, hi)),
      record: (id, lo, hi) => registry.record(id >>> 0, joinUnsigned(lo, hi)),
    },
    table,
  );
  const inc = adapted.proxy_increment_metric as (id: number, v: bigint) => number;
  const rec = adapted.proxy_record_metric as (id: number, v: bigint) => number;
  registry.setFastPath(true);
  return { registry, increment: inc, record: rec, setPhaseRunning: (on) => registry.setFastPath(on) };
}

const value = fc.oneof(
  fc.bigInt({ min: -3n, max: 3n }),
  fc.bigInt({ min: 1n, max: 1000n }),
  fc.bigInt({ min: SAFE - 3n, max: SAFE + 3n }),
  fc.bigInt({ min: -SAFE - 3n, max: -SAFE + 3n }),
  fc.bigInt({ min: I64_MAX - 3n, max: I64_MAX }),
  fc.bigInt({ min: I64_MIN, max: I64_MIN + 3n }),
  fc.bigInt({ min: (1n << 62n) - 2n, max: (1n << 62n) + 2n }),
  fc.bigInt({ min: I64_MIN, max: I64_MAX }),
);

/** An id near the defined ones (every type, unknown ones too) or anywhere in u32. */
const metricId = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 4, max: 14 }) }, // the first ids of every type
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 40 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffff }) },
  { weight: 1, arbitrary: fc.constant(0x7ffffffc) },
);

const NAMES = ["a", "b", "c"];

type Op =
  | { op: "define"; vm: number; type: number; name: string }
  | { op: "increment" | "record"; vm: number; id: number; v: bigint }
  | { op: "get"; vm: number; id: number }
  | { op: "read" }
  | { op: "set"; name: string; v: bigint }
  | { op: "phase"; vm: number; running: boolean }
  | { op: "close"; vm: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant("define" as const), vm: fc.nat(1), type: fc.integer({ min: 0, max: 4 }), name: fc.constantFrom(...NAMES) }) },
  { weight: 8, arbitrary: fc.record({ op: fc.constantFrom("increment" as const, "record" as const), vm: fc.nat(1), id: metricId, v: value }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("get" as const), vm: fc.nat(1), id: metricId }) },
  { weight: 1, arbitrary: fc.constant({ op: "read" as const }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("set" as const), name: fc.constantFrom(...NAMES), v: value }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("phase" as const), vm: fc.nat(1), running: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("close" as const), vm: fc.nat(1) }) },
);

/** Everything a reader can see: every stat's value and used flag, histogram snapshots. */
function contents(store: MemoryStatsStore): unknown {
  return {
    counters: store.counters().map((c) => [c.name, c.value(), c.used()]),
    gauges: store.gauges().map((g) => [g.name, g.value(), g.used()]),
    histograms: store.histograms().map((h) => [h.name, h.used(), h.snapshot(), [...h.cumulativeBins()]]),
  };
}

/** Applies `op` to one side; returns what the guest (or a reader) would see. */
function apply(store: MemoryStatsStore, vms: MetricVm[], op: Op): unknown {
  switch (op.op) {
    case "define":
      return vms[op.vm]!.registry.define(op.type, op.name);
    case "increment":
      return vms[op.vm]!.increment(op.id | 0, op.v);
    case "record":
      return vms[op.vm]!.record(op.id | 0, op.v);
    case "get":
      return vms[op.vm]!.registry.get(op.id);
    case "read":
      return contents(store);
    case "set":
      // Another writer of the same stat (e.g. a gauge shared with another plugin).
      store.gauge("wasmcustom." + op.name).set(op.v);
      return undefined;
    case "phase":
      vms[op.vm]!.setPhaseRunning(op.running);
      return undefined;
    case "close":
      vms[op.vm]!.registry.close();
      return undefined;
  }
}

describe("metric updates summed in the adapter and folded on read", () => {
  it("give the same results and the same store as the plain path, for any sequence", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 80 }), (ops) => {
        const plainStore = new MemoryStatsStore();
        const fastStore = new MemoryStatsStore();
        const plain = [plainVm(plainStore), plainVm(plainStore)];
        const fast = [adaptedVm(fastStore), adaptedVm(fastStore)];
        for (const op of ops) {
          expect(apply(fastStore, fast, op)).toEqual(apply(plainStore, plain, op));
        }
        expect(contents(fastStore)).toEqual(contents(plainStore));
      }),
      { numRuns: 3000 },
    );
  });

  it("answers the common updates in Wasm and folds them exactly, across 2^53 and up to the u64 carry", () => {
    const store = new MemoryStatsStore();
    const vm = adaptedVm(store);
    const c = vm.registry.define(0, "c").id!;
    const g = vm.registry.define(1, "g").id!;
    expect(vm.increment(c, SAFE)).toBe(WasmResult.Ok);
    expect(vm.increment(c, 2n)).toBe(WasmResult.Ok);
    expect(vm.record(c, I64_MAX)).toBe(WasmResult.Ok);
    expect(vm.increment(g, -5n)).toBe(WasmResult.Ok);
    expect(vm.registry.fastUpdates()).toBe(4);
    expect(store.counter("wasmcustom.c").value()).toBe(SAFE + 2n + I64_MAX);
    expect(store.gauge("wasmcustom.g").value()).toBe(-5n);
    // A pending sum that would carry past 2^64 takes the JavaScript path, still exact.
    expect(vm.record(c, I64_MAX)).toBe(WasmResult.Ok);
    expect(vm.record(c, -1n)).toBe(WasmResult.Ok); // 2^64 - 1 as u64
    expect(store.counter("wasmcustom.c").value()).toBe(SAFE + 2n + 2n * I64_MAX + (1n << 64n) - 1n);
    // So does a gauge sum that would overflow i64, either way.
    expect(vm.increment(g, I64_MAX)).toBe(WasmResult.Ok);
    expect(vm.increment(g, I64_MAX)).toBe(WasmResult.Ok);
    expect(vm.increment(g, I64_MAX)).toBe(WasmResult.Ok);
    expect(store.gauge("wasmcustom.g").value()).toBe(-5n + 3n * I64_MAX);
    expect(vm.increment(g, I64_MIN)).toBe(WasmResult.Ok);
    expect(vm.increment(g, I64_MIN)).toBe(WasmResult.Ok);
    expect(vm.increment(g, -1n)).toBe(WasmResult.Ok);
    expect(store.gauge("wasmcustom.g").value()).toBe(-5n + 3n * I64_MAX + 2n * I64_MIN - 1n);
    // Envoy's refusals come from the host, unchanged.
    expect(vm.increment(c, 0n)).toBe(WasmResult.BadArgument);
    expect(vm.increment(c + 4, 1n)).toBe(WasmResult.NotFound);
    expect(vm.increment(6, 1n)).toBe(WasmResult.BadArgument);
  });

  it("grows the table past its first page as ids are defined", () => {
    const store = new MemoryStatsStore();
    const vm = adaptedVm(store);
    let last = 0;
    for (let i = 0; i < 5000; i++) last = vm.registry.define(0, `n${i}`).id!;
    const gauge = vm.registry.define(1, "far").id!;
    expect(vm.increment(last, 3n)).toBe(WasmResult.Ok);
    expect(vm.increment(gauge, -3n)).toBe(WasmResult.Ok);
    expect(vm.registry.fastUpdates()).toBe(2);
    expect(store.counter("wasmcustom.n4999").value()).toBe(3n);
    expect(store.gauge("wasmcustom.far").value()).toBe(-3n);
    expect(store.counter("wasmcustom.n4998").value()).toBe(0n);
  });

  it("keeps a touched counter's used flag even when the folded sum is 0", () => {
    const store = new MemoryStatsStore();
    const vm = adaptedVm(store);
    const c = vm.registry.define(0, "zero").id!;
    expect(vm.record(c, 0n)).toBe(WasmResult.Ok);
    expect(vm.registry.fastUpdates()).toBe(1);
    const counter = store.counter("wasmcustom.zero");
    expect([counter.value(), counter.used()]).toEqual([0n, true]);
  });
});
