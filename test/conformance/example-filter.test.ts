/**
 * The example filters end to end in the host, as built by `npm run build`
 * (build/filters/add-header.wasm, build/filters/noop.wasm; built into a temporary directory when
 * missing): headers added on request and response, the counter
 * `wasmcustom.example_requests_total` per stream, an invalid configuration rejected at
 * createPlugin, and the noop filter passing everything unchanged.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, buildFilters } from "../../manager/src/build/index.ts";
import { HeadersStatus } from "../../manager/src/sidecar/http/filter.ts";
import { PluginLoadError, createPlugin, createTestEnvironment, openTestStream } from "../../manager/src/sidecar/host/index.ts";
import { pluginConfig } from "./guest.ts";
import { REQUEST, RESPONSE } from "./hostcalls-run.ts";

const te = new TextEncoder();
let addHeader: Uint8Array;
let noop: Uint8Array;

beforeAll(async () => {
  let dir = path.join(REPO_ROOT, "build", "filters");
  if (!existsSync(path.join(dir, "add-header.wasm")) || !existsSync(path.join(dir, "noop.wasm"))) {
    const outDir = await mkdtemp(path.join(tmpdir(), "meshwasm-build-"));
    await buildFilters({ outDir, only: ["add-header", "noop"], measureSdk: false });
    dir = path.join(outDir, "filters");
  }
  addHeader = new Uint8Array(await readFile(path.join(dir, "add-header.wasm")));
  noop = new Uint8Array(await readFile(path.join(dir, "noop.wasm")));
}, 120_000);

describe("add-header", () => {
  it("adds the configured headers on request and response and counts each stream", async () => {
    const env = createTestEnvironment();
    const json = JSON.stringify({
      request_header_name: "x-mesh-request",
      request_header_value: "seen",
      response_header_name: "x-served-by",
      response_header_value: "meshwasm",
    });
    const p = await createPlugin(pluginConfig(addHeader, { name: "add-header", configuration: te.encode(json) }), env);
    for (let i = 1; i <= 3; i++) {
      const s = openTestStream(p);
      expect(s.sendRequestHeaders([...REQUEST, ["x-mesh-request", "earlier"]], true)).toBe(HeadersStatus.Continue);
      s.sendResponseHeaders(RESPONSE, true);
      s.complete();
      expect(s.upstream.headers?.getAll("x-mesh-request")).toEqual(["earlier", "seen"]);
      expect(s.downstream.headers?.get("x-served-by")).toBe("meshwasm");
      expect(env.stats.counter("wasmcustom.example_requests_total").value()).toBe(BigInt(i));
    }
    expect(p.workerVms()[0]!.failed).toBe(false);
  });

  it("accepts the key=value syntax, and adds the response header to local replies too", async () => {
    const env = createTestEnvironment();
    const cfg = "response_header_name=x-served-by; response_header_value=meshwasm";
    const p = await createPlugin(pluginConfig(addHeader, { configuration: te.encode(cfg) }), env);
    const s = openTestStream(p);
    s.sendRequestHeaders(REQUEST, true);
    s.sendLocalReply({ status: 404, body: "", details: "route_not_found" });
    expect(s.upstream.headers?.has("x-mesh-request")).toBe(false);
    expect(s.downstream.headers?.get("x-served-by")).toBe("meshwasm");
  });

  it.each([
    ["an unknown key", "color=blue"],
    ["a name without a value", "request_header_name=x-a"],
    ["nothing to add", ""],
    ["malformed JSON", "{"],
  ])("rejects %s at createPlugin with a PluginLoadError", async (_what, cfg) => {
    const err = await createPlugin(
      pluginConfig(addHeader, { name: "add-header", codeSource: "add-header.wasm", configuration: te.encode(cfg) }),
      createTestEnvironment(),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PluginLoadError);
    const e = err as PluginLoadError;
    expect(e.pluginName).toBe("add-header");
    // The plugin's own error log says why; the reason quotes it.
    expect(e.reason).toMatch(/^on_configure returned false \(plugin log: add-header: invalid configuration: .+\)$/);
    expect(e.message).toBe(`Wasm plugin "add-header" (add-header.wasm) failed to load: ${e.reason}`);
  });
});

describe("noop", () => {
  it("passes headers, bodies and trailers through unchanged", async () => {
    const env = createTestEnvironment();
    const p = await createPlugin(pluginConfig(noop), env);
    const s = openTestStream(p);
    expect(s.sendRequestHeaders(REQUEST)).toBe(HeadersStatus.Continue);
    s.sendRequestBody("request-body");
    s.sendRequestTrailers([["rq", "1"]]);
    s.sendResponseHeaders(RESPONSE);
    s.sendResponseBody("response-body");
    s.sendResponseTrailers([["grpc-status", "0"]]);
    s.complete();
    expect(s.upstream.headers?.pairs()).toEqual(REQUEST);
    expect(new TextDecoder().decode(s.upstream.body.toUint8Array())).toBe("request-body");
    expect(s.upstream.trailers?.pairs()).toEqual([["rq", "1"]]);
    expect(s.downstream.headers?.pairs()).toEqual(RESPONSE);
    expect(new TextDecoder().decode(s.downstream.body.toUint8Array())).toBe("response-body");
    expect(s.downstream.trailers?.pairs()).toEqual([["grpc-status", "0"]]);
    expect(s.upstream.endStream && s.downstream.endStream).toBe(true);
    expect(env.stats.counters().filter((c) => c.name.startsWith("wasmcustom."))).toEqual([]);
  });
});
