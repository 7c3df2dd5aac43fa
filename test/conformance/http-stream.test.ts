/**
 * HTTP stream behaviour of the host as Envoy's Wasm filter (reference §2.1, §2.3, §2.4, §2.5):
 * lifecycle order, header maps, map lifetime, buffers, status translation, local replies.
 */
import { describe, expect, it } from "vitest";
import { DataStatus, HeadersStatus } from "../../manager/src/sidecar/http/filter.ts";
import { createPlugin, createTestEnvironment, openTestStream, type TestEnvironment } from "../../manager/src/sidecar/host/index.ts";
import { encodePairs } from "../../manager/src/sidecar/host/pairs.ts";
import { Guest, OUT_3, OUT_LEN, OUT_PTR, pluginConfig, readOutString, readSlot } from "./guest.ts";
import type { WasmPluginConfig } from "../../manager/src/sidecar/config/model.ts";

const REQ: Array<[string, string]> = [[":authority", "svc"], [":path", "/pkg.Svc/Call"], [":method", "POST"], [":scheme", "http"]];

async function plugin(g: Guest, over: Partial<WasmPluginConfig> = {}, env: TestEnvironment = createTestEnvironment()) {
  const p = await createPlugin(pluginConfig(await g.build(), over), env);
  return { p, env, vm: p.workerVms()[0]! };
}

describe("stream lifecycle", () => {
  it("creates the context lazily and ends with log -> done -> delete", async () => {
    const g = new Guest();
    g.on("proxy_on_context_create", `(if (local.get $a1) (then ${g.log("create")}))`);
    g.on("proxy_on_request_headers", g.log("req_headers"));
    g.on("proxy_on_log", g.log("log"));
    g.on("proxy_on_done", g.log("done"), "(i32.const 1)");
    g.on("proxy_on_delete", g.log("delete"));
    const { p, env } = await plugin(g);
    const s = openTestStream(p);
    expect(env.logLines()).toEqual([]);
    s.sendRequestHeaders(REQ, true);
    s.complete();
    expect(env.logLines()).toEqual(
      ["create", "req_headers", "log", "done", "delete"].map((m) => `wasm log test-plugin root vm: ${m}`),
    );
    expect(p.workerVms()[0]!.contexts.has(2)).toBe(false);
  });
});

describe("header maps", () => {
  it("implements get (first value) / add / replace / remove / size with Envoy semantics", async () => {
    const g = new Guest();
    g.on(
      "proxy_on_request_headers",
      [
        g.rec(0, g.hc("proxy_get_header_map_value", 0, g.str("X-Multi"), OUT_PTR, OUT_LEN)),
        g.rec(1, g.hc("proxy_get_header_map_value", 0, g.str("missing"), 300, 304)),
        g.rec(2, g.hc("proxy_add_header_map_value", 0, g.str("X-Added"), g.str("v"))),
        g.rec(3, g.hc("proxy_replace_header_map_value", 0, g.str("x-multi"), g.str("new"))),
        g.rec(4, g.hc("proxy_remove_header_map_value", 0, g.str("X-Gone"))),
        g.rec(5, g.hc("proxy_get_header_map_size", 0, OUT_3)),
        g.rec(6, `(i32.load (i32.const ${OUT_3}))`),
        g.rec(7, g.hc("proxy_get_header_map_value", 8, g.str("x"), 300, 304)),
      ].join("\n"),
    );
    const { p, vm } = await plugin(g);
    const s = openTestStream(p);
    s.sendRequestHeaders([...REQ, ["x-multi", "one"], ["x-multi", "two"], ["x-gone", "bye"]], true);
    expect(readSlot(vm, 0)).toBe(0);
    expect(readOutString(vm)).toBe("one");
    expect(readSlot(vm, 1)).toBe(1); // NotFound
    expect([2, 3, 4, 5].map((i) => readSlot(vm, i))).toEqual([0, 0, 0, 0]);
    const out = s.upstream.headers!;
    expect(out.getAll("x-multi")).toEqual(["new"]);
    expect(out.get("x-added")).toBe("v");
    expect(out.has("x-gone")).toBe(false);
    expect(readSlot(vm, 6)).toBe(out.byteSize());
    expect(readSlot(vm, 7)).toBe(2); // map type above 7 -> BadArgument
    expect(s.routeCacheClears).toBeGreaterThan(0);
  });

  it("returns all pairs serialized, and replaces all pairs", async () => {
    const g = new Guest();
    const pairs = encodePairs([["x-only", "1"]]);
    g.on(
      "proxy_on_response_headers",
      g.rec(0, g.hc("proxy_get_header_map_pairs", 2, OUT_PTR, OUT_LEN)) +
        g.rec(1, `(i32.load (i32.const ${OUT_LEN}))`) +
        g.rec(2, g.hc("proxy_set_header_map_pairs", 2, g.bytes(pairs))),
    );
    const { p, vm } = await plugin(g);
    const s = openTestStream(p);
    s.sendRequestHeaders(REQ, true);
    s.sendResponseHeaders([[":status", "200"], ["a", "b"]], true);
    expect(readSlot(vm, 0)).toBe(0);
    expect(readSlot(vm, 1)).toBe(encodePairs([[":status", "200"], ["a", "b"]]).length);
    expect(s.downstream.headers!.pairs()).toEqual([["x-only", "1"]]);
  });

  it("drops request headers once on_request_headers continued (BadArgument, empty pairs)", async () => {
    const g = new Guest();
    g.on(
      "proxy_on_response_headers",
      g.rec(0, g.hc("proxy_get_header_map_value", 0, g.str(":path"), 300, 304)) +
        g.rec(1, g.hc("proxy_get_header_map_pairs", 0, OUT_PTR, OUT_LEN)) +
        g.rec(2, `(i32.load (i32.const ${OUT_LEN}))`) +
        g.rec(3, g.hc("proxy_add_header_map_value", 0, g.str("a"), g.str("b"))) +
        g.rec(4, g.hc("proxy_get_header_map_value", 2, g.str(":status"), 300, 304)),
    );
    const { p, vm } = await plugin(g);
    const s = openTestStream(p);
    s.sendRequestHeaders(REQ, true);
    s.sendResponseHeaders([[":status", "200"]], true);
    expect([0, 1, 2, 3, 4].map((i) => readSlot(vm, i))).toEqual([2, 0, 0, 2, 0]);
  });

  it("lets the last body chunk add trailers when there are none", async () => {
    const g = new Guest();
    g.on("proxy_on_request_body", `(if (local.get $a2) (then ${g.rec(0, g.hc("proxy_add_header_map_value", 1, g.str("x-trailer"), g.str("t")))}))`);
    const { p, vm } = await plugin(g);
    const s = openTestStream(p);
    s.sendRequestHeaders(REQ, false);
    s.sendRequestBody("abc", true);
    expect(readSlot(vm, 0)).toBe(0);
    expect(s.upstream.trailers?.get("x-trailer")).toBe("t");
  });
});

