/**
 * `--plugins` fetching modules as istio-agent does, end to end with @grpc/grpc-js: http:// from a
 * local server with the right and a wrong sha256, gzip unboxing, 5xx retries, 404 / not Wasm /
 * unreachable; a failed fetch under FAIL_OPEN (skipped: traffic flows without the plugin) and
 * FAIL_CLOSE (the agent's deny-all RBAC filter: gRPC PERMISSION_DENIED), the agent's
 * `wasm_remote_fetch_count{result}` and cache counters, and the digest-keyed cache on reload.
 */
import * as grpc from "@grpc/grpc-js";
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addHeaderWasm, call, orderConfig, startPluginHarness, wasmPluginYaml, type PluginHarness } from "./support.ts";
import { freePort } from "../support/registry.ts";

let server: Server;
let base: string;
let wasm: Uint8Array;
let sha: string;
const hits = new Map<string, number>();

beforeAll(async () => {
  wasm = await addHeaderWasm();
  sha = createHash("sha256").update(wasm).digest("hex");
  server = createServer((req, res) => {
    const path = req.url ?? "/";
    const n = (hits.get(path) ?? 0) + 1;
    hits.set(path, n);
    if (path === "/add-header.wasm") return res.end(wasm);
    if (path === "/add-header.wasm.gz") return res.end(gzipSync(wasm));
    if (path === "/flaky.wasm") {
      if (n <= 2) return res.writeHead(503).end("busy");
      return res.end(wasm);
    }
    if (path === "/text") return res.end("this is not a Wasm module");
    res.writeHead(404).end("not found");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 120_000);

afterAll(async () => {
  await new Promise((r) => server.close(r));
});

const FAST = { http: { initialBackoffMs: 10, timeoutMs: 5000 } };

async function withPlugin(spec: Parameters<typeof wasmPluginYaml>[0], body: (h: PluginHarness) => Promise<void>): Promise<void> {
  const h = await startPluginHarness({ "p.yaml": wasmPluginYaml(spec) }, FAST);
  try {
    await body(h);
  } finally {
    await h.stop();
  }
}

const fetches = (h: PluginHarness, result: string) => h.harness.sidecar.plugins!.metrics.value("wasm_remote_fetch_count", { result });

describe("http(s):// modules", () => {
  it("with the right sha256: fetched once, counted success, the plugin runs; a reload hits the cache", async () => {
    hits.clear();
    await withPlugin({ name: "ok", url: `${base}/add-header.wasm`, sha256: sha, pluginConfig: orderConfig("ok") }, async (h) => {
      expect((await call(h.client)).request).toEqual(["ok"]);
      expect(fetches(h, "success")).toBe(1);
      const metrics = h.harness.sidecar.plugins!.metrics;
      expect(metrics.value("wasm_config_conversion_count", { result: "success" })).toBe(1);
      expect(metrics.value("wasm_cache_lookup_count", { hit: "false" })).toBe(1);
      // A changed pluginConfig: same module, found in the cache by (url, sha256).
      await h.write("p.yaml", wasmPluginYaml({ name: "ok", url: `${base}/add-header.wasm`, sha256: sha, pluginConfig: orderConfig("ok-2") }));
      expect((await h.harness.sidecar.plugins!.reload()).ok).toBe(true);
      expect((await call(h.client)).request).toEqual(["ok-2"]);
      expect(hits.get("/add-header.wasm")).toBe(1);
      expect(fetches(h, "success")).toBe(1);
      expect(metrics.value("wasm_cache_lookup_count", { hit: "true" })).toBe(1);
      expect(metrics.render()).toContain('istio_agent_wasm_remote_fetch_count{result="success"} 1\n');
      expect(metrics.render()).toContain("istio_agent_wasm_cache_entries 1\n");
    });
  }, 60_000);

  it("unboxes a gzip body and checks the sha256 of the module inside", async () => {
    await withPlugin({ name: "gz", url: `${base}/add-header.wasm.gz`, sha256: sha, pluginConfig: orderConfig("gz") }, async (h) => {
      expect((await call(h.client)).request).toEqual(["gz"]);
    });
  }, 60_000);

  it("retries a 5xx and succeeds on the third attempt", async () => {
    hits.delete("/flaky.wasm");
    await withPlugin({ name: "flaky", url: `${base}/flaky.wasm`, pluginConfig: orderConfig("flaky") }, async (h) => {
      expect(hits.get("/flaky.wasm")).toBe(3);
      expect((await call(h.client)).request).toEqual(["flaky"]);
    });
  }, 60_000);

  it("a wrong sha256 under FAIL_CLOSE: deny-all, gRPC PERMISSION_DENIED, counted checksum_mismatched", async () => {
    const lines: string[] = [];
    const h = await startPluginHarness({ "p.yaml": wasmPluginYaml({ name: "pinned", url: `${base}/add-header.wasm`, sha256: "0".repeat(64), pluginConfig: orderConfig("x") }) }, { ...FAST, admin: true, log: (l) => lines.push(l) });
    try {
      for (let i = 0; i < 2; i++) {
        const r = await call(h.client);
        expect(r.error?.code).toBe(grpc.status.PERMISSION_DENIED);
        expect(r.error?.details).toBe("RBAC: access denied");
      }
      expect(h.harness.backends[0]!.calls).toHaveLength(0);
      expect(fetches(h, "checksum_mismatched")).toBe(1);
      expect(h.harness.sidecar.plugins!.metrics.value("wasm_config_conversion_count", { result: "fetch_failure" })).toBe(1);
      expect(h.harness.counter("http.ingress_http.rbac.wasm-default-denydenied")).toBe(2n);
      expect(h.harness.sidecar.plugins!.instances()).toMatchObject([{ name: "default.pinned", kind: "deny" }]);
      // Served with the sidecar's stats, as istio-agent's merged :15020/stats/prometheus serves them.
      const scrape = await (await fetch(`http://127.0.0.1:${h.harness.sidecar.adminPort}/stats/prometheus`)).text();
      expect(scrape).toContain('istio_agent_wasm_remote_fetch_count{result="checksum_mismatched"} 1\n');
      expect(scrape).toContain('envoy_http_rbac_wasm_default_denydenied{envoy_http_conn_manager_prefix="ingress_http"} 2\n');
      expect(lines.join("\n")).toContain(`default.pinned: error in converting the wasm config to local: module downloaded from ${base}/add-header.wasm has checksum ${sha}, which does not match: ${"0".repeat(64)}. applying deny RBAC filter`);
    } finally {
      await h.stop();
    }
  }, 60_000);

  it("a 404 under FAIL_OPEN: the plugin is skipped and traffic flows, counted download_failure", async () => {
    hits.delete("/missing.wasm");
    await withPlugin({ name: "gone", url: `${base}/missing.wasm`, failStrategy: "FAIL_OPEN", pluginConfig: orderConfig("gone") }, async (h) => {
      const r = await call(h.client);
      expect(r.error).toBeUndefined();
      expect(r.reply?.message).toBe("hi");
      expect(r.request).toEqual([]);
      expect(hits.get("/missing.wasm")).toBe(1); // a 4xx is not retried
      expect(fetches(h, "download_failure")).toBe(1);
      expect(h.harness.counter("http.ingress_http.rbac.wasm-default-allowallowed")).toBe(1n);
    });
  }, 60_000);

  it("a body that is not Wasm under FAIL_RELOAD: deny-all (only runtime errors reload), counted fetch_failure", async () => {
    await withPlugin({ name: "text", url: `${base}/text`, failStrategy: "FAIL_RELOAD" }, async (h) => {
      expect((await call(h.client)).error?.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(fetches(h, "fetch_failure")).toBe(1);
    });
  }, 60_000);

  it("an unreachable server under FAIL_CLOSE: five attempts, then deny-all, counted download_failure", async () => {
    const port = await freePort();
    await withPlugin({ name: "nowhere", url: `http://127.0.0.1:${port}/x.wasm` }, async (h) => {
      expect((await call(h.client)).error?.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(fetches(h, "download_failure")).toBe(1);
    });
  }, 60_000);
});
