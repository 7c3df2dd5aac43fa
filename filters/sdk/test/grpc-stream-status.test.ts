/**
 * GrpcStreamStatus and sendGrpcError (filters/sdk/grpc-status.ts) in the real proxy-wasm host:
 * the test guest (harness/grpc-status-guest.as.ts) tracks each stream's final status and logs it
 * after response headers, trailers and in onLog; request headers make it send a gRPC error.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { compileAssemblyScript } from "../../../manager/src/build/index.ts";
import {
  createPlugin,
  createTestEnvironment,
  openTestStream,
  testPluginConfig,
  type Plugin,
  type TestEnvironment,
  type TestStream,
} from "../../../manager/src/sidecar/host/index.ts";

export const STATUS_GUEST = "filters/sdk/test/harness/grpc-status-guest.as.ts";

let wasm: Uint8Array;
beforeAll(async () => {
  wasm = await compileAssemblyScript(STATUS_GUEST);
});

async function plugin(): Promise<{ env: TestEnvironment; plugin: Plugin }> {
  const env = createTestEnvironment();
  return { env, plugin: await createPlugin(testPluginConfig(wasm, { name: "status-guest", rootId: "" }), env) };
}

const GRPC_REQUEST: Array<[string, string]> = [
  [":method", "POST"], [":path", "/demo.Echo/Unary"], [":authority", "echo"], [":scheme", "http"],
  ["content-type", "application/grpc"], ["te", "trailers"],
];
const GRPC_RESPONSE: Array<[string, string]> = [[":status", "200"], ["content-type", "application/grpc"]];

/** The guest's report lines for one phase, parsed. */
function reports(env: TestEnvironment, phase: string) {
  return env.logLines()
    .map((l) => l.slice(l.indexOf(": ") + 2)) // "wasm log <plugin> <vm>: " prefix
    .filter((l) => l.startsWith(phase + " "))
    .map((l) => {
      const m = /^\w+ code=(-?\d+) source=(\d) http=(\d+) message=(.*) late_status=(.*)$/.exec(l)!;
      return { code: Number(m[1]), source: Number(m[2]), http: Number(m[3]), message: m[4] === "-" ? null : m[4], late: m[5] };
    });
}

const NONE = 0, TRAILERS = 1, HEADERS = 2, HTTP = 3;

describe("GrpcStreamStatus resolves the final status in Envoy's order", () => {
  type Case = {
    name: string;
    headers: Array<[string, string]>;
    trailers?: Array<[string, string]>;
    atHeaders: { code: number; source: number };
    final: { code: number; source: number; http: number; message: string | null };
  };
  const cases: Case[] = [
    { name: "OK in trailers (provisional UNKNOWN from HTTP 200 until then)", headers: GRPC_RESPONSE, trailers: [["grpc-status", "0"]],
      atHeaders: { code: 2, source: HTTP }, final: { code: 0, source: TRAILERS, http: 200, message: null } },
    { name: "error in trailers with a percent-encoded message", headers: GRPC_RESPONSE,
      trailers: [["grpc-status", "5"], ["grpc-message", "caf%C3%A9%20gone"]],
      atHeaders: { code: 2, source: HTTP }, final: { code: 5, source: TRAILERS, http: 200, message: "café gone" } },
    { name: "trailers-only response", headers: [...GRPC_RESPONSE, ["grpc-status", "16"], ["grpc-message", "no token"]],
      atHeaders: { code: 16, source: HEADERS }, final: { code: 16, source: HEADERS, http: 200, message: "no token" } },
    { name: "trailers-only with \" 007\" (absl::SimpleAtoi)", headers: [...GRPC_RESPONSE, ["grpc-status", " 007"]],
      atHeaders: { code: 7, source: HEADERS }, final: { code: 7, source: HEADERS, http: 200, message: null } },
    { name: "unparsable grpc-status is InvalidCode", headers: GRPC_RESPONSE, trailers: [["grpc-status", "abc"], ["grpc-message", "m"]],
      atHeaders: { code: 2, source: HTTP }, final: { code: -1, source: TRAILERS, http: 200, message: "m" } },
    { name: "trailers without grpc-status fall back to the headers'", headers: [...GRPC_RESPONSE, ["grpc-status", "3"]],
      trailers: [["x-other", "1"]], atHeaders: { code: 3, source: HEADERS }, final: { code: 3, source: HEADERS, http: 200, message: null } },
    { name: "empty grpc-status is absent: HTTP 503 maps to UNAVAILABLE", headers: [[":status", "503"], ["grpc-status", ""]],
      atHeaders: { code: 14, source: HTTP }, final: { code: 14, source: HTTP, http: 503, message: null } },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const { env, plugin: p } = await plugin();
      const s = openTestStream(p);
      s.sendRequestHeaders(GRPC_REQUEST, true);
      s.sendResponseHeaders(c.headers, c.trailers === undefined);
      if (c.trailers) {
        s.sendResponseBody(new Uint8Array(5), false);
        s.sendResponseTrailers(c.trailers);
      }
      s.complete();
      expect(reports(env, "headers").map(({ code, source }) => ({ code, source }))).toEqual([c.atHeaders]);
      const log = reports(env, "log");
      expect(log.map(({ code, source, http, message }) => ({ code, source, http, message }))).toEqual([c.final]);
      if (c.trailers) {
        const t = reports(env, "trailers");
        expect(t.map(({ code, source }) => ({ code, source }))).toEqual([{ code: c.final.code, source: c.final.source }]);
        // As in Envoy, the response headers are gone once onResponseHeaders returned Continue.
        expect(t[0]!.late).toBe("-");
      }
      await p.close();
    });
  }

  it("onLog reads the logged maps when the callbacks were not used", async () => {
    const { env, plugin: p } = await plugin();
    const s = openTestStream(p);
    s.sendRequestHeaders([...GRPC_REQUEST, ["x-track", "log-only"]], true);
    s.sendResponseHeaders(GRPC_RESPONSE, false);
    s.sendResponseTrailers([["grpc-status", "9"], ["grpc-message", "precondition"]]);
    s.complete();
    expect(reports(env, "headers")).toEqual([]);
    expect(reports(env, "log").map(({ code, source, message }) => ({ code, source, message })))
      .toEqual([{ code: 9, source: TRAILERS, message: "precondition" }]);
    await p.close();
  });

  it("a stream reset before any response has no status (absent, source None)", async () => {
    const { env, plugin: p } = await plugin();
    const s = openTestStream(p);
    s.sendRequestHeaders(GRPC_REQUEST, true);
    s.resetStream("downstream_remote_disconnect");
    s.complete();
    expect(reports(env, "log").map(({ code, source, http }) => ({ code, source, http }))).toEqual([{ code: -2, source: NONE, http: 0 }]);
    expect(env.stats.find("wasmcustom.guest_final_absent_0")).toBeDefined();
    await p.close();
  });

  it("keeps the guest's memory flat over many streams", async () => {
    const { env, plugin: p } = await plugin();
    const run = () => {
      const s = openTestStream(p);
      s.sendRequestHeaders(GRPC_REQUEST, true);
      s.sendResponseHeaders(GRPC_RESPONSE, false);
      s.sendResponseBody(new Uint8Array(5), false);
      s.sendResponseTrailers([["grpc-status", "5"], ["grpc-message", "caf%C3%A9"]]);
      s.complete();
      env.logs.length = 0;
    };
    const memoryBytes = () => p.workerVms()[0]!.exportedMemory().buffer.byteLength;
    for (let i = 0; i < 300; i++) run();
    const warm = memoryBytes();
    for (let i = 0; i < 3000; i++) run();
    expect(memoryBytes()).toBe(warm);
    await p.close();
  });
});

