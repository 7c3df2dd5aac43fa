/**
 * gRPC callouts through a WAT guest, as Envoy's Context::grpcCall / grpcStream and their handlers
 * deliver them (reference §1.2, §1.3, §2.5): tokens 4n+1 / 4n+2, every callback's arguments at
 * the root context, maps 4 / 5 and buffer 5 only during their callbacks, get_status after a
 * close, cancel (nothing after), grpc_close half-closing a stream, the GrpcService-proto
 * upstream, ParseFailure for an unknown cluster name.
 */
import { describe, expect, it } from "vitest";
import { createPlugin, createTestEnvironment, encodeGrpcService, type FakeGrpcStream } from "../../manager/src/sidecar/host/index.ts";
import { encodePairs } from "../../manager/src/sidecar/host/pairs.ts";
import type { WasmVm } from "../../manager/src/sidecar/host/vm.ts";
import { Guest, pluginConfig, readSlot } from "./guest.ts";

const te = new TextEncoder();
const EV_COUNT = 3068;
const EV_BASE = 3072;
const KIND = { initial: 1, receive: 2, trailing: 3, close: 4 } as const;
const KIND_NAME = ["", "initial", "receive", "trailing", "close"];

function guest(): Guest {
  const g = new Guest();
  const md = g.bytes(encodePairs([["X-Md", "plugin"]]));
  const proto = g.bytes(encodeGrpcService({ clusterName: "backend", authority: "auth.example", initialMetadata: [["x-svc", "proto"]] }));
  const ghost = g.bytes(encodeGrpcService({ clusterName: "ghost" }));
  const none = g.bytes(new Uint8Array(0));
  const call = (up: string, m: string, msg: string, timeout: number, tp: number) =>
    g.hc("proxy_grpc_call", up, g.str("pkg.Svc"), g.str(m), md, g.str(msg), timeout, tp);
  const stream = (up: string, m: string, tp: number) => g.hc("proxy_grpc_stream", up, g.str("pkg.Svc"), g.str(m), md, tp);
  const ev = (kind: number) => `(call $ev (i32.const ${kind}) (local.get $r) (local.get $t) (local.get $n))`;
  g.raw(`(func $ev (param $k i32) (param $r i32) (param $t i32) (param $n i32) (local $p i32)
    (local.set $p (i32.add (i32.const ${EV_BASE}) (i32.mul (i32.load (i32.const ${EV_COUNT})) (i32.const 16))))
    (i32.store (local.get $p) (local.get $k)) (i32.store offset=4 (local.get $p) (local.get $r))
    (i32.store offset=8 (local.get $p) (local.get $t)) (i32.store offset=12 (local.get $p) (local.get $n))
    (i32.store (i32.const ${EV_COUNT}) (i32.add (i32.load (i32.const ${EV_COUNT})) (i32.const 1))))`);
  g.on(
    "proxy_on_configure",
    [
      g.rec(0, call(g.str("backend"), "Unary", "hello", 1500, 300)),
      g.rec(1, stream(g.str("backend"), "Bidi", 304)),
      g.rec(2, call(g.str("nowhere"), "Unary", "x", 0, 308)),
      g.rec(3, stream(proto, "Proto", 312)),
      g.rec(4, call(ghost, "Ghost", "x", 0, 316)),
      g.rec(5, g.hc("proxy_grpc_send", "(i32.load (i32.const 304))", g.str("m1"), 0)),
      g.rec(6, g.hc("proxy_grpc_send", "(i32.load (i32.const 300))", g.str("x"), 0)),
      g.rec(7, call(g.str("backend"), "Cancelled", "x", 0, 320)),
      g.rec(8, g.hc("proxy_grpc_cancel", "(i32.load (i32.const 320))")),
      g.rec(9, g.hc("proxy_grpc_cancel", "(i32.load (i32.const 320))")),
      g.rec(10, g.hc("proxy_get_header_map_value", 4, g.str("x"), 400, 404)),
      g.rec(11, stream(none, "Empty", 324)),
      g.rec(12, g.hc("proxy_grpc_close", 7)),
      `(drop ${g.hc("proxy_set_tick_period_milliseconds", 1000)})`,
    ].join("\n"),
    "(i32.const 1)",
  );
  g.raw(`(func (export "proxy_on_grpc_receive_initial_metadata") (param $r i32) (param $t i32) (param $n i32)
    ${ev(KIND.initial)}
    ${g.rec(20, g.hc("proxy_get_header_map_value", 4, g.str("x-initial"), 400, 404))}
    ${g.rec(21, g.hc("proxy_get_header_map_size", 4, 444))}
    ${g.rec(22, g.hc("proxy_add_header_map_value", 4, g.str("a"), g.str("b")))})`);
  g.raw(`(func (export "proxy_on_grpc_receive") (param $r i32) (param $t i32) (param $n i32)
    ${ev(KIND.receive)}
    ${g.rec(23, g.hc("proxy_get_buffer_bytes", 5, 0, 100, 408, 412))})`);
  g.raw(`(func (export "proxy_on_grpc_receive_trailing_metadata") (param $r i32) (param $t i32) (param $n i32)
    ${ev(KIND.trailing)}
    ${g.rec(24, g.hc("proxy_get_header_map_value", 5, g.str("x-trailer"), 424, 428))})`);
  g.raw(`(func (export "proxy_on_grpc_close") (param $r i32) (param $t i32) (param $n i32)
    ${ev(KIND.close)}
    ${g.rec(25, g.hc("proxy_get_status", 432, 436, 440))}
    ${g.rec(26, g.hc("proxy_grpc_send", "(local.get $t)", g.str("late"), 0))}
    ${g.rec(27, g.hc("proxy_grpc_close", "(local.get $t)"))}
    ${g.rec(28, g.hc("proxy_grpc_close", "(local.get $t)"))})`);
  g.on(
    "proxy_on_tick",
    [
      g.rec(30, g.hc("proxy_get_header_map_value", 4, g.str("x-initial"), 400, 404)),
      g.rec(31, g.hc("proxy_get_header_map_value", 5, g.str("x-trailer"), 400, 404)),
      g.rec(32, g.hc("proxy_get_buffer_status", 5, 448, 452)),
      g.rec(33, g.hc("proxy_get_status", 432, 436, 440)),
    ].join("\n"),
  );
  return g;
}

