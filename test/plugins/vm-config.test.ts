/**
 * What a WasmPlugin's VM sees, end to end through `--plugins` with @grpc/grpc-js: `pluginName`
 * as the root id (property `plugin_root_id`), `<ns>.<name>` as `plugin_name`, and `vmConfig.env`
 * through WASI environ_get, with istiod's variables for a `file://` module, istio-agent's
 * stripping of `ISTIO_META_*` for a fetched one, HOST values from the sidecar's own environment,
 * VM sharing between plugins of one module (the VM keeps the environment it was created with),
 * and an env-only update that changes nothing (envoy#40881: the environment is in neither key).
 *
 * The guest is a WAT module that, on response headers, adds one `x-env` value per environment
 * entry ("K=V") and the `x-root-id` / `x-plugin-name` properties.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Guest, OUT_LEN, OUT_PTR } from "../conformance/guest.ts";
import { call, startPluginHarness, type PluginHarness } from "./support.ts";

/** Envoy's response header map type. */
const RESPONSE_HEADERS = 2;
const HOST_VAR = "MESHWASM_VM_CONFIG_TEST_POD";

/** The echo guest; `marker` changes the module's bytes (another module, same behaviour). */
function envEchoGuest(marker: number): Promise<Uint8Array> {
  const g = new Guest();
  g.rawImport("wasi.environ_sizes_get", `(import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))`);
  g.rawImport("wasi.environ_get", `(import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))`);
  g.str(`module marker ${marker}`);
  const add = (header: string, ptr: string, len: string) => `(drop ${g.hc("proxy_add_header_map_value", RESPONSE_HEADERS, g.str(header), ptr, len)})`;
  const property = (name: string, header: string) => `
    (if (i32.eqz ${g.hc("proxy_get_property", g.str(name), OUT_PTR, OUT_LEN)})
      (then ${add(header, `(i32.load (i32.const ${OUT_PTR}))`, `(i32.load (i32.const ${OUT_LEN}))`)}))`;
  g.on("proxy_on_context_create", "");
  g.on("proxy_on_vm_start", "", "(i32.const 1)");
  g.on("proxy_on_configure", "", "(i32.const 1)");
  g.raw(`(func (export "proxy_on_response_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
    (local $count i32) (local $arr i32) (local $buf i32) (local $i i32) (local $p i32) (local $len i32)
    (drop (call $environ_sizes_get (i32.const 300) (i32.const 304)))
    (local.set $count (i32.load (i32.const 300)))
    (local.set $arr (call $alloc (i32.add (i32.shl (local.get $count) (i32.const 2)) (i32.const 4))))
    (local.set $buf (call $alloc (i32.add (i32.load (i32.const 304)) (i32.const 1))))
    (drop (call $environ_get (local.get $arr) (local.get $buf)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (local.set $p (i32.load (i32.add (local.get $arr) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $len (i32.const 0))
        (block $end
          (loop $scan
            (br_if $end (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $len)))))
            (local.set $len (i32.add (local.get $len) (i32.const 1)))
            (br $scan)))
        ${add("x-env", "(local.get $p)", "(local.get $len)")}
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    ${property("plugin_root_id", "x-root-id")}
    ${property("plugin_name", "x-plugin-name")}
    (i32.const 0))`);
  return g.build();
}

interface Manifest {
  name: string;
  url: string;
  pluginName?: string;
  resourceVersion?: string;
  priority?: number;
  imagePullPolicy?: string;
  env?: Array<{ name: string; value?: string; valueFrom?: "INLINE" | "HOST" }>;
}

function manifest(m: Manifest): string {
  return [
    "apiVersion: extensions.istio.io/v1alpha1",
    "kind: WasmPlugin",
    "metadata:",
    `  name: ${m.name}`,
    ...(m.resourceVersion ? [`  resourceVersion: "${m.resourceVersion}"`] : []),
    "spec:",
    `  url: ${JSON.stringify(m.url)}`,
    ...(m.pluginName ? [`  pluginName: ${m.pluginName}`] : []),
    ...(m.priority !== undefined ? [`  priority: ${m.priority}`] : []),
    ...(m.imagePullPolicy ? [`  imagePullPolicy: ${m.imagePullPolicy}`] : []),
    ...(m.env ? [`  vmConfig:`, `    env: ${JSON.stringify(m.env)}`] : []),
  ].join("\n") + "\n";
}

let moduleDir: string;
let fileUrl: string[];
let server: Server;
let httpUrl: string;

