/**
 * Plugin loading and start-up as Envoy does it (reference §1.1, §2.1): bad modules reject
 * createPlugin with a PluginLoadError naming the module and the reason; ABI detection;
 * allocator preference; restricted calls; canary + workers; VM sharing; context ids.
 */
import { describe, expect, it } from "vitest";
import { PluginLoadError, createPlugin, createTestEnvironment, openTestStream } from "../../manager/src/sidecar/host/index.ts";
import { Guest, OUT_PTR, allocCount, pluginConfig, readSlot } from "./guest.ts";

async function loadError(code: Uint8Array, over = {}): Promise<PluginLoadError> {
  const err = await createPlugin(pluginConfig(code, over), createTestEnvironment()).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PluginLoadError);
  return err as PluginLoadError;
}

describe("plugin load failures", () => {
  it("rejects bytes that are not Wasm, naming the module", async () => {
    const e = await loadError(new TextEncoder().encode("hello world, not wasm"), { codeSource: "bad.wasm" });
    expect(e.message).toContain("bad.wasm");
    expect(e.reason).toMatch(/not a WebAssembly module/);
  });

  it("rejects a module without an ABI version export", async () => {
    const g = new Guest();
    g.abi = "none";
    const e = await loadError(await g.build());
    expect(e.reason).toBe("Missing or unknown Proxy-Wasm ABI version");
    expect(e.message).toContain("guest.wasm");
  });

  it("rejects ABI 0.1.0", async () => {
    const g = new Guest();
    g.abi = "0_1_0";
    expect((await loadError(await g.build())).reason).toBe("Missing or unknown Proxy-Wasm ABI version");
  });

  it("rejects a module without an allocator", async () => {
    const g = new Guest();
    g.allocator = "none";
    expect((await loadError(await g.build())).reason).toMatch(/missing malloc function/);
  });

  it("rejects an unknown import, naming it", async () => {
    const g = new Guest().rawImport("env.nope", `(import "env" "proxy_does_not_exist" (func $nope (result i32)))`);
    expect((await loadError(await g.build())).reason).toMatch(/missing import: env\.proxy_does_not_exist/);
  });

  it("rejects a trap in _start", async () => {
    const g = new Guest().on("_start", "(unreachable)");
    expect((await loadError(await g.build())).reason).toMatch(/trap during start-up in _start/);
  });

  it("rejects a trap in _initialize", async () => {
    const g = new Guest().on("_initialize", "(unreachable)");
    expect((await loadError(await g.build())).reason).toMatch(/trap during start-up in _initialize/);
  });

  it("rejects on_configure returning false", async () => {
    const g = new Guest().on("proxy_on_configure", "", "(i32.const 0)");
    const e = await loadError(await g.build(), { name: "authz" });
    expect(e.message).toContain('"authz"');
    expect(e.reason).toBe("on_configure returned false");
  });

  it("rejects on_vm_start returning false", async () => {
    const g = new Guest().on("proxy_on_vm_start", "", "(i32.const 0)");
    expect((await loadError(await g.build())).reason).toBe("on_vm_start returned false");
  });

  it("traps a non-log host call during start-up", async () => {
    const g = new Guest().on("_start", `(drop ${new Guest().hc("proxy_set_tick_period_milliseconds", 5)})`);
    g.hc("proxy_set_tick_period_milliseconds", 5); // declare the import on this guest
    expect((await loadError(await g.build())).reason).toMatch(/restricted_callback/);
  });

  it("allows proxy_log during start-up", async () => {
    const env = createTestEnvironment();
    const g = new Guest();
    g.on("_initialize", g.log("init"));
    g.on("main", "", "(i32.const 0)");
    await createPlugin(pluginConfig(await g.build()), env);
    // base + canary + 1 worker
    expect(env.logLines().filter((l) => l.endsWith(": init"))).toHaveLength(3);
  });
});