const u32 = (vm: WasmVm, addr: number) => new DataView(vm.exportedMemory().buffer).getUint32(addr, true);
const text = (vm: WasmVm, addr: number) =>
  new TextDecoder().decode(new Uint8Array(vm.exportedMemory().buffer, u32(vm, addr), u32(vm, addr + 4)));
function events(vm: WasmVm): Array<[string, number, number, number]> {
  const out: Array<[string, number, number, number]> = [];
  for (let i = 0; i < u32(vm, EV_COUNT); i++) {
    const p = EV_BASE + i * 16;
    out.push([KIND_NAME[u32(vm, p)]!, u32(vm, p + 4), u32(vm, p + 8), u32(vm, p + 12)]);
  }
  return out;
}

async function start() {
  const env = createTestEnvironment();
  env.grpcCalls.addCluster("backend");
  const plugin = await createPlugin(pluginConfig(await guest().build()), env);
  const vm = plugin.workerVms()[0]!;
  const rootId = plugin.rootContexts()[0]!.id;
  // The canary VM ran on_configure too (and was released); the worker's streams come last.
  const all = env.grpcCalls.streams;
  const worker = all.slice(all.length / 2);
  const byMethod = (m: string) => worker.find((s) => s.request.method === m) as FakeGrpcStream;
  return { env, plugin, vm, rootId, byMethod, worker };
}

