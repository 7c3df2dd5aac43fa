/**
 * The add-header example filter in the real proxy-wasm host: configuration accepted and rejected
 * at plugin creation, headers added on both paths, its counter, memory over many streams.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { compileAssemblyScript } from "../../../../manager/src/build/index.ts";
import {
  createPlugin,
  createTestEnvironment,
  openTestStream,
  PluginLoadError,
  testPluginConfig,
  type Plugin,
  type TestEnvironment,
} from "../../../../manager/src/sidecar/host/index.ts";
import type { WasmPluginConfig } from "../../../../manager/src/sidecar/config/model.ts";

let wasm: Uint8Array;
beforeAll(async () => {
  wasm = await compileAssemblyScript("filters/examples/add-header/assembly/index.ts", { target: "add-header" });
});

function pluginConfig(configuration: string): WasmPluginConfig {
  return testPluginConfig(wasm, {
    name: "add-header",
    rootId: "add-header",
    vmId: "",
    codeSource: "add-header.wasm",
    configuration: new TextEncoder().encode(configuration),
  });
}

async function configured(config: string, logLevel = 1): Promise<{ env: TestEnvironment; plugin: Plugin }> {
  const env = createTestEnvironment({ logLevel });
  return { env, plugin: await createPlugin(pluginConfig(config), env) };
}

const REQUEST: Array<[string, string]> = [
  [":method", "POST"],
  [":path", "/demo.Echo/Unary"],
  [":authority", "echo"],
  [":scheme", "http"],
  ["content-type", "application/grpc"],
];

/** One full stream; returns the request and response headers as they left the filter. */
function runStream(plugin: Plugin): { request: Array<[string, string]>; response: Array<[string, string]> } {
  const s = openTestStream(plugin);
  s.sendRequestHeaders(REQUEST, true);
  s.sendResponseHeaders([[":status", "200"], ["content-type", "application/grpc"]], true);
  s.complete();
  return { request: s.upstream.headers!.pairs(), response: s.downstream.headers!.pairs() };
}

const added = (all: Array<[string, string]>, base: Array<[string, string]>) =>
  all.filter(([k, v]) => !base.some(([bk, bv]) => bk === k && bv === v));

const counter = (env: TestEnvironment) => env.stats.find("wasmcustom.example_requests_total") as { value(): bigint } | undefined;

describe("add-header configuration", () => {
  const accepted = [
    { name: "JSON, both headers", config: '{"request_header_name":"X-Req","request_header_value":"a","response_header_name":"x-served-by","response_header_value":"meshwasm"}', req: [["x-req", "a"]], resp: [["x-served-by", "meshwasm"]] },
    { name: "JSON with escapes and spaces", config: ' { "response_header_name" : "x-q", "response_header_value" : "say \\"hi\\" \\u00e9" } ', req: [], resp: [["x-q", 'say "hi" é']] },
    { name: "key=value with ';' and comments", config: "# example\nresponse_header_name = x-served-by ; response_header_value=meshwasm\n", req: [], resp: [["x-served-by", "meshwasm"]] },
    { name: "request header only, empty value", config: "request_header_name=x-flag\nrequest_header_value=", req: [["x-flag", ""]], resp: [] },
  ];
  for (const c of accepted) {
    it(`accepts ${c.name}`, async () => {
      const { plugin } = await configured(c.config);
      const { request, response } = runStream(plugin);
      expect(added(request, REQUEST)).toEqual(c.req);
      expect(added(response, [[":status", "200"], ["content-type", "application/grpc"]])).toEqual(c.resp);
      await plugin.close();
    });
  }

  const rejected = [
    { name: "empty configuration", config: "" },
    { name: "unknown key", config: "response_header_name=x-a;response_header_value=b;colour=red" },
    { name: "name without value", config: "response_header_name=x-a" },
    { name: "value without name", config: '{"request_header_value":"v"}' },
    { name: "pseudo-header name", config: "request_header_name=:path;request_header_value=/x" },
    { name: "space in header name", config: "request_header_name=x a;request_header_value=v" },
    { name: "newline in value", config: '{"request_header_name":"x-a","request_header_value":"a\\nb"}' },
    { name: "non-string JSON value", config: '{"request_header_name":"x-a","request_header_value":1}' },
    { name: "duplicate key", config: "request_header_name=x-a;request_header_name=x-b;request_header_value=v" },
    { name: "malformed JSON", config: '{"request_header_name":"x-a",' },
    { name: "trailing garbage after JSON", config: '{"request_header_name":"x-a","request_header_value":"v"} x' },
    { name: "line without '='", config: "request_header_name x-a" },
  ];
  for (const c of rejected) {
    it(`rejects ${c.name} when the plugin is created`, async () => {
      const env = createTestEnvironment();
      const err = await createPlugin(pluginConfig(c.config), env).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PluginLoadError);
      expect((err as PluginLoadError).reason).toMatch(/on_configure returned false/);
      // The filter says why, at error level, as Envoy shows it in its log.
      expect(env.logs.some((l) => l.level === 4 && l.line.includes("add-header: invalid configuration: "))).toBe(true);
    });
  }
});

describe("add-header traffic", () => {
  const config = "request_header_name=x-req;request_header_value=1;response_header_name=x-resp;response_header_value=2";

  it("counts every request in example_requests_total and logs at debug only when enabled", async () => {
    const { env, plugin } = await configured(config, 1);
    for (let i = 0; i < 10; i++) runStream(plugin);
    expect(counter(env)?.value()).toBe(10n);
    expect(env.logs.filter((l) => l.level === 1 && l.line.endsWith("add-header: added request header x-req"))).toHaveLength(10);

    const quiet = await configured(config, 2);
    runStream(quiet.plugin);
    expect(quiet.env.logs.filter((l) => l.line.includes("add-header: added"))).toHaveLength(0);
    expect(counter(quiet.env)?.value()).toBe(1n);
  });

  it("keeps memory flat over many streams (the SDK collects garbage between callbacks)", async () => {
    const { env, plugin } = await configured(config);
    const memoryBytes = () => plugin.workerVms()[0]!.exportedMemory().buffer.byteLength;
    for (let i = 0; i < 500; i++) runStream(plugin);
    const warm = memoryBytes();
    for (let i = 0; i < 4500; i++) runStream(plugin);
    expect(memoryBytes()).toBe(warm);
    expect(counter(env)?.value()).toBe(5000n);
  });

  it("continues streams it has no context for (unknown ids never trap)", async () => {
    const { plugin } = await configured(config);
    const exports = plugin.workerVms()[0]!.instanceExports() as Record<string, (...a: number[]) => number>;
    expect(exports.proxy_on_request_headers!(99, 1, 1)).toBe(0);
    expect(exports.proxy_on_request_body!(99, 1, 1)).toBe(0);
    exports.proxy_on_delete!(99);
    expect(plugin.workerVms()[0]!.failed).toBe(false);
  });
});
