/**
 * `--plugins` with `oci://` modules from a real registry (the CNCF distribution registry on
 * loopback), pulled through the same code as `meshwasm pull`, end to end with @grpc/grpc-js:
 * by digest, by tag with `sha256` = the manifest digest, the classic mistake of pinning the
 * module's hash instead (checksum_mismatched, deny-all), a missing repository
 * (manifest_failure), and istio-agent's pull policies on a moved tag: IfNotPresent keeps the
 * digest first seen, Always pulls again when the resource changes.
 */
import * as grpc from "@grpc/grpc-js";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pushWasmImage } from "../../manager/src/oci/index.ts";
import { startRegistry, toolGate, type TestRegistry } from "../support/registry.ts";
import { addHeaderWasm, call, orderConfig, startPluginHarness, wasmPluginYaml, type PluginHarness, type PluginSpec } from "./support.ts";

const gate = toolGate(["docker-registry"]);

describe.skipIf(gate.skip)(`oci:// WasmPlugins from a real registry${gate.reason ? ` (skipped: ${gate.reason})` : ""}`, () => {
  let reg: TestRegistry;
  let wasm: Uint8Array;
  let digest: string;
  let cacheDir: string;

  const push = async (tag: string, version: string) =>
    (await pushWasmImage(`${reg.host}/filters/add-header:${tag}`, { wasm, name: "add-header", version }, { auth: {}, blobLocations: false })).manifestDigest;

  beforeAll(async () => {
    reg = await startRegistry({ auth: "none" });
    wasm = await addHeaderWasm();
    digest = await push("1.0", "1.0.0");
    cacheDir = await mkdtemp(path.join(tmpdir(), "meshwasm-wasm-cache-"));
  }, 120_000);

  afterAll(async () => {
    await reg?.stop();
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  async function withPlugin(spec: Omit<PluginSpec, "name">, body: (h: PluginHarness) => Promise<void>): Promise<void> {
    const h = await startPluginHarness({ "p.yaml": wasmPluginYaml({ name: "from-oci", pluginConfig: orderConfig("oci"), ...spec }) }, { cacheDir });
    try {
      await body(h);
    } finally {
      await h.stop();
    }
  }
  const fetches = (h: PluginHarness, result: string) => h.harness.sidecar.plugins!.metrics.value("wasm_remote_fetch_count", { result });

  it("loads a plugin pinned by manifest digest, and writes it to the cache as the agent does", async () => {
    await withPlugin({ url: `oci://${reg.host}/filters/add-header@${digest}` }, async (h) => {
      expect((await call(h.client)).request).toEqual(["oci"]);
      expect(fetches(h, "success")).toBe(1);
      const nameHash = createHash("sha256").update(`oci://${reg.host}/filters/add-header`).digest("hex");
      expect(await readdir(path.join(cacheDir, nameHash))).toContain(`${digest.slice("sha256:".length)}.wasm`);
    });
  }, 60_000);

  it("loads by tag with sha256 = the manifest digest; a URL without a scheme is oci://", async () => {
    await withPlugin({ url: `${reg.host}/filters/add-header:1.0`, sha256: digest.slice(7) }, async (h) => {
      expect((await call(h.client)).request).toEqual(["oci"]);
    });
  }, 60_000);

  it("sha256 set to the module's hash instead of the manifest digest: checksum_mismatched, deny-all", async () => {
    const moduleHash = createHash("sha256").update(wasm).digest("hex");
    await withPlugin({ url: `oci://${reg.host}/filters/add-header:1.0`, sha256: moduleHash }, async (h) => {
      expect((await call(h.client)).error?.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(fetches(h, "checksum_mismatched")).toBe(1);
    });
  }, 60_000);

  it("a missing repository: manifest_failure; FAIL_OPEN lets traffic through", async () => {
    await withPlugin({ url: `oci://${reg.host}/filters/nothing-here:1.0`, failStrategy: "FAIL_OPEN" }, async (h) => {
      const r = await call(h.client);
      expect(r.error).toBeUndefined();
      expect(r.request).toEqual([]);
      expect(fetches(h, "manifest_failure")).toBe(1);
    });
  }, 60_000);

  it("a moved tag: IfNotPresent keeps the first digest, Always pulls again when the resource changes", async () => {
    await push("moving", "1.0.0");
    const spec = (policy: string, value: string) =>
      wasmPluginYaml({ name: "moving", url: `oci://${reg.host}/filters/add-header:moving`, imagePullPolicy: policy, pluginConfig: orderConfig(value) });
    const h = await startPluginHarness({ "p.yaml": spec("IfNotPresent", "a") }, { cacheDir });
    try {
      const set = h.harness.sidecar.plugins!;
      expect(fetches(h, "success")).toBe(1);
      const moved = await push("moving", "2.0.0"); // same module, another manifest (annotations)
      await h.write("p.yaml", spec("IfNotPresent", "b"));
      expect((await set.reload()).ok).toBe(true);
      expect((await call(h.client)).request).toEqual(["b"]);
      expect(fetches(h, "success")).toBe(1);
      await h.write("p.yaml", spec("Always", "c"));
      expect((await set.reload()).ok).toBe(true);
      expect((await call(h.client)).request).toEqual(["c"]);
      expect(fetches(h, "success")).toBe(2);
      const nameHash = createHash("sha256").update(`oci://${reg.host}/filters/add-header`).digest("hex");
      expect(await readdir(path.join(cacheDir, nameHash))).toContain(`${moved.slice(7)}.wasm`);
    } finally {
      await h.stop();
    }
  }, 60_000);
});
