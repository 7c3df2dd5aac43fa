/**
 * Typed roots (`HttpContext<R>`) and the metric hostcalls' integer types, in the real
 * proxy-wasm host (test guest: harness/context-guest.as.ts).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { compileAssemblyScript } from "../../../manager/src/build/index.ts";
import { createPlugin, createTestEnvironment, openTestStream, testPluginConfig } from "../../../manager/src/sidecar/host/index.ts";

let wasm: Uint8Array;
beforeAll(async () => {
  wasm = await compileAssemblyScript("filters/sdk/test/harness/context-guest.as.ts");
});

describe("HttpContext<R> and metrics of any integer type", () => {
  it("streams reach their typed root; every integer type reaches the metric as Envoy's int64/uint64", async () => {
    const env = createTestEnvironment();
    const plugin = await createPlugin(testPluginConfig(wasm, { name: "ctx", rootId: "" }), env);
    for (let i = 1; i <= 3; i++) {
      const s = openTestStream(plugin);
      s.sendRequestHeaders([[":method", "GET"], [":path", "/"], [":authority", "a"]], true);
      expect(s.upstream.headers!.get("x-root-streams")).toBe(String(i));
      s.complete();
    }
    const value = (name: string) => (env.stats.find(`wasmcustom.${name}`) as { value(): bigint }).value();
    expect(value("ctx_typed_total")).toBe(3n * 21n);
    expect(value("ctx_clamped_total")).toBe(3n * (2n ** 63n - 1n));
    expect(value("ctx_gauge")).toBe(38n);
    expect(value("ctx_negative")).toBe(0n);
    const hist = env.stats.histograms().find((h) => h.name === "wasmcustom.ctx_hist")!;
    expect(hist.snapshot().count).toBe(3);
    await plugin.close();
  });

  it("a metric value that is not an integer is a compile-time error", async () => {
    const entry = "filters/sdk/test/harness/float-metric.as.ts";
    const source = [
      'import { incrementMetric } from "../../hostcalls";',
      "export function bump(id: u32, v: f64): void { incrementMetric(id, v); }",
    ].join("\n");
    const err = await compileAssemblyScript(entry, { sources: { [entry]: source } }).catch((e: unknown) => e);
    expect(String(err)).toMatch(/metric values must be integers/);
  });
});
