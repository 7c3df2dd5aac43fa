import { describe, expect, it } from "vitest";
import { createPlugin } from "./plugin.ts";
import { createTestEnvironment, openTestStream, testPluginConfig } from "./testing.ts";

/**
 * A guest defining counter "c" at configure time; on request headers it increments it `n` times,
 * then (when `readHeader`) reads a header, whose value the host writes through `malloc`, and
 * `malloc` increments "c" too: a restricted callback inside the allocator.
 */
async function guest(n: number, readHeader: boolean): Promise<Uint8Array> {
  const wabt = await (await import("wabt")).default();
  const wat = `(module
    (import "env" "proxy_define_metric" (func $define (param i32 i32 i32 i32) (result i32)))
    (import "env" "proxy_increment_metric" (func $inc (param i32 i64) (result i32)))
    (import "env" "proxy_get_header_map_value" (func $hdr (param i32 i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 1024) "c:path")
    (global $heap (mut i32) (i32.const 4096))
    (global $c (mut i32) (i32.const 0))
    (func (export "malloc") (param $size i32) (result i32) (local $p i32)
      (if (global.get $c) (then (drop (call $inc (global.get $c) (i64.const 1)))))
      (local.set $p (global.get $heap)) (global.set $heap (i32.add (global.get $heap) (local.get $size))) (local.get $p))
    (func (export "proxy_abi_version_0_2_1"))
    (func (export "proxy_on_context_create") (param i32 i32))
    (func (export "proxy_on_configure") (param i32 i32) (result i32)
      (drop (call $define (i32.const 0) (i32.const 1024) (i32.const 1) (i32.const 512)))
      (global.set $c (i32.load (i32.const 512)))
      (i32.const 1))
    (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (local $i i32)
      (block $done (loop $next
        (br_if $done (i32.ge_u (local.get $i) (i32.const ${n})))
        (drop (call $inc (global.get $c) (i64.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
      ${readHeader ? "(drop (call $hdr (i32.const 0) (i32.const 1025) (i32.const 5) (i32.const 600) (i32.const 604)))" : ""}
      (i32.const 0)))`;
  const mod = wabt.parseWat("adapter-vm.wat", wat);
  try {
    return new Uint8Array(mod.toBinary({}).buffer);
  } finally {
    mod.destroy();
  }
}

describe("the metric adapter in a VM", () => {
  it("answers increments in Wasm, counts them as host calls, and every read sees them", async () => {
    const env = createTestEnvironment();
    const plugin = await createPlugin(testPluginConfig(await guest(5, false)), env);
    try {
      const vm = plugin.workerVms()[0]!;
      const calls = vm.hostCalls;
      openTestStream(plugin).sendRequestHeaders([[":path", "/"]], true);
      expect(vm.metrics.fastUpdates()).toBe(5);
      expect(vm.hostCalls - calls).toBe(5);
      expect(env.stats.counters().find((c) => c.name === "wasmcustom.c")?.value()).toBe(5n);
      openTestStream(plugin).sendRequestHeaders([[":path", "/"]], true);
      expect(env.stats.find("wasmcustom.c")).toMatchObject({ name: "wasmcustom.c" });
      expect((env.stats.find("wasmcustom.c") as { value(): bigint }).value()).toBe(10n);
    } finally {
      await plugin.close();
    }
    // The VM went away: its sums are in the store and nothing is deferred any more.
    expect(env.stats.counter("wasmcustom.c").value()).toBe(10n);
  });

  it("still traps an increment made inside the allocator (restricted callback), as the host path does", async () => {
    const env = createTestEnvironment();
    const plugin = await createPlugin(testPluginConfig(await guest(1, true)), env);
    try {
      const vm = plugin.workerVms()[0]!;
      openTestStream(plugin).sendRequestHeaders([[":path", "/x"]], true);
      expect(vm.failed).toBe(true);
      expect(vm.failure?.message).toMatch(/restricted_callback: proxy_increment_metric may not be called during memory allocation/);
      expect(env.stats.counter("wasmcustom.c").value()).toBe(1n);
    } finally {
      await plugin.close();
    }
  });
});