describe("ABI versions and allocator", () => {
  it("loads an ABI 0.2.0 module and does not link proxy_get_log_level", async () => {
    const g = new Guest();
    g.abi = "0_2_0";
    g.on("proxy_on_configure", g.log("configured"), "(i32.const 1)");
    const env = createTestEnvironment();
    await createPlugin(pluginConfig(await g.build()), env);
    expect(env.logLines()).toContain("wasm log root vm: configured");

    const g2 = new Guest();
    g2.abi = "0_2_0";
    g2.on("proxy_on_configure", `(drop ${g2.hc("proxy_get_log_level", OUT_PTR)})`, "(i32.const 1)");
    expect((await loadError(await g2.build())).reason).toMatch(/missing import: env\.proxy_get_log_level/);
  });

  it("links proxy_get_log_level for 0.2.1 (Envoy default info=2)", async () => {
    const g = new Guest();
    g.on("proxy_on_configure", g.rec(0, g.hc("proxy_get_log_level", OUT_PTR)) + `(i32.store (i32.const 516) (i32.load (i32.const ${OUT_PTR})))`, "(i32.const 1)");
    const p = await createPlugin(pluginConfig(await g.build()), createTestEnvironment());
    const vm = p.workerVms()[0]!;
    expect(readSlot(vm, 0)).toBe(0);
    expect(readSlot(vm, 1)).toBe(2);
  });

  it("prefers malloc over proxy_on_memory_allocate", async () => {
    const g = new Guest();
    g.allocator = "both"; // proxy_on_memory_allocate traps if called
    g.on("proxy_on_configure", g.rec(0, g.hc("proxy_get_buffer_bytes", 7, 0, 100, OUT_PTR, OUT_PTR + 4)), "(i32.const 1)");
    const p = await createPlugin(pluginConfig(await g.build(), { configuration: new TextEncoder().encode("cfg") }), createTestEnvironment());
    expect(readSlot(p.workerVms()[0]!, 0)).toBe(0);
    expect(p.workerVms()[0]!.failed).toBe(false);
    expect(allocCount(p.workerVms()[0]!)).toBe(1);
  });

  it("uses proxy_on_memory_allocate when malloc is absent", async () => {
    const g = new Guest();
    g.allocator = "proxy_on_memory_allocate";
    g.on("proxy_on_configure", g.rec(0, g.hc("proxy_get_buffer_bytes", 7, 0, 100, OUT_PTR, OUT_PTR + 4)), "(i32.const 1)");
    const p = await createPlugin(pluginConfig(await g.build(), { configuration: new TextEncoder().encode("cfg") }), createTestEnvironment());
    expect(allocCount(p.workerVms()[0]!)).toBe(1);
  });

  it("traps a restricted host call made from inside the allocator", async () => {
    const g = new Guest();
    const tick = g.hc("proxy_set_tick_period_milliseconds", 1);
    g.allocator = "none";
    g.raw(`(func (export "malloc") (param i32) (result i32) (drop ${tick}) (i32.const 8192))`);
    g.on("proxy_on_configure", `(drop ${g.hc("proxy_get_buffer_bytes", 7, 0, 100, OUT_PTR, OUT_PTR + 4)})`, "(i32.const 1)");
    const e = await loadError(await g.build(), { configuration: new TextEncoder().encode("cfg") });
    expect(e.reason).toMatch(/trap in proxy_on_configure: .*restricted_callback/);
  });

  it("allows proxy_log from inside the allocator", async () => {
    const g = new Guest();
    const log = g.log("alloc");
    g.allocator = "none";
    g.raw(`(func (export "malloc") (param i32) (result i32) ${log} (i32.const 8192))`);
    g.on("proxy_on_configure", `(drop ${g.hc("proxy_get_buffer_bytes", 7, 0, 100, OUT_PTR, OUT_PTR + 4)})`, "(i32.const 1)");
    const env = createTestEnvironment();
    await createPlugin(pluginConfig(await g.build(), { configuration: new TextEncoder().encode("cfg") }), env);
    expect(env.logLines().filter((l) => l.endsWith(": alloc"))).toHaveLength(2);
  });
});

