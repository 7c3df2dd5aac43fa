import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { adaptI64Imports, joinSigned, joinUnsigned } from "./i64-adapter.ts";
import { createPlugin } from "./plugin.ts";
import { createTestEnvironment, openTestStream, testPluginConfig } from "./testing.ts";

const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Values near every boundary the join distinguishes, and anywhere in the i64 range. */
const i64 = fc.oneof(
  fc.bigInt({ min: I64_MIN, max: I64_MAX }),
  fc.bigInt({ min: -1000n, max: 1000n }),
  fc.bigInt({ min: SAFE - 1000n, max: SAFE + 1000n }),
  fc.bigInt({ min: -SAFE - 1000n, max: -SAFE + 1000n }),
  fc.bigInt({ min: (1n << 32n) - 1000n, max: (1n << 32n) + 1000n }),
  fc.bigInt({ min: I64_MIN, max: I64_MIN + 1000n }),
  fc.bigInt({ min: I64_MAX - 1000n, max: I64_MAX }),
);

/** The halves as a Wasm i32 reaches JavaScript: signed. */
const halves = (v: bigint): [number, number] => [Number(BigInt.asIntN(32, v)), Number(BigInt.asIntN(32, v >> 32n))];

const exact = (x: number | bigint): bigint => {
  if (typeof x === "number") {
    expect(Number.isSafeInteger(x)).toBe(true);
    return BigInt(x);
  }
  // A bigint only where a number could not hold the value.
  expect(x > SAFE || x < -SAFE).toBe(true);
  return x;
};

describe("joinSigned / joinUnsigned", () => {
  it("give back the i64 and the u64 exactly, as a number whenever one holds it", () => {
    fc.assert(
      fc.property(i64, (v) => {
        const [lo, hi] = halves(v);
        expect(exact(joinSigned(lo, hi))).toBe(v);
        expect(exact(joinUnsigned(lo, hi))).toBe(BigInt.asUintN(64, v));
      }),
      { numRuns: 20_000 },
    );
  });
});

describe("the adapter module", () => {
  it("splits the i64 argument of both imports and returns the implementation's result", () => {
    const seen: Array<[string, number, number, number]> = [];
    const adapted = adaptI64Imports({
      increment: (id, lo, hi) => (seen.push(["i", id, lo, hi]), 7),
      record: (id, lo, hi) => (seen.push(["r", id, lo, hi]), 9),
    });
    const inc = adapted.proxy_increment_metric as (id: number, v: bigint) => number;
    const rec = adapted.proxy_record_metric as (id: number, v: bigint) => number;
    expect(inc(4, -1n)).toBe(7);
    expect(rec(6, (1n << 40n) + 5n)).toBe(9);
    expect(inc(-1, I64_MIN)).toBe(7);
    expect(seen).toEqual([
      ["i", 4, -1, -1],
      ["r", 6, 5, 256],
      ["i", -1, 0, -2147483648],
    ]);
  });
});

/** A guest whose request-headers callback increments a counter and a gauge and records a histogram. */
async function metricGuest(incrementParams: string, values: { counter: bigint[]; gauge: bigint[]; histogram: bigint[] }): Promise<Uint8Array> {
  const wabt = await (await import("wabt")).default();
  const calls = (name: string, metric: string, vs: bigint[]) =>
    vs.map((v) => `(i32.store (i32.add (i32.const 2048) (i32.mul (global.get $n) (i32.const 4))) (call $${name} (global.get ${metric}) (i64.const ${v})))
      (global.set $n (i32.add (global.get $n) (i32.const 1)))`).join("\n");
  const wat = `(module
    (import "env" "proxy_define_metric" (func $define (param i32 i32 i32 i32) (result i32)))
    (import "env" "proxy_increment_metric" (func $inc (param ${incrementParams}) (result i32)))
    (import "env" "proxy_record_metric" (func $rec (param i32 i64) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 1024) "cgh")
    (global $heap (mut i32) (i32.const 4096))
    (global $n (mut i32) (i32.const 0))
    (global $c (mut i32) (i32.const 0)) (global $g (mut i32) (i32.const 0)) (global $h (mut i32) (i32.const 0))
    (func (export "malloc") (param $size i32) (result i32) (local $p i32)
      (local.set $p (global.get $heap)) (global.set $heap (i32.add (global.get $heap) (local.get $size))) (local.get $p))
    (func (export "proxy_abi_version_0_2_1"))
    (func (export "proxy_on_context_create") (param i32 i32))
    (func (export "proxy_on_configure") (param i32 i32) (result i32)
      (drop (call $define (i32.const 0) (i32.const 1024) (i32.const 1) (i32.const 512))) (global.set $c (i32.load (i32.const 512)))
      (drop (call $define (i32.const 1) (i32.const 1025) (i32.const 1) (i32.const 512))) (global.set $g (i32.load (i32.const 512)))
      (drop (call $define (i32.const 2) (i32.const 1026) (i32.const 1) (i32.const 512))) (global.set $h (i32.load (i32.const 512)))
      (i32.const 1))
    (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
      ${incrementParams === "i32 i64" ? calls("inc", "$c", values.counter) + calls("inc", "$g", values.gauge) : ""}
      ${calls("rec", "$h", values.histogram)}
      (i32.const 0)))`;
  const mod = wabt.parseWat("metrics.wat", wat);
  try {
    return new Uint8Array(mod.toBinary({}).buffer);
  } finally {
    mod.destroy();
  }
}

describe("metric imports through the adapter, in a guest", () => {
  it("count i64 deltas exactly across 2^53 and keep Envoy's results (counter > 0, gauge signed, record as u64)", async () => {
    const counter = [1n, SAFE, 2n, 0n, -1n, 5n];
    const gauge = [3n, -5n, (1n << 60n), -(1n << 60n), I64_MIN];
    const histogram = [0n, 42n, -1n];
    const env = createTestEnvironment();
    const plugin = await createPlugin(testPluginConfig(await metricGuest("i32 i64", { counter, gauge, histogram })), env);
    try {
      openTestStream(plugin).sendRequestHeaders([[":path", "/"]], true);
      const vm = plugin.workerVms()[0]!;
      const results = new Uint32Array(vm.exportedMemory().buffer, 2048, counter.length + gauge.length + histogram.length);
      // 0 and -1 on a counter: BadArgument (2); everything else Ok (0).
      expect([...results]).toEqual([0, 0, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
      expect(env.stats.counter("wasmcustom.c").value()).toBe(1n + SAFE + 2n + 5n);
      expect(env.stats.gauge("wasmcustom.g").value()).toBe(3n - 5n + I64_MIN);
      const h = env.stats.histogram("wasmcustom.h").snapshot();
      expect(h.count).toBe(3); // -1 is recorded as 2^64 - 1, not refused
      expect(vm.hostCalls).toBeGreaterThanOrEqual(counter.length + gauge.length + histogram.length);
    } finally {
      await plugin.close();
    }
  });

  it("still link a guest that declares proxy_increment_metric with another signature (plain JavaScript imports)", async () => {
    const env = createTestEnvironment();
    const plugin = await createPlugin(testPluginConfig(await metricGuest("i32 i32", { counter: [], gauge: [], histogram: [7n] })), env);
    try {
      openTestStream(plugin).sendRequestHeaders([[":path", "/"]], true);
      expect(env.stats.histogram("wasmcustom.h").snapshot().count).toBe(1);
    } finally {
      await plugin.close();
    }
  });
});
