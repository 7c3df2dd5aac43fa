/**
 * grpc-metrics in the proxy-wasm host with scripted streams: a unary RPC, each of the 17 codes
 * from trailers and from trailers-only headers, HTTP errors without grpc-status, cancellation,
 * upstream resets, non-gRPC requests, the filter state, sides, RPC types and the otel schema.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { createTestEnvironment, PluginLoadError } from "../../../manager/src/sidecar/host/index.ts";
import {
  OK_HEADERS,
  checkConsistency,
  filterState,
  filterWasm,
  frames,
  histogram,
  loadFilter,
  near,
  open,
  requestHeaders,
  total,
  unary,
} from "./host-harness.ts";

const ECHO = { grpc_service: "meshwasm.demo.v1.Echo", grpc_method: "Unary" };
const GO_NAMES = [
  "OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists",
  "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange",
  "Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated",
];

beforeAll(async () => {
  await filterWasm();
}, 120_000);

describe("a unary RPC", () => {
  it("counts start, end, messages, bytes and time, and leaves nothing in flight", async () => {
    const f = await loadFilter();
    const s = unary(f, { requestBytes: 7, responseBytes: 11, latencyMs: 4.9 });
    const labels = { grpc_type: "unary", ...ECHO };
    expect(total(f.env, "grpc_server_started_total", labels)).toBe(1n);
    expect(total(f.env, "grpc_server_handled_total", { ...labels, grpc_code: "OK" })).toBe(1n);
    expect(total(f.env, "grpc_server_msg_received_total", labels)).toBe(1n);
    expect(total(f.env, "grpc_server_msg_sent_total", labels)).toBe(1n);
    expect(total(f.env, "grpc_server_msg_received_bytes_total", labels)).toBe(7n);
    expect(total(f.env, "grpc_server_msg_sent_bytes_total", labels)).toBe(11n);
    expect(total(f.env, "grpc_server_in_flight", labels)).toBe(0n);
    // 4.9 ms is recorded as 4 (whole ms): below the le="5" bound, above le="1".
    const h = histogram(f.env, "grpc_server_handling_milliseconds", labels);
    expect([h.count, h.le(1), h.le(5)]).toEqual([1, 0, 1]);
    expect(near(h.sum, 4)).toBe(true);
    // The filter only reads: the request and response passed unchanged.
    expect(s.upstream.headers!.pairs()).toEqual(requestHeaders("/meshwasm.demo.v1.Echo/Unary"));
    expect(s.upstream.body.toUint8Array()).toEqual(frames([7]));
    expect(s.downstream.trailers!.pairs()).toEqual([["grpc-status", "0"]]);
    expect(s.localReply).toBeUndefined();
    expect(f.env.logs.filter((l) => l.level >= 3)).toEqual([]);
  });

  it("shows the RPC in flight between its start and its end", async () => {
    const f = await loadFilter();
    const s = open(f.plugin);
    s.sendRequestHeaders(requestHeaders("/meshwasm.demo.v1.Echo/Unary"));
    const labels = { grpc_type: "unary", ...ECHO };
    expect(total(f.env, "grpc_server_started_total", labels)).toBe(1n);
    expect(total(f.env, "grpc_server_in_flight", labels)).toBe(1n);
    expect(total(f.env, "grpc_server_handled_total", labels)).toBe(0n);
    s.sendRequestBody(frames([1]), true);
    s.sendResponseHeaders(OK_HEADERS);
    s.sendResponseBody(frames([2]));
    s.sendResponseTrailers([["grpc-status", "0"]]);
    s.complete();
    expect(total(f.env, "grpc_server_in_flight", labels)).toBe(0n);
    expect(checkConsistency(f.env)).toEqual({ started: 1n, handled: 1n, inFlight: 0n });
  });

  it("sets the filter state wasm.grpc_service and wasm.grpc_method (and not when turned off)", async () => {
    const f = await loadFilter();
    const s = unary(f);
    expect(filterState(s, "grpc_service")).toBe("meshwasm.demo.v1.Echo");
    expect(filterState(s, "grpc_method")).toBe("Unary");
    const off = await loadFilter({ filter_state: false });
    const s2 = unary(off);
    expect(filterState(s2, "grpc_method")).toBeUndefined();
    expect(total(off.env, "grpc_server_handled_total", { grpc_code: "OK" })).toBe(1n);
  });
});

describe("memory", () => {
  it("stays flat over 20,000 RPCs once warm (the filter collects garbage every 1024 callbacks)", async () => {
    const f = await loadFilter();
    const memoryBytes = () => f.plugin.workerVms()[0]!.exportedMemory().buffer.byteLength;
    const paths = Array.from({ length: 50 }, (_, i) => `/svc${i % 5}.v1.S/M${i}`);
    for (let i = 0; i < 2000; i++) unary(f, { path: paths[i % paths.length], status: String(i % 17) });
    const warm = memoryBytes();
    for (let i = 0; i < 20_000; i++) unary(f, { path: paths[i % paths.length], status: String(i % 17) });
    expect(memoryBytes()).toBe(warm);
    expect(total(f.env, "grpc_server_handled_total")).toBe(22_000n);
  }, 120_000);
});

describe("final code", () => {
  it.each(GO_NAMES.map((name, code) => [code, name] as const))("grpc-status %i in trailers is %s", async (code, name) => {
    const f = await loadFilter();
    unary(f, { status: String(code) });
    expect(total(f.env, "grpc_server_handled_total", { ...ECHO, grpc_code: name })).toBe(1n);
    expect(total(f.env, "grpc_server_handled_total")).toBe(1n);
  });

  it.each(GO_NAMES.map((name, code) => [code, name] as const))("grpc-status %i in a trailers-only response is %s", async (code, name) => {
    const f = await loadFilter();
    const s = open(f.plugin);
    s.sendRequestHeaders(requestHeaders("/meshwasm.demo.v1.Echo/Unary"));
    s.sendRequestBody(frames([3]), true);
    s.sendResponseHeaders([...OK_HEADERS, ["grpc-status", String(code)], ["grpc-message", "x"]], true);
    s.complete();
    expect(total(f.env, "grpc_server_handled_total", { ...ECHO, grpc_code: name })).toBe(1n);
    expect(total(f.env, "grpc_server_msg_sent_total", ECHO)).toBe(0n);
  });

  it("reads grpc-status as Envoy does (leading zeros, '+', spaces) and counts invalid values as Unknown", async () => {
    const f = await loadFilter();
    for (const status of ["007", "+7", " 7 ", "17", "-1", "abc", ""]) unary(f, { status });
    expect(total(f.env, "grpc_server_handled_total", { grpc_code: "PermissionDenied" })).toBe(3n);
    // "" is no status at all: the HTTP 200 of the response maps to Unknown, as Envoy's getGrpcStatus.
    expect(total(f.env, "grpc_server_handled_total", { grpc_code: "Unknown" })).toBe(4n);
  });

  it("prefers the trailers' status to the headers'", async () => {
    const f = await loadFilter();
    const s = open(f.plugin);
    s.sendRequestHeaders(requestHeaders("/meshwasm.demo.v1.Echo/Unary"));
    s.sendResponseHeaders([...OK_HEADERS, ["grpc-status", "5"]]);
    s.sendResponseTrailers([["grpc-status", "8"]]);
    s.complete();
    expect(total(f.env, "grpc_server_handled_total", { grpc_code: "ResourceExhausted" })).toBe(1n);
  });

  it("uses the response headers' grpc-status when the trailers have none", async () => {
    const f = await loadFilter();
    const s = open(f.plugin);
    s.sendRequestHeaders(requestHeaders("/meshwasm.demo.v1.Echo/Unary"));
    s.sendResponseHeaders([...OK_HEADERS, ["grpc-status", "5"]]);
    s.sendResponseTrailers([["x-other", "1"]]);
    s.complete();
    expect(total(f.env, "grpc_server_handled_total", { grpc_code: "NotFound" })).toBe(1n);
  });

  const httpTable: Array<[number, string]> = [
    [400, "Internal"], [401, "Unauthenticated"], [403, "PermissionDenied"], [404, "Unimplemented"],
    [429, "Unavailable"], [502, "Unavailable"], [503, "Unavailable"], [504, "Unavailable"],
    [500, "Unknown"], [200, "Unknown"], [301, "Unknown"],
  ];
  it.each(httpTable)("HTTP %i without grpc-status is %s", async (status, name) => {
    const f = await loadFilter();
    const s = open(f.plugin);
    s.sendRequestHeaders(requestHeaders("/meshwasm.demo.v1.Echo/Unary"));
    s.sendRequestBody(frames([3]), true);
    s.sendResponseHeaders([[":status", String(status)], ["content-type", "text/plain"]], false);
    s.sendResponseBody("upstream error", true);
    s.complete();
    expect(total(f.env, "grpc_server_handled_total", { ...ECHO, grpc_code: name })).toBe(1n);
  });
});

describe("cancellation and resets", () => {
  it("a client cancellation before any response is Canceled, timed to the end of the stream", async () => {
    const f = await loadFilter();
    const s = open(f.plugin);
    s.sendRequestHeaders(requestHeaders("/meshwasm.demo.v1.Echo/Unary"));
    s.sendRequestBody(frames([3]), true);
    f.env.clock.advance(20.7);
    s.complete();
    expect(total(f.env, "grpc_server_handled_total", { ...ECHO, grpc_code: "Canceled" })).toBe(1n);
    const h = histogram(f.env, "grpc_server_handling_milliseconds", ECHO);
    expect([h.le(10), h.le(25)]).toEqual([0, 1]);
    expect(near(h.sum, 20)).toBe(true);
    expect(checkConsistency(f.env).inFlight).toBe(0n);
  });

  it("a reset after the response headers (no trailers) is Canceled, not the HTTP mapping", async () => {
    const f = await loadFilter();
    const s = open(f.plugin);
    s.sendRequestHeaders(requestHeaders("/meshwasm.demo.v1.Echo/ServerStream"));
    s.sendRequestBody(frames([3]), true);
    s.sendResponseHeaders(OK_HEADERS);
    s.sendResponseBody(frames([5, 5]));
    s.resetStream("upstream_reset_after_response_started{remote_reset}");
    s.complete();
    expect(total(f.env, "grpc_server_handled_total", { grpc_code: "Canceled" })).toBe(1n);
    expect(total(f.env, "grpc_server_msg_sent_total")).toBe(2n);
  });

  it("an upstream reset before any response reaches the filter as the router's trailers-only UNAVAILABLE", async () => {
    const f = await loadFilter();
    const s = open(f.plugin);
    s.sendRequestHeaders(requestHeaders("/meshwasm.demo.v1.Echo/Unary"));
    s.sendRequestBody(frames([3]), true);
    // What Envoy's router (and the sidecar's) answers a gRPC request whose upstream reset.
    s.sendLocalReply({ status: 503, body: "upstream connect error or disconnect/reset before headers", details: "upstream_reset_before_response_started" });
    s.complete();
    expect(s.downstream.headers!.get("grpc-status")).toBe("14");
    expect(total(f.env, "grpc_server_handled_total", { ...ECHO, grpc_code: "Unavailable" })).toBe(1n);
  });

  it("trailers, bodies or response headers without request headers only pass through", async () => {
    const f = await loadFilter();
    const s = open(f.plugin);
    s.sendResponseHeaders(OK_HEADERS);
    s.sendResponseBody(frames([1]));
    s.sendResponseTrailers([["grpc-status", "0"]]);
    s.complete();
    expect(total(f.env, "grpc_server_started_total")).toBe(0n);
    expect(f.plugin.workerVms()[0]!.failed).toBe(false);
  });
});

describe("non-gRPC requests", () => {
  it.each([
    ["no content-type", []],
    ["application/json", [["content-type", "application/json"]]],
    ["gRPC-Web", [["content-type", "application/grpc-web"]]],
    ["application/grpcx", [["content-type", "application/grpcx"]]],
  ] as Array<[string, Array<[string, string]>]>)("%s is ignored", async (_n, ct) => {
    const f = await loadFilter();
    const s = open(f.plugin);
    s.sendRequestHeaders([[":method", "POST"], [":scheme", "http"], [":path", "/a.B/C"], [":authority", "x"], ...ct], true);
    s.sendResponseHeaders([[":status", "200"]], true);
    s.complete();
    expect(total(f.env, "grpc_server_started_total")).toBe(0n);
    expect(filterState(s, "grpc_method")).toBeUndefined();
  });

  it("application/grpc+proto is gRPC", async () => {
    const f = await loadFilter();
    const s = open(f.plugin);
    s.sendRequestHeaders([...requestHeaders("/a.B/C").filter(([k]) => k !== "content-type"), ["content-type", "application/grpc+proto"]], true);
    s.sendResponseHeaders([...OK_HEADERS, ["grpc-status", "0"]], true);
    s.complete();
    expect(total(f.env, "grpc_server_handled_total", { grpc_service: "a.B", grpc_method: "C", grpc_code: "OK" })).toBe(1n);
  });
});

describe("paths", () => {
  it.each(["/", "/nomethod", "//M", "/a.B/", "/a.B/C/D", "/a.B/C?x=1", "/a..B/C", "", "/caf\u00e9.S/M"])("malformed %j counts as unknown/unknown", async (path) => {
    const f = await loadFilter();
    const s = open(f.plugin);
    const headers = requestHeaders(path);
    s.sendRequestHeaders(path === "" ? headers.filter(([k]) => k !== ":path") : headers, true);
    s.sendResponseHeaders([...OK_HEADERS, ["grpc-status", "12"]], true);
    s.complete();
    expect(total(f.env, "grpc_server_handled_total", { grpc_service: "unknown", grpc_method: "unknown", grpc_code: "Unimplemented" })).toBe(1n);
    expect(filterState(s, "grpc_method")).toBe("unknown");
  });

  it("reads values longer than the SDK's 1 KiB view block: a 3,000-byte method, a 2,000-byte content-type", async () => {
    const f = await loadFilter();
    const method = "M".repeat(3000);
    const contentType = "application/grpc+" + "p".repeat(2000);
    for (let i = 0; i < 3; i++) {
      const s = open(f.plugin);
      s.sendRequestHeaders(requestHeaders(`/a.B/${method}`).map(([k, v]) => [k, k === "content-type" ? contentType : v] as [string, string]));
      s.sendRequestBody(frames([5]), true);
      s.sendResponseHeaders(OK_HEADERS);
      s.sendResponseBody(frames([1500, 1500]));
      s.sendResponseTrailers([["grpc-status", "0"]]);
      s.complete();
      expect(filterState(s, "grpc_method")).toBe(method);
    }
    // The label value is the method truncated to the SDK's 128 characters (filters/sdk/metrics.ts).
    const label = method.slice(0, 128);
    expect(total(f.env, "grpc_server_handled_total", { grpc_service: "a.B", grpc_method: label, grpc_code: "OK" })).toBe(3n);
    expect(total(f.env, "grpc_server_msg_sent_bytes_total", { grpc_method: label })).toBe(9000n);
    expect(total(f.env, "grpc_server_msg_received_total", { grpc_method: label })).toBe(3n);
  });
});

describe("sides", () => {
  it("an OUTBOUND listener counts grpc_client_*, with received and sent from the client's view", async () => {
    const f = await loadFilter();
    const s = open(f.plugin, 2);
    s.sendRequestHeaders(requestHeaders("/meshwasm.demo.v1.Echo/ClientStream"));
    s.sendRequestBody(frames([1, 2, 3]), true);
    s.sendResponseHeaders(OK_HEADERS);
    s.sendResponseBody(frames([40]));
    s.sendResponseTrailers([["grpc-status", "0"]]);
    s.complete();
    expect(total(f.env, "grpc_client_handled_total", { grpc_code: "OK" })).toBe(1n);
    expect(total(f.env, "grpc_client_msg_sent_total")).toBe(3n);
    expect(total(f.env, "grpc_client_msg_sent_bytes_total")).toBe(6n);
    expect(total(f.env, "grpc_client_msg_received_total")).toBe(1n);
    expect(total(f.env, "grpc_client_msg_received_bytes_total")).toBe(40n);
    expect(total(f.env, "grpc_server_started_total")).toBe(0n);
  });

  it("INBOUND and unspecified listeners count grpc_server_*; `side` in the configuration wins", async () => {
    const f = await loadFilter();
    unary(f, { direction: 1 });
    unary(f, { direction: 0 });
    unary(f);
    expect(total(f.env, "grpc_server_handled_total")).toBe(3n);
    const forced = await loadFilter({ side: "client" });
    unary(forced, { direction: 1 });
    expect(total(forced.env, "grpc_client_handled_total")).toBe(1n);
    const server = await loadFilter({ side: "server" });
    unary(server, { direction: 2 });
    expect(total(server.env, "grpc_server_handled_total")).toBe(1n);
  });

  it("reads the plugin's listener direction once in the root where the host answers it there (Envoy)", async () => {
    // The streams carry no direction of their own: only the root's reading can make them client.
    const outbound = await loadFilter({}, { listenerDirection: 2 });
    unary(outbound);
    unary(outbound);
    expect(total(outbound.env, "grpc_client_handled_total")).toBe(2n);
    expect(total(outbound.env, "grpc_server_handled_total")).toBe(0n);
    const inbound = await loadFilter({}, { listenerDirection: 1 });
    unary(inbound, { direction: 2 }); // the plugin's direction is what Envoy answers
    expect(total(inbound.env, "grpc_server_handled_total")).toBe(1n);
    const forced = await loadFilter({ side: "server" }, { listenerDirection: 2 });
    unary(forced);
    expect(total(forced.env, "grpc_server_handled_total")).toBe(1n);
  });
});

describe("RPC types", () => {
  const serverStream = (f: Awaited<ReturnType<typeof loadFilter>>, responses: number) => {
    const s = open(f.plugin);
    s.sendRequestHeaders(requestHeaders("/meshwasm.demo.v1.Echo/ServerStream"));
    s.sendRequestBody(frames([4]), true);
    s.sendResponseHeaders(OK_HEADERS);
    for (let i = 0; i < responses; i++) s.sendResponseBody(frames([8]));
    s.sendResponseTrailers([["grpc-status", "0"]]);
    s.complete();
  };

  it("learns a method's type from its finished RPCs; each RPC keeps the type it started with", async () => {
    const f = await loadFilter();
    serverStream(f, 5); // starts as unary: nothing was learned yet
    serverStream(f, 1); // the method is server-streaming from now on, whatever one RPC shows
    serverStream(f, 3);
    const m = { grpc_service: "meshwasm.demo.v1.Echo", grpc_method: "ServerStream" };
    expect(total(f.env, "grpc_server_handled_total", { ...m, grpc_type: "unary" })).toBe(1n);
    expect(total(f.env, "grpc_server_handled_total", { ...m, grpc_type: "server_stream" })).toBe(2n);
    expect(total(f.env, "grpc_server_msg_sent_total", { ...m, grpc_type: "unary" })).toBe(5n);
    expect(total(f.env, "grpc_server_msg_sent_total", { ...m, grpc_type: "server_stream" })).toBe(4n);
    checkConsistency(f.env);
  });

  it("learns bidi from both directions and client streaming from requests", async () => {
    const f = await loadFilter();
    for (let round = 0; round < 2; round++) {
      for (const [path, req, resp] of [["/s.S/Bidi", 3, 2], ["/s.S/Client", 4, 1]] as const) {
        const s = open(f.plugin);
        s.sendRequestHeaders(requestHeaders(path));
        s.sendRequestBody(frames(Array(req).fill(2)), true);
        s.sendResponseHeaders(OK_HEADERS);
        s.sendResponseBody(frames(Array(resp).fill(2)));
        s.sendResponseTrailers([["grpc-status", "0"]]);
        s.complete();
      }
    }
    expect(total(f.env, "grpc_server_started_total", { grpc_method: "Bidi", grpc_type: "bidi_stream" })).toBe(1n);
    expect(total(f.env, "grpc_server_started_total", { grpc_method: "Client", grpc_type: "client_stream" })).toBe(1n);
  });

  it("a configured type applies from the first RPC", async () => {
    const f = await loadFilter({ method_types: { "meshwasm.demo.v1.Echo/ServerStream": "server_stream", "s.S/*": "bidi_stream" } });
    serverStream(f, 5);
    unary(f, { path: "/s.S/Anything" });
    expect(total(f.env, "grpc_server_handled_total", { grpc_method: "ServerStream", grpc_type: "server_stream" })).toBe(1n);
    expect(total(f.env, "grpc_server_handled_total", { grpc_method: "Anything", grpc_type: "bidi_stream" })).toBe(1n);
  });
});

describe("cardinality", () => {
  it("tracks the first max_methods methods; later ones are grpc_method=\"other\" under their known service", async () => {
    const f = await loadFilter({ max_methods: 2 });
    for (const path of ["/a.S/One", "/a.S/Two", "/a.S/Three", "/b.T/Four", "/a.S/One"]) unary(f, { path });
    expect(total(f.env, "grpc_server_handled_total", { grpc_service: "a.S", grpc_method: "One" })).toBe(2n);
    expect(total(f.env, "grpc_server_handled_total", { grpc_service: "a.S", grpc_method: "other" })).toBe(1n);
    expect(total(f.env, "grpc_server_handled_total", { grpc_service: "other", grpc_method: "other" })).toBe(1n);
    expect(total(f.env, "grpc_metrics_server_other_rpcs_total")).toBe(2n);
    expect(filterState(unary(f, { path: "/b.T/Four" }), "grpc_method")).toBe("other");
  });

  it("an allowlist admits exact methods and whole services; a named service keeps its name for others", async () => {
    const f = await loadFilter({ methods: ["a.S/One", "b.T/*", "c.U/Only"] });
    for (const path of ["/a.S/One", "/a.S/Two", "/b.T/X", "/b.T/Y", "/c.U/Other", "/d.V/Z"]) unary(f, { path });
    const handled = (grpc_service: string, grpc_method: string) => total(f.env, "grpc_server_handled_total", { grpc_service, grpc_method });
    expect(handled("a.S", "One")).toBe(1n);
    expect(handled("a.S", "other")).toBe(1n);
    expect(handled("b.T", "X")).toBe(1n);
    expect(handled("b.T", "Y")).toBe(1n);
    expect(handled("c.U", "other")).toBe(1n);
    expect(handled("other", "other")).toBe(1n);
  });
});

describe("schema otel (gRFC A66 names)", () => {
  it("counts calls and records duration and compressed sizes by full method and status", async () => {
    const f = await loadFilter({ schema: "otel" });
    unary(f, { requestBytes: 10, responseBytes: 20, latencyMs: 2 });
    unary(f, { status: "7" });
    const m = { grpc_method: "meshwasm.demo.v1.Echo/Unary" };
    expect(total(f.env, "grpc_server_call_started_total", m)).toBe(2n);
    const d = histogram(f.env, "grpc_server_call_duration_milliseconds", { ...m, grpc_status: "OK" });
    expect([d.count, d.le(1), d.le(5)]).toEqual([1, 0, 1]);
    expect(near(d.sum, 2)).toBe(true);
    expect(histogram(f.env, "grpc_server_call_rcvd_total_compressed_message_size_bytes", { ...m, grpc_status: "OK" }).sum).toBeCloseTo(10.5, 5);
    expect(histogram(f.env, "grpc_server_call_sent_total_compressed_message_size_bytes", { ...m, grpc_status: "OK" }).sum).toBeCloseTo(20.5, 5);
    expect(histogram(f.env, "grpc_server_call_duration_milliseconds", { ...m, grpc_status: "PERMISSION_DENIED" }).count).toBe(1);
    expect(total(f.env, "grpc_server_started_total")).toBe(0n);
  });

  it("client side: attempt and call series carry grpc_target", async () => {
    const f = await loadFilter({ schema: "otel" });
    unary(f, { direction: 2, requestBytes: 3 });
    const labels = { grpc_method: "meshwasm.demo.v1.Echo/Unary", grpc_target: "echo.default.svc_8080" };
    expect(total(f.env, "grpc_client_attempt_started_total", labels)).toBe(1n);
    expect(near(histogram(f.env, "grpc_client_attempt_sent_total_compressed_message_size_bytes", { ...labels, grpc_status: "OK" }).sum, 3)).toBe(true);
    expect(histogram(f.env, "grpc_client_call_duration_milliseconds", { ...labels, grpc_status: "OK" }).count).toBe(1);
    expect(histogram(f.env, "grpc_client_attempt_duration_milliseconds", { ...labels, grpc_status: "OK" }).count).toBe(1);
  });
});

describe("configuration", () => {
  it.each([
    ['{"max_methods": 3.5}', "max_methods: expected integer in [0, 100000], got a number with a fraction or out of range"],
    ['{"max_methods": 100001}', "max_methods: expected integer in [0, 100000], got 100001"],
    ['{"max_methods": "5"}', "max_methods: expected integer in [0, 100000], got string"],
    ['{"max_methods": -1}', "max_methods: expected integer in [0, 100000], got -1"],
    ['{"schema": "prometheus"}', 'schema: expected one of "grpc", "otel"'],
    ['{"side": 1}', 'side: expected one of "auto", "server", "client", got number'],
    ['{"methods": ["a.B/C", "nope"]}', "methods[1]: expected \"<service>/<method>\""],
    ['{"methods": [1]}', "methods[0]: expected string, got number"],
    ['{"method_types": {"a.B/C": "stream"}}', 'method_types["a.B/C"]: expected one of "unary", "client_stream", "server_stream", "bidi_stream"'],
    ['{"method_types": {"/a.B/C": "unary"}}', 'method_types["/a.B/C"]: expected "<service>/<method>"'],
    ['{"filter_state": "yes"}', "filter_state: expected boolean, got string"],
    ['{"max_method": 3}', "max_method: unknown field"],
    ['{"max_methods": 3', "invalid JSON"],
    ["[]", "(root): expected object, got array"],
  ])("rejects %s with a log line naming the field", async (config, message) => {
    const env = createTestEnvironment();
    const err = await loadFilter(config, { env }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PluginLoadError);
    expect((err as PluginLoadError).reason).toMatch(/on_configure returned false/);
    const errors = env.logs.filter((l) => l.level === 4).map((l) => l.line);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(`grpc-metrics: invalid configuration: ${message}`);
  });

  it("accepts an empty configuration and a full one", async () => {
    await loadFilter("");
    const f = await loadFilter({ schema: "grpc", side: "auto", max_methods: 5, methods: ["a.B/*"], method_types: { "a.B/C": "unary" }, filter_state: true });
    unary(f, { path: "/a.B/C" });
    expect(total(f.env, "grpc_server_handled_total", { grpc_service: "a.B", grpc_method: "C" })).toBe(1n);
  });
});
