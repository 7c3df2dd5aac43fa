/**
 * The grpc-hello example filter in the real proxy-wasm host: configuration accepted and rejected
 * with path-precise errors, denial, message counting across chunkings, final statuses, the peer
 * header from a property, the shared count under CAS conflicts and across workers, the tick.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { compileCached } from "../../../../test/support/compile-cache.ts";
import {
  createPlugin,
  createTestEnvironment,
  openTestStream,
  PluginLoadError,
  testPluginConfig,
  type Plugin,
  type TestEnvironment,
} from "../../../../manager/src/sidecar/host/index.ts";
import { StreamInfo } from "../../../../manager/src/sidecar/http/stream-info.ts";

export const GRPC_HELLO_ENTRY = "filters/examples/grpc-hello/assembly/index.ts";
const SHARED_KEY = "grpc_hello.rpcs";

let wasm: Uint8Array;
beforeAll(async () => {
  wasm = await compileCached(GRPC_HELLO_ENTRY, { target: "grpc-hello" });
});

async function configured(configuration: string, opts: { concurrency?: number } = {}): Promise<{ env: TestEnvironment; plugin: Plugin }> {
  const env = createTestEnvironment({ concurrency: opts.concurrency });
  const config = testPluginConfig(wasm, {
    name: "grpc-hello", rootId: "", vmId: "hello", configuration: new TextEncoder().encode(configuration),
  });
  return { env, plugin: await createPlugin(config, env) };
}

/** A gRPC length-prefixed message of `n` payload bytes. */
const frame = (n: number, fill = 0x61) => Buffer.concat([Buffer.from([0, 0, 0, 0, n]), Buffer.alloc(n, fill)]);

function request(method = "/meshtest.Echo/Unary"): Array<[string, string]> {
  return [[":method", "POST"], [":path", method], [":authority", "echo"], [":scheme", "http"],
    ["content-type", "application/grpc"], ["te", "trailers"]];
}

const RESPONSE: Array<[string, string]> = [[":status", "200"], ["content-type", "application/grpc"]];

/** Splits `bytes` at the given cut points. */
function chunks(bytes: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.filter((c) => c > 0 && c < bytes.length))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...at, bytes.length]) {
    out.push(bytes.subarray(prev, c));
    prev = c;
  }
  return out;
}

interface Rpc {
  method?: string;
  requestBody?: Buffer[];
  responseBody?: Buffer[];
  trailers?: Array<[string, string]>;
  responseHeaders?: Array<[string, string]>;
  streamInfo?: StreamInfo;
}

function runRpc(plugin: Plugin, rpc: Rpc) {
  const s = openTestStream(plugin, { streamInfo: rpc.streamInfo });
  const req = rpc.requestBody ?? [frame(3)];
  s.sendRequestHeaders(request(rpc.method), false);
  req.forEach((c, i) => s.sendRequestBody(c, i === req.length - 1));
  if (!s.localReply) {
    const body = rpc.responseBody ?? [frame(4)];
    s.sendResponseHeaders(rpc.responseHeaders ?? RESPONSE, false);
    body.forEach((c) => s.sendResponseBody(c, false));
    s.sendResponseTrailers(rpc.trailers ?? [["grpc-status", "0"]]);
  }
  s.complete();
  return s;
}

const value = (env: TestEnvironment, name: string) => {
  const m = env.stats.find(`wasmcustom.${name}`) as { value(): bigint } | undefined;
  return m?.value();
};
const rpcs = (env: TestEnvironment, service: string, method: string, code: string) =>
  value(env, `grpc_service=.=${service};.;grpc_method=.=${method};.;grpc_code=.=${code};.;grpc_hello_rpcs_total`);
const messages = (env: TestEnvironment, method: string, direction: string) =>
  value(env, `grpc_service=.=meshtest.Echo;.;grpc_method=.=${method};.;direction=.=${direction};.;grpc_hello_messages_total`);