describe("start-up sequence and VM sharing", () => {
  it("runs context_create, vm_start, configure on a canary and then on each worker", async () => {
    const g = new Guest();
    g.on("proxy_on_context_create", g.log("create"));
    g.on("proxy_on_vm_start", g.log("vm_start"), "(i32.const 1)");
    g.on("proxy_on_configure", g.log("configure"), "(i32.const 1)");
    const env = createTestEnvironment({ concurrency: 3 });
    await createPlugin(pluginConfig(await g.build()), env);
    const lines = env.logLines();
    expect(lines.filter((l) => l.endsWith("configure"))).toHaveLength(4);
    expect(lines.filter((l) => l.endsWith("vm_start"))).toHaveLength(4);
    expect(lines.slice(0, 3)).toEqual(["wasm log root vm: create", "wasm log root vm: vm_start", "wasm log root vm: configure"]);
  });

  it("passes the root id and the configuration sizes", async () => {
    const g = new Guest();
    g.on("proxy_on_vm_start", g.rec(0, "(local.get $a0)") + g.rec(1, "(local.get $a1)"), "(i32.const 1)");
    g.on("proxy_on_configure", g.rec(2, "(local.get $a0)") + g.rec(3, "(local.get $a1)"), "(i32.const 1)");
    const cfg = pluginConfig(await g.build(), { vmConfiguration: new Uint8Array(5), configuration: new Uint8Array(9) });
    const p = await createPlugin(cfg, createTestEnvironment());
    const vm = p.workerVms()[0]!;
    expect([0, 1, 2, 3].map((i) => readSlot(vm, i))).toEqual([1, 5, 1, 9]);
  });

  it("numbers contexts from 1 per VM: root 1, first stream 2", async () => {
    const g = new Guest();
    g.on("proxy_on_context_create", `(if (i32.ne (local.get $a1) (i32.const 0)) (then ${g.rec(0, "(local.get $a0)")} ${g.rec(1, "(local.get $a1)")}))`);
    const p = await createPlugin(pluginConfig(await g.build()), createTestEnvironment());
    const s = openTestStream(p);
    s.sendRequestHeaders([[":method", "GET"], [":path", "/"], [":authority", "a"], [":scheme", "http"]], true);
    const vm = p.workerVms()[0]!;
    expect(readSlot(vm, 0)).toBe(2);
    expect(readSlot(vm, 1)).toBe(1);
  });

  it("shares one worker VM between plugins with the same vm key, one root each", async () => {
    const g = new Guest();
    g.on("proxy_on_configure", g.log("configure"), "(i32.const 1)");
    const code = await g.build();
    const env = createTestEnvironment();
    const a = await createPlugin(pluginConfig(code, { name: "a", rootId: "ra" }), env);
    const b = await createPlugin(pluginConfig(code, { name: "b", rootId: "rb" }), env);
    const c = await createPlugin(pluginConfig(code, { name: "c", vmId: "other" }), env);
    expect(a.workerVms()[0]).toBe(b.workerVms()[0]);
    expect(c.workerVms()[0]).not.toBe(a.workerVms()[0]);
    expect(a.rootContexts()[0]!.id).toBe(1);
    expect(b.rootContexts()[0]!.id).toBe(2);
    expect(env.logLines()).toContain("wasm log rb vm: configure");
  });
});

describe("VM cache per SharedState", () => {
  it("shares VMs across environment objects of one data plane and one SharedState, not across SharedStates", async () => {
    const g = new Guest();
    g.on("proxy_on_configure", g.log("configure"), "(i32.const 1)");
    const code = await g.build();
    const envA = createTestEnvironment();
    const envB = { ...envA, concurrency: 1 }; // another HostEnvironment object, same services
    const envD = { ...createTestEnvironment(), shared: envA.shared }; // same SharedState, another data plane
    const envC = createTestEnvironment();
    const a = await createPlugin(pluginConfig(code, { name: "a", rootId: "ra" }), envA);
    const b = await createPlugin(pluginConfig(code, { name: "b", rootId: "rb" }), envB);
    const c = await createPlugin(pluginConfig(code, { name: "c", rootId: "rc" }), envC);
    expect(b.workerVms()[0]).toBe(a.workerVms()[0]);
    expect(c.workerVms()[0]).not.toBe(a.workerVms()[0]);
    const d = await createPlugin(pluginConfig(code, { name: "d", rootId: "rd" }), envD);
    expect(d.workerVms()[0]).not.toBe(a.workerVms()[0]);
    await d.close();
    expect(envA.shared.vmCache.size).toBe(1);
    await a.close();
    expect(envA.shared.vmCache.size).toBe(1);
    await b.close();
    expect(envA.shared.vmCache.size).toBe(0);
  });
});
