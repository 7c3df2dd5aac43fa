/**
 * `--plugins`: WasmPlugins placed in the listener's chain as istiod places them, end to end with
 * @grpc/grpc-js through the sidecar: phase AUTHN -> AUTHZ -> STATS -> unspecified and priority
 * highest first (each plugin adds its name to `x-order` on the request and the response, so the
 * response carries the chain reversed: encoders run last to first), selectors against the
 * workload's labels, match modes and ports against the listener, pluginConfig reaching the
 * filter as JSON, pluginName as the root id.
 */
import { pathToFileURL } from "node:url";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { addHeaderWasm, call, orderConfig, startPluginHarness, wasmPluginYaml, type PluginHarness, type PluginSpec } from "./support.ts";

let moduleDir: string;
let url: string;

beforeAll(async () => {
  moduleDir = await mkdtemp(path.join(tmpdir(), "meshwasm-modules-"));
  const file = path.join(moduleDir, "add-header.wasm");
  await writeFile(file, await addHeaderWasm());
  url = pathToFileURL(file).href;
}, 120_000);

afterAll(async () => {
  await rm(moduleDir, { recursive: true, force: true });
});

function plugin(name: string, spec: Partial<PluginSpec> = {}): string {
  return wasmPluginYaml({ name, url, pluginConfig: orderConfig(name), ...spec });
}

async function withPlugins(files: Record<string, string>, opts: Parameters<typeof startPluginHarness>[1], body: (h: PluginHarness) => Promise<void>): Promise<void> {
  const h = await startPluginHarness(files, opts);
  try {
    await body(h);
  } finally {
    await h.stop();
  }
}

describe("placement", () => {
  it("orders by phase, then priority highest first (unset last), ties by name", async () => {
    const files = {
      "a.yaml": plugin("stats-low", { phase: "STATS", priority: 1 }),
      "b.yaml": plugin("plain") + "---\n" + plugin("authz", { phase: "AUTHZ" }),
      "c.yaml": plugin("stats-high", { phase: "STATS", priority: 100 }),
      "d.yaml": plugin("authn", { phase: "AUTHN", priority: -7 }),
      "e.yaml": plugin("stats-unset", { phase: "STATS" }),
      "f.yaml": plugin("stats-high-b", { phase: "STATS", priority: 100 }),
    };
    await withPlugins(files, {}, async (h) => {
      const chain = ["authn", "authz", "stats-high", "stats-high-b", "stats-low", "stats-unset", "plain"];
      const r = await call(h.client);
      expect(r.error).toBeUndefined();
      expect(r.request).toEqual(chain);
      expect(r.response).toEqual([...chain].reverse());
      expect(h.harness.sidecar.plugins!.instances().map((i) => i.name).sort()).toEqual(chain.map((n) => `default.${n}`).sort());
    });
  }, 60_000);

  it("applies selectors to the --labels of the workload, and namespaces as istiod does", async () => {
    const files = {
      "p.yaml": [
        plugin("match", { selector: { app: "checkout" } }),
        plugin("mismatch", { selector: { app: "cart" } }),
        plugin("needs-more", { selector: { app: "checkout", tier: "gold" } }),
        plugin("mesh-wide", { namespace: "istio-system", priority: -1 }),
        plugin("other-ns", { namespace: "payments" }),
      ].join("---\n"),
    };
    await withPlugins(files, { labels: { app: "checkout", version: "v2" }, namespace: "default" }, async (h) => {
      // mesh-wide has priority -1, match none (after every set priority).
      const r = await call(h.client);
      expect(r.request).toEqual(["mesh-wide", "match"]);
    });
    await withPlugins(files, { labels: { app: "checkout", tier: "gold" }, namespace: "payments" }, async (h) => {
      // Manifests without a namespace are in the workload's namespace (here payments), as with kubectl -n.
      const r = await call(h.client);
      expect(r.request).toEqual(["mesh-wide", "match", "needs-more", "other-ns"]);
    });
  }, 60_000);

  it("matches modes and ports against the listener (direction and port)", async () => {
    const manifests = (port: number) => [
      plugin("server-this-port", { match: [{ mode: "SERVER", ports: [port] }] }),
      plugin("server-other-port", { match: [{ mode: "SERVER", ports: [port === 1 ? 2 : port - 1] }] }),
      plugin("client", { match: [{ mode: "CLIENT" }] }),
      plugin("any-mode-this-port", { match: [{ mode: "CLIENT" }, { ports: [port] }] }),
    ].join("---\n");
    for (const [direction, chain] of [["INBOUND", ["any-mode-this-port", "server-this-port"]], ["OUTBOUND", ["any-mode-this-port", "client"]]] as const) {
      await withPlugins({}, { direction }, async (h) => {
        // The listener's port is known once it is bound: write the plugins then, and apply them.
        await h.write("m.yaml", manifests(h.port));
        expect((await h.harness.sidecar.plugins!.reload()).ok).toBe(true);
        expect((await call(h.client)).request, direction).toEqual(chain);
      });
    }
  }, 60_000);

  it("delivers pluginConfig as the JSON the filter parses, and rejects a configuration the filter refuses", async () => {
    await withPlugins({ "p.yaml": plugin("cfg", { pluginConfig: { response_header_name: "x-configured", response_header_value: "from pluginConfig" } }) }, {}, async (h) => {
      const r = await call(h.client, "x-configured");
      expect(r.response).toEqual(["from pluginConfig"]);
    });
    // add-header's on_configure returns false on an unknown key: Envoy rejects the configuration
    // (config_fail) and, the filter having no configuration, answers every stream 500 (gRPC UNKNOWN).
    const lines: string[] = [];
    await withPlugins({ "p.yaml": plugin("bad", { pluginConfig: { colour: "blue" } }) }, { log: (l: string) => lines.push(l) }, async (h) => {
      const r = await call(h.client);
      expect(r.error?.code).toBe(grpc.status.UNKNOWN);
      expect(h.harness.counter("extension_config_discovery.http_filter.extensions.istio.io/wasmplugin/default.bad.config_fail")).toBe(1n);
      expect(lines.join("\n")).toMatch(
        /p\.yaml:1:1: Wasm plugin "default\.bad" .* failed to load: on_configure returned false \(plugin log: add-header: invalid configuration: unknown key 'colour'\); the configuration is rejected/,
      );
    });
  }, 60_000);
});