describe("gRPC callouts (proxy_grpc_call / proxy_grpc_stream)", () => {
  it("tokens 4n+1 / 4n+2, ParseFailure, BadArgument for send on a call, cancel once, bad tokens", async () => {
    const { vm, env, byMethod, worker } = await start();
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map((s) => readSlot(vm, s))).toEqual([0, 0, 4, 0, 0, 0, 2, 0, 0, 1, 2, 2, 2]);
    // Unary 5, Bidi 6, (nowhere: none), Proto 10, Ghost 9, Cancelled 13.
    expect([300, 304, 308, 312, 316, 320].map((a) => u32(vm, a))).toEqual([5, 6, 0, 10, 9, 13]);
    const unary = byMethod("Unary");
    expect(unary.request).toMatchObject({ cluster: "backend", service: "pkg.Svc", method: "Unary", timeoutMs: 1500, metadata: [["x-md", "plugin"]] });
    expect(unary.sent).toEqual([{ message: te.encode("hello"), endStream: true }]);
    expect(byMethod("Bidi").request.timeoutMs).toBe(0);
    expect(byMethod("Bidi").sent).toEqual([{ message: te.encode("m1"), endStream: false }]);
    expect(byMethod("Proto").request).toMatchObject({ cluster: "backend", authority: "auth.example", metadata: [["x-svc", "proto"], ["x-md", "plugin"]] });
    expect(byMethod("Cancelled").cancelled).toBe(true);
    expect(worker.some((s) => s.request.cluster === "ghost" || s.request.method === "Empty")).toBe(false);
    env.clock.flushPosted();
  });

  it("unary: one proxy_on_grpc_receive with buffer 5 (no metadata callbacks, no close); nothing readable after", async () => {
    const { vm, env, rootId, byMethod } = await start();
    byMethod("Unary").reply({ messages: ["pong"], initial: [["x-initial", "i"]], trailers: [["x-trailer", "t"]] });
    env.clock.flushPosted();
    const evs = events(vm).filter((e) => e[2] === 5);
    expect(evs).toEqual([["receive", rootId, 5, 4]]);
    expect(readSlot(vm, 23)).toBe(0);
    expect(text(vm, 408)).toBe("pong");
    env.clock.advance(1000);
    expect([30, 31, 32].map((s) => readSlot(vm, s))).toEqual([2, 2, 0]);
    expect(u32(vm, 448)).toBe(0); // buffer 5 is empty outside the callback
  });

  it("unary failure: proxy_on_grpc_close with the status; get_status gives (code, message) in the callback only", async () => {
    const { vm, env, rootId, byMethod } = await start();
    byMethod("Unary").reply({ status: 7, message: "denied" });
    env.clock.flushPosted();
    expect(events(vm).filter((e) => e[2] === 5)).toEqual([["close", rootId, 5, 7]]);
    expect(readSlot(vm, 25)).toBe(0);
    expect([u32(vm, 432), text(vm, 436)]).toEqual([7, "denied"]);
    // send on a call token -> BadArgument; close cancels it (Ok), then it is gone (NotFound).
    expect([26, 27, 28].map((s) => readSlot(vm, s))).toEqual([2, 0, 1]);
    env.clock.advance(1000);
    expect(readSlot(vm, 33)).toBe(0);
    expect(text(vm, 436)).toBe("");
  });

  it("unary OK without a message closes with 13", async () => {
    const { vm, env, byMethod } = await start();
    byMethod("Unary").reply({});
    env.clock.flushPosted();
    expect(events(vm).filter((e) => e[2] === 5).map((e) => [e[0], e[3]])).toEqual([["close", 13]]);
  });

  it("stream: initial metadata (map 4), messages (buffer 5), trailing metadata (map 5), close; maps read-only", async () => {
    const { vm, env, rootId, byMethod } = await start();
    const s = byMethod("Bidi");
    s.initialMetadata([[":status", "200"], ["x-initial", "hello"]]);
    env.clock.flushPosted();
    const mine = () => events(vm).filter((e) => e[2] === 6);
    expect(mine()).toEqual([["initial", rootId, 6, 2]]);
    expect(text(vm, 400)).toBe("hello");
    expect([20, 21, 22].map((i) => readSlot(vm, i))).toEqual([0, 2, 2]);
    s.message("one");
    s.message("two");
    env.clock.flushPosted();
    expect(mine().slice(1)).toEqual([["receive", rootId, 6, 3], ["receive", rootId, 6, 3]]);
    expect(text(vm, 408)).toBe("two");
    s.trailers([["grpc-status", "0"], ["x-trailer", "bye"]]);
    s.close(0, "");
    env.clock.flushPosted();
    expect(mine().slice(3)).toEqual([["trailing", rootId, 6, 2], ["close", rootId, 6, 0]]);
    expect(readSlot(vm, 24)).toBe(0);
    expect(text(vm, 424)).toBe("bye");
    // After the remote close the stream stays until the plugin closes its side: send Ok (dropped),
    // close Ok (now gone), close again NotFound.
    expect([26, 27, 28].map((i) => readSlot(vm, i))).toEqual([0, 0, 1]);
    expect(s.sent.map((m) => new TextDecoder().decode(m.message))).toEqual(["m1"]);
  });

  it("GrpcService proto naming an unknown cluster is accepted and closes with 14 Cluster not available", async () => {
    const { vm, env, rootId } = await start();
    env.clock.flushPosted();
    expect(events(vm).filter((e) => e[2] === 9)).toEqual([["close", rootId, 9, 14]]);
    expect(text(vm, 436)).toBe("Cluster not available");
  });

  it("cancel: no callback for a cancelled stream; grpc_close half-closes a stream", async () => {
    const { vm, env, byMethod, plugin } = await start();
    byMethod("Cancelled").reply({ messages: ["late"] });
    env.clock.flushPosted();
    expect(events(vm).filter((e) => e[2] === 13)).toEqual([]);
    await plugin.close();
    // Closing the plugin resets what is still open.
    expect(byMethod("Bidi").cancelled).toBe(true);
    expect(byMethod("Proto").cancelled).toBe(true);
  });
});
