/**
 * Modules shaped like the Go, Rust and C++ SDKs' output (sdk-shaped-guests.ts) load, start,
 * configure, handle a stream and log through WASI fd_write in the host.
 */
import { describe, expect, it } from "vitest";
import { createPlugin, createTestEnvironment, LogLevel, openTestStream } from "../../manager/src/sidecar/host/index.ts";
import { pluginConfig } from "./guest.ts";
import { REQUEST, RESPONSE } from "./hostcalls-run.ts";
import { SDK_SHAPES, buildSdkShaped } from "./sdk-shaped-guests.ts";

describe.each(SDK_SHAPES)("a $sdk SDK-shaped module", (shape) => {
  it("loads, starts, configures, handles a stream and logs through fd_write", async () => {
    const code = await buildSdkShaped(shape);
    const mod = await WebAssembly.compile(code as Uint8Array<ArrayBuffer>);
    expect(WebAssembly.Module.exports(mod).map((e) => e.name)).toContain(shape.allocator);
    const env = createTestEnvironment();
    const plugin = await createPlugin(pluginConfig(code, { configuration: new TextEncoder().encode(`cfg-${shape.sdk}`) }), env);
    const vm = plugin.workerVms()[0]!;
    expect(vm.loaded.abiVersion).toBe(shape.abi.replace(/_/g, "."));
    expect(vm.loaded.allocator).toBe(shape.allocator);
    const s = openTestStream(plugin);
    s.sendRequestHeaders(REQUEST, true);
    s.sendResponseHeaders(RESPONSE, true);
    s.complete();
    expect(s.upstream.headers?.get("x-sdk")).toBe(shape.sdk);
    expect(s.downstream.headers?.get("x-sdk")).toBe(shape.sdk);
    const info = env.logs.filter((l) => l.level === LogLevel.Info).map((l) => l.line);
    expect(info.filter((l) => l === "wasm log vm: started")).toHaveLength(3); // base, canary, worker
    expect(info.filter((l) => l === `wasm log root vm: configured cfg-${shape.sdk}`)).toHaveLength(2); // canary, worker
    expect(info).toContain("wasm log test-plugin root vm: request");
    expect(vm.failed).toBe(false);
    await plugin.close();
  });
});