describe("bodies", () => {
  it("supports only prepend / append / replace-from-start and clamps reads", async () => {
    const g = new Guest();
    g.on(
      "proxy_on_request_body",
      [
        g.rec(0, g.hc("proxy_set_buffer_bytes", 0, 0, 0, g.str("pre-"))),
        g.rec(1, g.hc("proxy_set_buffer_bytes", 0, 1000, 0, g.str("-post"))),
        g.rec(2, g.hc("proxy_set_buffer_bytes", 0, 2, 1, g.str("x"))),
        g.rec(3, g.hc("proxy_set_buffer_bytes", 0, 0, 4, g.str("PRE:"))),
        g.rec(4, g.hc("proxy_get_buffer_bytes", 0, 4, 1000, OUT_PTR, OUT_LEN)),
        g.rec(5, g.hc("proxy_get_buffer_status", 0, OUT_3, 300)),
        g.rec(6, `(i32.load (i32.const ${OUT_3}))`),
        g.rec(7, g.hc("proxy_get_buffer_bytes", 3, 0, 10, 300, 304)),
      ].join("\n"),
    );
    const { p, vm } = await plugin(g);
    const s = openTestStream(p);
    s.sendRequestHeaders(REQ, false);
    s.sendRequestBody("hello", true);
    expect([0, 1, 2, 3, 4, 5].map((i) => readSlot(vm, i))).toEqual([0, 0, 2, 0, 0, 0]);
    expect(readOutString(vm)).toBe("hello-post");
    expect(readSlot(vm, 6)).toBe("PRE:hello-post".length);
    expect(readSlot(vm, 7)).toBe(0); // Envoy: no upstream data in an HTTP stream reads as empty (buffer_.set(nullptr))
    expect(new TextDecoder().decode(s.upstream.body.toUint8Array())).toBe("PRE:hello-post");
  });

  it("StopIterationAndBuffer: body_size is the total buffered; over the limit -> 413", async () => {
    const g = new Guest();
    g.on("proxy_on_request_body", g.rec(0, "(local.get $a1)"), "(if (result i32) (local.get $a2) (then (i32.const 0)) (else (i32.const 1)))");
    const { p, vm } = await plugin(g);
    const s = openTestStream(p);
    s.sendRequestHeaders(REQ, false);
    expect(s.sendRequestBody("abc")).toBe(DataStatus.StopIterationAndBuffer);
    expect(s.sendRequestBody("def")).toBe(DataStatus.StopIterationAndBuffer);
    expect(readSlot(vm, 0)).toBe(6);
    expect(s.upstream.body.length).toBe(0);
    s.sendRequestBody("gh", true);
    expect(readSlot(vm, 0)).toBe(8);
    expect(new TextDecoder().decode(s.upstream.body.toUint8Array())).toBe("abcdefgh");

    const small = openTestStream(p, { bufferLimit: 5 });
    small.sendRequestHeaders(REQ, false);
    small.sendRequestBody("abc");
    small.sendRequestBody("def");
    expect(small.localReply).toMatchObject({ status: 413, details: "request_payload_too_large" });
  });
});