beforeAll(async () => {
  moduleDir = await mkdtemp(path.join(tmpdir(), "meshwasm-vm-config-"));
  fileUrl = [];
  const modules: Uint8Array[] = [];
  for (const marker of [0, 1]) {
    const wasm = await envEchoGuest(marker);
    modules.push(wasm);
    const file = path.join(moduleDir, `echo-${marker}.wasm`);
    await writeFile(file, wasm);
    fileUrl.push(pathToFileURL(file).href);
  }
  server = createServer((req, res) => (req.url === "/echo.wasm" ? res.end(modules[0]) : res.writeHead(404).end()));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  httpUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/echo.wasm`;
  process.env[HOST_VAR] = "checkout-7d9f";
}, 60_000);

afterAll(async () => {
  delete process.env[HOST_VAR];
  await new Promise((r) => server?.close(r));
  if (moduleDir) await rm(moduleDir, { recursive: true, force: true });
});

async function withPlugins(files: Record<string, string>, body: (h: PluginHarness) => Promise<void>): Promise<void> {
  const h = await startPluginHarness(files, { http: { initialBackoffMs: 10, timeoutMs: 5000 } });
  try {
    await body(h);
  } finally {
    await h.stop();
  }
}

const sorted = (values: string[]) => [...values].sort();

describe("the VM of a WasmPlugin", () => {
  it("file:// module: pluginName is the root id; INLINE and HOST env reach the VM with istiod's variables", async () => {
    const m = manifest({
      name: "env-echo",
      url: fileUrl[0]!,
      pluginName: "echo-root",
      resourceVersion: "4711",
      imagePullPolicy: "IfNotPresent",
      env: [{ name: "GREETING", value: "hello world" }, { name: HOST_VAR, valueFrom: "HOST" }],
    });
    await withPlugins({ "p.yaml": m }, async (h) => {
      const r = await call(h.client, "x-env");
      expect(r.error).toBeUndefined();
      expect(sorted(r.response)).toEqual([
        "GREETING=hello world",
        "ISTIO_META_WASM_IMAGE_PULL_POLICY=IfNotPresent",
        "ISTIO_META_WASM_PLUGIN_RESOURCE_VERSION=4711",
        `${HOST_VAR}=checkout-7d9f`,
      ]);
      expect((await call(h.client, "x-root-id")).response).toEqual(["echo-root"]);
      expect((await call(h.client, "x-plugin-name")).response).toEqual(["default.env-echo"]);
    });
  }, 60_000);

  it("fetched (http://) module: the agent strips every ISTIO_META_ entry, a HOST variable the sidecar lacks is left out", async () => {
    const m = manifest({
      name: "remote-echo",
      url: httpUrl,
      pluginName: "remote-root",
      imagePullPolicy: "Always",
      env: [
        { name: "GREETING", value: "hi" },
        { name: "ISTIO_META_TEAM", value: "payments" },
        { name: "NOT_IN_THE_SIDECAR_ENV", valueFrom: "HOST" },
        { name: HOST_VAR, valueFrom: "HOST" },
      ],
    });
    await withPlugins({ "p.yaml": m }, async (h) => {
      expect(sorted((await call(h.client, "x-env")).response)).toEqual(["GREETING=hi", `${HOST_VAR}=checkout-7d9f`]);
      expect((await call(h.client, "x-root-id")).response).toEqual(["remote-root"]);
      expect(h.harness.sidecar.plugins!.metrics.value("wasm_remote_fetch_count", { result: "success" })).toBe(1);
    });
  }, 60_000);

  it("two plugins of one module share its VM: a root id each, and the environment of the plugin that created the VM", async () => {
    const files = {
      "a.yaml": manifest({ name: "alpha", url: fileUrl[0]!, pluginName: "alpha-root", resourceVersion: "1", priority: 10, env: [{ name: "WHO", value: "alpha" }] }),
      "b.yaml": manifest({ name: "beta", url: fileUrl[0]!, pluginName: "beta-root", resourceVersion: "2", priority: 5, env: [{ name: "WHO", value: "beta" }] }),
    };
    await withPlugins(files, async (h) => {
      // Response filters run in reverse chain order: beta (priority 5) first, then alpha.
      expect((await call(h.client, "x-root-id")).response).toEqual(["beta-root", "alpha-root"]);
      expect((await call(h.client, "x-plugin-name")).response).toEqual(["default.beta", "default.alpha"]);
      const env = (await call(h.client, "x-env")).response;
      expect(sorted(env)).toEqual(["ISTIO_META_WASM_PLUGIN_RESOURCE_VERSION=1", "ISTIO_META_WASM_PLUGIN_RESOURCE_VERSION=1", "WHO=alpha", "WHO=alpha"]);
    });
  }, 60_000);

  it("an update of vmConfig.env alone keeps the plugin and its VM's environment; a new module brings the new one", async () => {
    const spec = (url: string, who: string) => manifest({ name: "versioned", url, pluginName: "root", env: [{ name: "WHO", value: who }] });
    await withPlugins({ "p.yaml": spec(fileUrl[0]!, "one") }, async (h) => {
      const set = h.harness.sidecar.plugins!;
      const who = async () => (await call(h.client, "x-env")).response.filter((v) => v.startsWith("WHO="));
      expect(await who()).toEqual(["WHO=one"]);

      await h.write("p.yaml", spec(fileUrl[0]!, "two"));
      expect(await set.reload()).toMatchObject({ ok: true, generation: 2 });
      expect(await who()).toEqual(["WHO=one"]);
      expect(set.instances().map((i) => [i.generation, i.state])).toEqual([[1, "active"]]);

      await h.write("p.yaml", spec(fileUrl[1]!, "two"));
      expect(await set.reload()).toMatchObject({ ok: true, generation: 3 });
      expect(await who()).toEqual(["WHO=two"]);
      expect(set.instances().map((i) => [i.generation, i.state])).toEqual([[3, "active"]]);
    });
  }, 60_000);
});