describe("sendGrpcError", () => {
  async function deny(request: Array<[string, string]>): Promise<{ s: TestStream; env: TestEnvironment; p: Plugin }> {
    const { env, plugin: p } = await plugin();
    const s = openTestStream(p);
    s.sendRequestHeaders(request, true);
    return { s, env, p };
  }

  it("asks the host for a local reply carrying the gRPC status, the message as body, no headers by default", async () => {
    const { s, env, p } = await deny([...GRPC_REQUEST, ["x-deny-code", "7"], ["x-deny-message", "no entry: café"]]);
    expect(s.localReply).toMatchObject({ status: 403, grpcStatus: 7, details: "wasm_grpc_error", headers: [] });
    expect(Buffer.from(s.localReply!.body as Uint8Array).toString("utf8")).toBe("no entry: café");
    // The reply went out trailers-only and passed the filter's own encode path.
    const h = s.downstream.headers!;
    expect([h.get(":status"), h.get("content-type"), h.get("grpc-status")]).toEqual(["200", "application/grpc", "7"]);
    expect(s.downstream.endStream).toBe(true);
    expect(s.upstream.headers).toBeUndefined();
    s.complete();
    expect(reports(env, "log").map(({ code, source }) => ({ code, source }))).toEqual([{ code: 7, source: HEADERS }]);
    await p.close();
  });

  it("adds extra headers and takes the given details", async () => {
    const { s, p } = await deny([...GRPC_REQUEST, ["x-deny-code", "16"], ["x-deny-extra", "1"], ["x-deny-details", "auth denied"]]);
    expect(s.localReply).toMatchObject({ status: 401, grpcStatus: 16, details: "auth_denied", headers: [["x-denied-by", "guest"]] });
    expect(s.localReply!.body === undefined || (s.localReply!.body as Uint8Array).length === 0).toBe(true);
    expect(s.downstream.headers!.get("x-denied-by")).toBe("guest");
    await p.close();
  });

  it("a code outside 0..16 is sent as UNKNOWN (HTTP 500 for a non-gRPC request)", async () => {
    const { s, p } = await deny([[":method", "GET"], [":path", "/x"], [":authority", "a"], ["x-deny-code", "42"], ["x-deny-message", "odd"]]);
    expect(s.localReply).toMatchObject({ status: 500, grpcStatus: 2 });
    expect(s.downstream.headers!.get(":status")).toBe("500");
    expect(Buffer.from(s.downstream.body.slice()).toString("utf8")).toBe("odd");
    await p.close();
  });
});