describe("grpc-hello configuration", () => {
  it.each([
    ["empty (Istio sends no bytes without pluginConfig)", ""],
    ["{}", "{}"],
    ["every field", '{"deny_methods":["a.B/C","meshtest.Echo/Bidi"],"deny_message":"no","peer_header":"","max_series":5,"tick_ms":0}'],
  ])("accepts %s", async (_name, config) => {
    const { env, plugin } = await configured(config);
    expect(env.logLines().some((l) => l.includes("grpc-hello: configured"))).toBe(true);
    await plugin.close();
  });

  it.each([
    ["not JSON", "deny_methods=a", /invalid JSON: /],
    ["not an object", "[1]", /^.*: expected object, got array/],
    ["unknown field", '{"deny_method":["a.B/C"]}', /deny_method: unknown field \(known: deny_methods, deny_message, peer_header, max_series, tick_ms\)/],
    ["method of the wrong type", '{"deny_methods":["a.B/C",7]}', /^deny_methods\[1\]: expected string, got number$/],
    ["several errors, all reported", '{"colour":1,"deny_methods":["bad","a.B/C",true]}', /^colour: unknown field .* \(and 2 more errors\)$/],
    ["malformed method", '{"deny_methods":["a.B/C","/a.B/C"]}', /deny_methods\[1\]: expected "package.Service\/Method"/],
    ["method without service", '{"deny_methods":["Method"]}', /deny_methods\[0\]: expected "package.Service\/Method"/],
    ["upper-case header", '{"peer_header":"X-Peer"}', /peer_header: expected a lower-case header name or ""/],
    ["pseudo-header", '{"peer_header":":path"}', /peer_header: expected a lower-case header name/],
    ["series bound out of range", '{"max_series":0}', /max_series: expected integer in \[1, 10000\]/],
    ["fractional tick", '{"tick_ms":1.5}', /tick_ms: expected integer/],
  ])("rejects %s at load time, naming the field", async (_name, config, message) => {
    const env = createTestEnvironment();
    const err = await createPlugin(testPluginConfig(wasm, { name: "grpc-hello", rootId: "", configuration: new TextEncoder().encode(config) }), env)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PluginLoadError);
    const line = env.logs.find((l) => l.level === 4 && l.line.includes("grpc-hello: invalid configuration: "))?.line ?? "";
    expect(line.slice(line.indexOf("invalid configuration: ") + 23)).toMatch(message);
  });
});

describe("grpc-hello traffic", () => {
  it("counts RPCs by final status and messages by direction, and passes the peer address upstream", async () => {
    const { env, plugin } = await configured('{"peer_header":"x-hello-peer"}');
    const streamInfo = new StreamInfo({ wallMs: 0, monoNs: 0n });
    streamInfo.downstreamRemoteAddress = { address: "10.1.2.3", port: 40000 };
    const s = runRpc(plugin, { streamInfo, requestBody: [Buffer.concat([frame(2), frame(0), frame(300)])] });
    expect(s.upstream.headers!.get("x-hello-peer")).toBe("10.1.2.3:40000");
    runRpc(plugin, { trailers: [["grpc-status", "5"], ["grpc-message", "gone"]] });
    runRpc(plugin, { method: "/meshtest.Echo/ServerStream", responseBody: [frame(1), frame(2), frame(3)] });
    // Trailers-only error from the upstream (no response body): status from the headers.
    const s2 = openTestStream(plugin);
    s2.sendRequestHeaders(request(), false);
    s2.sendRequestBody(frame(1), true);
    s2.sendResponseHeaders([...RESPONSE, ["grpc-status", "14"]], true);
    s2.complete();

    expect(rpcs(env, "meshtest.Echo", "Unary", "OK")).toBe(1n);
    expect(rpcs(env, "meshtest.Echo", "Unary", "NOT_FOUND")).toBe(1n);
    expect(rpcs(env, "meshtest.Echo", "Unary", "UNAVAILABLE")).toBe(1n);
    expect(rpcs(env, "meshtest.Echo", "ServerStream", "OK")).toBe(1n);
    expect(messages(env, "Unary", "request")).toBe(3n + 1n + 1n);
    expect(messages(env, "Unary", "response")).toBe(2n);
    expect(messages(env, "ServerStream", "response")).toBe(3n);
    await plugin.close();
  });

  it("counts every message whatever the chunking (random cuts)", async () => {
    const { env, plugin } = await configured("{}");
    const body = Buffer.concat([frame(0), frame(7), frame(40), frame(1), frame(200)]);
    let runs = 0;
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: body.length - 1 }), { maxLength: 12 }), (cuts) => {
      runRpc(plugin, { method: "/meshtest.Echo/ClientStream", requestBody: chunks(body, cuts), responseBody: chunks(frame(9), cuts) });
      runs++;
    }), { numRuns: 200 });
    expect(messages(env, "ClientStream", "request")).toBe(BigInt(5 * runs));
    expect(messages(env, "ClientStream", "response")).toBe(BigInt(runs));
    expect(rpcs(env, "meshtest.Echo", "ClientStream", "OK")).toBe(BigInt(runs));
    await plugin.close();
  });

  it("denies a configured method with a trailers-only PERMISSION_DENIED, before the upstream", async () => {
    const { env, plugin } = await configured('{"deny_methods":["meshtest.Echo/Bidi"],"deny_message":"Bidi is closed"}');
    const s = runRpc(plugin, { method: "/meshtest.Echo/Bidi" });
    expect(s.upstream.headers).toBeUndefined();
    expect(s.localReply).toMatchObject({ grpcStatus: 7, status: 403, details: "grpc_hello_denied" });
    const h = s.downstream.headers!;
    expect([h.get(":status"), h.get("grpc-status"), h.get("content-type")]).toEqual(["200", "7", "application/grpc"]);
    expect(value(env, "grpc_hello_denied_total")).toBe(1n);
    expect(rpcs(env, "meshtest.Echo", "Bidi", "PERMISSION_DENIED")).toBe(1n);
    runRpc(plugin, { method: "/meshtest.Echo/Unary" });
    expect(value(env, "grpc_hello_denied_total")).toBe(1n);
    await plugin.close();
  });

  it("passes through what is not gRPC, and counts it", async () => {
    const { env, plugin } = await configured('{"deny_methods":["meshtest.Echo/Unary"]}');
    for (const headers of [
      [[":method", "GET"], [":path", "/meshtest.Echo/Unary"], [":authority", "a"]],
      [[":method", "POST"], [":path", "/meshtest.Echo/Unary"], [":authority", "a"], ["content-type", "application/grpc-web"]],
      [[":method", "POST"], [":path", "/no-method"], [":authority", "a"], ["content-type", "application/grpc"]],
    ] as Array<Array<[string, string]>>) {
      const s = openTestStream(plugin);
      s.sendRequestHeaders(headers, true);
      expect(s.localReply).toBeUndefined();
      expect(s.upstream.headers).toBeDefined();
      s.sendResponseHeaders([[":status", "200"]], true);
      s.complete();
    }
    expect(value(env, "grpc_hello_passthrough_total")).toBe(3n);
    expect(value(env, "grpc_hello_denied_total") ?? 0n).toBe(0n);
    await plugin.close();
  });

  it("an RPC reset before any response is counted as NO_STATUS", async () => {
    const { env, plugin } = await configured("{}");
    const s = openTestStream(plugin);
    s.sendRequestHeaders(request(), false);
    s.resetStream("downstream_remote_disconnect");
    s.complete();
    expect(rpcs(env, "meshtest.Echo", "Unary", "NO_STATUS")).toBe(1n);
    await plugin.close();
  });

  it("bounds the series: methods beyond max_series are counted under \"other\"", async () => {
    const { env, plugin } = await configured('{"max_series":2}');
    for (const m of ["A", "B", "C", "D"]) runRpc(plugin, { method: `/meshtest.Echo/${m}` });
    expect(rpcs(env, "meshtest.Echo", "A", "OK")).toBe(1n);
    expect(rpcs(env, "meshtest.Echo", "B", "OK")).toBe(1n);
    expect(rpcs(env, "other", "other", "OK")).toBe(2n);
    await plugin.close();
  });

  it("keeps memory flat over many RPCs", async () => {
    const { plugin } = await configured("{}");
    const memoryBytes = () => plugin.workerVms()[0]!.exportedMemory().buffer.byteLength;
    for (let i = 0; i < 300; i++) runRpc(plugin, { trailers: [["grpc-status", String(i % 17)]] });
    const warm = memoryBytes();
    for (let i = 0; i < 3000; i++) runRpc(plugin, { trailers: [["grpc-status", String(i % 17)]] });
    expect(memoryBytes()).toBe(warm);
    await plugin.close();
  });
});

