/**
 * `--plugins` picks up a changed directory without a restart, as an ECDS update: new streams run
 * on a new plugin instance while a stream already in flight finishes on the old one, which is
 * closed after it. An invalid directory is rejected and the running plugins stay; a removed
 * manifest removes its plugin. End to end with @grpc/grpc-js (a bidi stream held open across
 * the update).
 */
import * as grpc from "@grpc/grpc-js";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EchoReply } from "../support/grpc-echo.ts";
import { addHeaderWasm, call, startPluginHarness, wasmPluginYaml } from "./support.ts";

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

const versioned = (v: string) =>
  wasmPluginYaml({ name: "versioned", url, pluginConfig: { request_header_name: "x-version", request_header_value: v, response_header_name: "x-version", response_header_value: v } });

describe("a changed --plugins directory", () => {
  it("applies to new streams while an in-flight stream finishes on the old instance", async () => {
    const h = await startPluginHarness({ "p.yaml": versioned("v1") });
    const set = h.harness.sidecar.plugins!;
    try {
      expect((await call(h.client, "x-version")).response).toEqual(["v1"]);

      // A bidi stream opened on v1: its request headers went through the v1 instance.
      const bidi = h.client.Bidi();
      const responseVersion = new Promise<string[]>((resolve) => bidi.on("metadata", (md: grpc.Metadata) => resolve(md.get("x-version").map(String))));
      const replies: EchoReply[] = [];
      bidi.on("data", (r: EchoReply) => replies.push(r));
      const ended = new Promise<void>((resolve) => bidi.on("status", () => resolve()));
      const deadline = Date.now() + 5000;
      while (!h.harness.backends[0]!.calls.some((c) => c.method === "Bidi") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      const [v1] = set.instances();
      expect(v1).toMatchObject({ name: "default.versioned", generation: 1, state: "active", inFlight: 1 });

      // The update, picked up by the directory watcher.
      const applied = set.nextReload();
      await h.write("p.yaml", versioned("v2"));
      expect(await applied).toMatchObject({ ok: true, generation: 2, plugins: ["default.versioned"] });
      const unary = await call(h.client, "x-version");
      expect(unary.request).toEqual(["v2"]);
      expect(unary.response).toEqual(["v2"]);
      expect(set.instances().map((i) => [i.generation, i.state, i.inFlight])).toEqual([[1, "draining", 1], [2, "active", 0]]);

      // The old stream goes on, on the old instance: its response headers come from v1.
      bidi.write({ message: "still here" });
      expect(await responseVersion).toEqual(["v1"]);
      bidi.end();
      await ended;
      expect(replies.map((r) => [r.message, r.headers["x-version"]])).toEqual([["still here", "v1"]]);
      await new Promise((r) => setTimeout(r, 50));
      expect(set.instances().map((i) => [i.generation, i.state])).toEqual([[2, "active"]]);
      expect(h.harness.counter("extension_config_discovery.http_filter.extensions.istio.io/wasmplugin/default.versioned.config_reload")).toBe(2n);
    } finally {
      await h.stop();
    }
  }, 60_000);

  it("keeps the running plugins when the new directory is invalid, and drops a removed plugin", async () => {
    const lines: string[] = [];
    const h = await startPluginHarness({ "p.yaml": versioned("v1") }, { log: (l) => lines.push(l) });
    const set = h.harness.sidecar.plugins!;
    try {
      let next = set.nextReload();
      await h.write("p.yaml", versioned("v2").replace("spec:", "spec:\n  phase: LATE"));
      const rejected = await next;
      expect(rejected.ok).toBe(false);
      expect(rejected.error).toMatch(/p\.yaml:6:10: spec\.phase: Unsupported value: "LATE"/);
      expect(rejected.generation).toBe(1);
      expect((await call(h.client, "x-version")).response).toEqual(["v1"]);
      expect(lines.join("\n")).toMatch(/update rejected, keeping generation 1: .*spec\.phase: Unsupported value/);

      // A configuration the plugin refuses (on_configure false) is rejected the same way.
      next = set.nextReload();
      await h.write("p.yaml", wasmPluginYaml({ name: "versioned", url, pluginConfig: { colour: "blue" } }));
      expect(await next).toMatchObject({ ok: false, error: expect.stringMatching(/on_configure returned false/) });
      expect((await call(h.client, "x-version")).response).toEqual(["v1"]);

      next = set.nextReload();
      await h.remove("p.yaml");
      expect(await next).toMatchObject({ ok: true, plugins: [] });
      const r = await call(h.client, "x-version");
      expect(r.error).toBeUndefined();
      expect(r.response).toEqual([]);
      await new Promise((res) => setTimeout(res, 50));
      expect(set.instances()).toEqual([]);
    } finally {
      await h.stop();
    }
  }, 60_000);

  it("refuses to start on an invalid directory with one line naming file:line:col and the field", async () => {
    await expect(startPluginHarness({ "bad.yaml": versioned("v1").replace("spec:", "spec:\n  priority: high") })).rejects.toThrow(
      /bad\.yaml:6:13: spec\.priority: Invalid value: "high": must be of type integer$/,
    );
  }, 60_000);
});