describe("status translation", () => {
  const pausing = () => {
    const g = new Guest();
    g.on("proxy_on_request_headers", "", "(i32.const 1)");
    g.on("proxy_on_request_body", g.log("body"));
    return g;
  };

  it("turns a header StopIteration into StopAllIterationAndWatermark: no body while paused", async () => {
    const { p, env } = await plugin(pausing());
    const s = openTestStream(p);
    expect(s.sendRequestHeaders(REQ, false)).toBe(HeadersStatus.StopAllIterationAndWatermark);
    s.sendRequestBody("x".repeat(2 * 1024 * 1024), true); // watermark: no 413
    expect(env.logLines().filter((l) => l.endsWith("body"))).toHaveLength(0);
    expect(s.localReply).toBeUndefined();
    s.continueDecoding();
    expect(env.logLines().filter((l) => l.endsWith("body"))).toHaveLength(1);
    expect(s.upstream.body.length).toBe(2 * 1024 * 1024);
  });

  it("keeps StopIteration with allow_on_headers_stop_iteration: body is delivered", async () => {
    const { p, env } = await plugin(pausing(), { allowOnHeadersStopIteration: true });
    const s = openTestStream(p);
    expect(s.sendRequestHeaders(REQ, false)).toBe(HeadersStatus.StopIteration);
    s.sendRequestBody("abc", true);
    expect(env.logLines().filter((l) => l.endsWith("body"))).toHaveLength(1);
  });

  it("maps out-of-range results to stop values and 2 to Continue", async () => {
    const g = new Guest();
    g.on("proxy_on_request_headers", "", "(i32.const 9)");
    g.on("proxy_on_request_body", "", "(i32.const 7)");
    g.on("proxy_on_response_headers", "", "(i32.const 2)");
    const { p } = await plugin(g, { allowOnHeadersStopIteration: true });
    const s = openTestStream(p);
    expect(s.sendRequestHeaders(REQ, false)).toBe(HeadersStatus.StopAllIterationAndWatermark);
    const s2 = openTestStream(p);
    s2.sendRequestHeaders(REQ, false);
    s2.continueDecoding();
    expect(s.sendResponseHeaders([[":status", "200"]], true)).toBe(HeadersStatus.Continue);
    const s3 = openTestStream(p, {});
    s3.sendRequestHeaders(REQ, false);
    s3.continueDecoding();
    expect(s3.sendRequestBody("a", false)).toBe(DataStatus.StopIterationNoBuffer);
  });
});

describe("send_local_response", () => {
  it("is deferred until the callback returns, forces a stop, and rewrites details", async () => {
    const g = new Guest();
    const headers = encodePairs([["X-Reason", "policy"]]);
    g.on(
      "proxy_on_request_headers",
      g.rec(0, g.hc("proxy_send_local_response", 403, g.str("access denied\tnow"), g.str("nope"), g.bytes(headers), -1)) + g.log("after"),
      "(i32.const 0)",
    );
    g.on(
      "proxy_on_response_headers",
      g.log("resp") + g.rec(1, g.hc("proxy_send_local_response", 500, g.str("second"), g.str(""), g.str(""), -1)),
    );
    const { p, env, vm } = await plugin(g);
    const s = openTestStream(p);
    expect(s.sendRequestHeaders(REQ, true)).toBe(HeadersStatus.StopIteration);
    expect(readSlot(vm, 0)).toBe(0);
    expect(s.localReply).toMatchObject({ status: 403, details: "access_denied_now", grpcStatus: undefined, headers: [["x-reason", "policy"]] });
    expect(new TextDecoder().decode(s.localReply!.body as Uint8Array)).toBe("nope");
    // The local reply ran through this plugin's on_response_headers; its second reply was ignored.
    expect(env.logLines().map((l) => l.split(": ")[1])).toEqual(["after", "resp"]);
    expect(s.downstream.headers!.get(":status")).toBe("403");
    expect(s.upstream.headers).toBeUndefined();
  });

  it("carries a gRPC status in 0..16 (trailers-only reply for gRPC requests)", async () => {
    const g = new Guest();
    g.on("proxy_on_request_headers", `(drop ${g.hc("proxy_send_local_response", 401, g.str("denied"), g.str("bad token"), g.str(""), 16)})`);
    const { p } = await plugin(g);
    const s = openTestStream(p);
    s.sendRequestHeaders([...REQ, ["content-type", "application/grpc"]], false);
    expect(s.localReply?.grpcStatus).toBe(16);
    expect(s.downstream.headers!.get("grpc-status")).toBe("16");
    expect(s.downstream.headers!.get("grpc-message")).toBe("bad token");
    expect(s.downstream.endStream).toBe(true);
  });
});