describe("grpc-hello shared count and tick", () => {
  it("all workers add to one count in shared data; each tick publishes it", async () => {
    const { env, plugin } = await configured('{"tick_ms":1000}', { concurrency: 2 });
    expect(plugin.workerVms()).toHaveLength(2);
    for (let i = 0; i < 9; i++) runRpc(plugin, {});
    const stored = env.shared.data.get("hello", SHARED_KEY);
    expect(Buffer.from(stored.value!).readBigUInt64LE(0)).toBe(9n);
    expect(value(env, "grpc_hello_shared_rpcs") ?? 0n).toBe(0n);
    env.clock.advance(1000);
    expect(value(env, "grpc_hello_shared_rpcs")).toBe(9n);
    await plugin.close();
  });

  it("retries on CAS conflicts, and gives up (counted) when another writer always wins", async () => {
    const { env, plugin } = await configured("{}");
    const data = env.shared.data;
    const realGet = data.get.bind(data);
    let interfere = 0;
    // Another worker writes between this VM's read and its CAS write, `interfere` times.
    data.get = (vmId: string, key: string) => {
      const r = realGet(vmId, key);
      if (key === SHARED_KEY && interfere > 0) {
        interfere--;
        const next = Buffer.alloc(8);
        next.writeBigUInt64LE(Buffer.from(r.value!).readBigUInt64LE(0) + 100n);
        data.set(vmId, key, next, 0);
      }
      return r;
    };
    const count = () => Buffer.from(realGet("hello", SHARED_KEY).value!).readBigUInt64LE(0);
    interfere = 3;
    runRpc(plugin, {});
    expect(count()).toBe(301n); // three writes of the other worker, then ours
    expect(value(env, "grpc_hello_shared_conflicts_total") ?? 0n).toBe(0n);
    interfere = 1000;
    runRpc(plugin, {});
    expect(value(env, "grpc_hello_shared_conflicts_total")).toBe(1n);
    expect(count()).toBe(301n + 16n * 100n); // 16 attempts, each lost to the other writer
    await plugin.close();
  });
});
