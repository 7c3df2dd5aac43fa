/**
 * http_call, timers and the failure policy (reference §2.5, §2.7, §2.8).
 */
import { describe, expect, it } from "vitest";
import type { WasmPluginConfig } from "../../manager/src/sidecar/config/model.ts";
import { HeadersStatus } from "../../manager/src/sidecar/http/filter.ts";
import { createPlugin, createTestEnvironment, openTestStream, type TestEnvironment } from "../../manager/src/sidecar/host/index.ts";
import { encodePairs } from "../../manager/src/sidecar/host/pairs.ts";
import { Guest, OUT_3, OUT_LEN, OUT_PTR, pluginConfig, readOutString, readSlot } from "./guest.ts";

const REQ: Array<[string, string]> = [[":authority", "svc"], [":path", "/p"], [":method", "GET"], [":scheme", "http"]];

async function plugin(g: Guest, over: Partial<WasmPluginConfig> = {}, env: TestEnvironment = createTestEnvironment()) {
  const p = await createPlugin(pluginConfig(await g.build(), over), env);
  return { p, env, vm: () => p.workerVms()[0]! };
}

function callingGuest(): Guest {
  const g = new Guest();
  const good = encodePairs([[":method", "GET"], [":path", "/x"], [":authority", "auth"]]);
  const noAuthority = encodePairs([[":method", "GET"], [":path", "/x"]]);
  g.on(
    "proxy_on_request_headers",
    [
      g.rec(0, g.hc("proxy_http_call", g.str("cluster_a"), g.bytes(good), g.str("ping"), g.str(""), 1000, OUT_3)),
      g.rec(1, `(i32.load (i32.const ${OUT_3}))`),
      g.rec(2, g.hc("proxy_http_call", g.str("cluster_a"), g.bytes(noAuthority), g.str(""), g.str(""), 0, OUT_3)),
      g.rec(3, g.hc("proxy_http_call", g.str("nowhere"), g.bytes(good), g.str(""), g.str(""), 0, OUT_3)),
    ].join("\n"),
    "(i32.const 1)",
  );
  g.on(
    "proxy_on_http_call_response",
    [
      g.rec(4, "(local.get $a0)"),
      g.rec(5, "(local.get $a1)"),
      g.rec(6, "(local.get $a2)"),
      g.rec(7, "(local.get $a3)"),
      g.rec(8, g.hc("proxy_get_header_map_value", 6, g.str(":status"), OUT_PTR, OUT_LEN)),
      g.rec(9, g.hc("proxy_get_status", 400, 404, 408)),
      g.rec(10, "(i32.load (i32.const 400))"),
      g.rec(11, g.hc("proxy_set_effective_context", 2)),
      g.rec(12, g.hc("proxy_continue_stream", 0)),
      g.rec(13, g.hc("proxy_set_effective_context", 99)),
    ].join("\n"),
  );
  return g;
}

describe("proxy_http_call", () => {
  it("dispatches from the root, delivers the response to the root, and resumes the stream", async () => {
    const env = createTestEnvironment();
    env.httpCalls.addCluster("cluster_a", () => ({ headers: [[":status", "200"], ["x", "y"]], body: new Uint8Array(3), trailers: [] }));
    const { p, vm } = await plugin(callingGuest(), {}, env);
    const s = openTestStream(p);
    expect(s.sendRequestHeaders(REQ, true)).toBe(HeadersStatus.StopAllIterationAndWatermark);
    expect([0, 1, 2, 3].map((i) => readSlot(vm(), i))).toEqual([0, 4, 2, 2]);
    const sent = env.httpCalls.requests[0]!;
    expect(sent.cluster).toBe("cluster_a");
    expect(sent.headers).toContainEqual(["content-length", "4"]);
    expect(sent.timeoutMs).toBe(1000);
    expect(s.upstream.headers).toBeUndefined();
    env.clock.flushPosted();
    expect([4, 5, 6, 7].map((i) => readSlot(vm(), i))).toEqual([1, 4, 2, 3]);
    expect(readSlot(vm(), 8)).toBe(0);
    expect(readOutString(vm())).toBe("200");
    expect([9, 10, 11, 12, 13].map((i) => readSlot(vm(), i))).toEqual([0, 0, 0, 0, 2]);
    expect(s.continuedDecoding).toBe(1);
    expect(s.upstream.headers?.get(":path")).toBe("/p");
    // the next call gets the next token
    openTestStream(p).sendRequestHeaders(REQ, true);
    expect(readSlot(vm(), 1)).toBe(8);
  });

  it("reports a reset as num_headers 0 and get_status (11, reset)", async () => {
    const env = createTestEnvironment();
    env.httpCalls.addCluster("cluster_a", () => "reset");
    const { p, vm } = await plugin(callingGuest(), {}, env);
    openTestStream(p).sendRequestHeaders(REQ, true);
    env.clock.flushPosted();
    expect(readSlot(vm(), 6)).toBe(0);
    expect(readSlot(vm(), 8)).toBe(2); // no response headers map
    expect(readSlot(vm(), 10)).toBe(11);
    expect(new TextDecoder().decode(new Uint8Array(vm().exportedMemory().buffer, new DataView(vm().exportedMemory().buffer).getUint32(404, true), 5))).toBe("reset");
  });

  it("keeps root-owned calls alive after the stream that made them is destroyed", async () => {
    const env = createTestEnvironment();
    env.httpCalls.addCluster("cluster_a", () => ({ headers: [[":status", "204"]], body: new Uint8Array(0), trailers: [] }));
    const { p, vm } = await plugin(callingGuest(), {}, env);
    const s = openTestStream(p);
    s.sendRequestHeaders(REQ, true);
    s.complete();
    env.clock.flushPosted();
    expect(readSlot(vm(), 5)).toBe(4); // delivered to the root
    expect(readSlot(vm(), 11)).toBe(2); // the stream context is gone
  });
});

describe("timers", () => {
  it("ticks one period after the call, re-arms after on_tick, 0 cancels; a stream sets its root's timer", async () => {
    const g = new Guest();
    g.on("proxy_on_configure", `(drop ${g.hc("proxy_set_tick_period_milliseconds", 100)})`, "(i32.const 1)");
    g.on("proxy_on_tick", g.log("tick") + g.rec(0, "(local.get $a0)"));
    g.on("proxy_on_request_headers", `(drop ${g.hc("proxy_set_tick_period_milliseconds", "(i32.load (i32.const 600))")})`);
    const { p, env, vm } = await plugin(g);
    const ticks = () => env.logLines().filter((l) => l.endsWith("tick")).length;
    env.clock.advance(99);
    expect(ticks()).toBe(0);
    env.clock.advance(1);
    expect(ticks()).toBe(1);
    expect(readSlot(vm(), 0)).toBe(1);
    env.clock.advance(300);
    expect(ticks()).toBe(4);
    new DataView(vm().exportedMemory().buffer).setUint32(600, 0, true);
    openTestStream(p).sendRequestHeaders(REQ, true);
    env.clock.advance(1000);
    expect(ticks()).toBe(4);
  });
});

describe("failure policy", () => {
  const crashing = () => {
    const g = new Guest();
    g.on(
      "proxy_on_request_headers",
      `(if (i32.eqz ${g.hc("proxy_get_header_map_value", 0, g.str("x-crash"), 300, 304)}) (then (unreachable)))` + g.log("headers"),
    );
    return g;
  };
  const crash: Array<[string, string]> = [...REQ, ["x-crash", "1"]];

  it("FAIL_CLOSED: 503 wasm_fail_stream grpc 14 once, and later streams fail too", async () => {
    const { p, env } = await plugin(crashing());
    const s = openTestStream(p);
    expect(s.sendRequestHeaders(crash, false)).toBe(HeadersStatus.StopAllIterationAndWatermark);
    expect(s.localReply).toMatchObject({ status: 503, details: "wasm_fail_stream", grpcStatus: 14, body: "" });
    // the reply passes the failed filter's own encode path and reaches the client
    expect(s.downstream.headers?.get(":status")).toBe("503");
    expect(s.downstream.endStream).toBe(true);
    expect(p.workerVms()[0]!.failed).toBe(true);
    s.sendRequestBody("x", true);
    const s2 = openTestStream(p);
    s2.sendRequestHeaders(REQ, true);
    expect(s2.localReply?.status).toBe(503);
    expect(env.logLines().filter((l) => l.endsWith("headers"))).toHaveLength(0);
    s2.complete(); // no guest calls, no crash
  });

  it("FAIL_OPEN: the stream continues and later streams skip the plugin", async () => {
    const { p } = await plugin(crashing(), { failurePolicy: "FAIL_OPEN" });
    const s = openTestStream(p);
    expect(s.sendRequestHeaders(crash, true)).toBe(HeadersStatus.Continue);
    expect(s.localReply).toBeUndefined();
    const s2 = openTestStream(p);
    expect(s2.sendRequestHeaders(crash, true)).toBe(HeadersStatus.Continue);
    expect(s2.upstream.headers?.get("x-crash")).toBe("1");
  });

  it("FAIL_RELOAD: the next stream rebuilds the VM, subject to the backoff", async () => {
    const { p, env } = await plugin(crashing(), { failurePolicy: "FAIL_RELOAD", reloadBackoffBaseMs: 1000 });
    const first = p.workerVms()[0]!;
    const s = openTestStream(p);
    s.sendRequestHeaders(crash, true);
    expect(s.localReply?.status).toBe(503);
    const s2 = openTestStream(p);
    expect(s2.sendRequestHeaders(REQ, true)).toBe(HeadersStatus.Continue);
    expect(p.workerVms()[0]).not.toBe(first);
    expect(p.rootContexts()[0]!.id).toBe(1);
    // crash again: the reload backoff (1 s) holds the VM failed
    openTestStream(p).sendRequestHeaders(crash, true);
    const s4 = openTestStream(p);
    s4.sendRequestHeaders(REQ, true);
    expect(s4.localReply?.details).toBe("wasm_fail_stream");
    env.clock.advance(1000);
    const s5 = openTestStream(p);
    expect(s5.sendRequestHeaders(REQ, true)).toBe(HeadersStatus.Continue);
    expect(env.logLines().filter((l) => l.endsWith("headers"))).toHaveLength(2);
  });

  it("an out-of-bounds pointer from the guest is InvalidMemoryAccess, not a trap", async () => {
    const g = new Guest();
    g.on("proxy_on_request_headers", g.rec(0, g.hc("proxy_get_header_map_value", 0, "(i32.const 0x7fffffff) (i32.const 10)", OUT_PTR, OUT_LEN)));
    const { p, vm } = await plugin(g);
    openTestStream(p).sendRequestHeaders(REQ, true);
    expect(readSlot(vm(), 0)).toBe(6);
    expect(vm().failed).toBe(false);
  });
});

describe("plugin close", () => {
  it("calls on_done then on_delete on the root; on_done false waits for proxy_done", async () => {
    const g = new Guest();
    g.on("proxy_on_done", g.log("done") + `(drop ${g.hc("proxy_set_tick_period_milliseconds", 10)})`, "(i32.const 0)");
    g.on("proxy_on_tick", `(drop ${g.hc("proxy_done")})`);
    g.on("proxy_on_delete", g.log("delete"));
    const { p, env } = await plugin(g);
    let closed = false;
    const done = p.close().then(() => (closed = true));
    await Promise.resolve();
    expect(closed).toBe(false);
    expect(env.logLines().map((l) => l.split(": ")[1])).toEqual(["done"]);
    env.clock.advance(10);
    await done;
    expect(env.logLines().map((l) => l.split(": ")[1])).toEqual(["done", "delete"]);
  });
});
