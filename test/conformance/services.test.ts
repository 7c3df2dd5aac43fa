/**
 * Host services called from the hostcalls guest, values and side effects checked against Envoy
 * (reference §2.2, §2.6, §2.7): properties, metrics (and the stats store), shared data, shared
 * queues, timers, logging, configuration buffers, stream control, foreign functions, proxy_done
 * and http_call argument checks.
 */
import { deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { ProtoWriter } from "../../manager/src/sidecar/host/foreign.ts";
import { LogLevel, createTestEnvironment, openTestStream } from "../../manager/src/sidecar/host/index.ts";
import { encodePairs } from "../../manager/src/sidecar/host/pairs.ts";
import { out, readOutBytes, readOutText, readU32, readU64, type Step } from "./hostcalls-guest.ts";
import { REQUEST, RESPONSE, runHostcalls, startHostcalls, streamInfo } from "./hostcalls-run.ts";

const te = new TextEncoder();
const u64le = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, 8).getBigInt64(0, true);
const statuses = (rs: Array<{ status: number }>) => rs.map((r) => r.status);

describe("properties", () => {
  it("reads stream, connection and plugin values with Envoy's encodings", async () => {
    const names = ["request\0path", "request\0method", "request\0url_path", "request\0query", "source\0address", "destination\0port", "plugin_name", "plugin_vm_id", "connection_id", "request\0headers\0content-type"];
    const steps: Step[] = names.map((n, i) => ({ on: "request_headers", call: "proxy_get_property", args: [n, out(30 + i), out(30 + i) + 4] }));
    const { plugin, vm, results } = await startHostcalls(steps);
    openTestStream(plugin, { streamInfo: streamInfo() }).sendRequestHeaders(REQUEST);
    expect(statuses(results())).toEqual(names.map(() => 0));
    const text = (i: number) => readOutText(vm(), 30 + i);
    expect([0, 1, 2, 3, 4].map(text)).toEqual(["/pkg.Svc/Call?x=1", "POST", "/pkg.Svc/Call", "x=1", "10.0.0.1:5000"]);
    expect(u64le(readOutBytes(vm(), 35))).toBe(8080n);
    expect([text(6), text(7)]).toEqual(["test-plugin", "vm"]);
    expect(u64le(readOutBytes(vm(), 38))).toBe(7n);
    expect(text(9)).toBe("application/grpc");
  });

  it("limits root contexts, drops the legacy names and falls back to filter state wasm.<name>", async () => {
    const steps: Step[] = [
      { on: "configure", call: "proxy_get_property", args: ["plugin_root_id", out(30), out(30) + 4] },
      { on: "configure", call: "proxy_get_property", args: ["request\0path", out(31), out(31) + 4] },
      { on: "configure", call: "proxy_get_property", args: ["xds\0node\0id", out(32), out(32) + 4] },
      { on: "configure", call: "proxy_set_property", args: ["k", "v"] },
      { on: "request_headers", call: "proxy_get_property", args: ["route_metadata", out(33), out(33) + 4] },
      { on: "request_headers", call: "proxy_get_property", args: ["cluster_name", out(33), out(33) + 4] },
      { on: "request_headers", call: "proxy_get_property", args: ["node", out(33), out(33) + 4] },
      { on: "request_headers", call: "proxy_set_property", args: ["my_key", "my-value"] },
      { on: "request_headers", call: "proxy_get_property", args: ["my_key", out(34), out(34) + 4] },
      { on: "request_headers", call: "proxy_get_property", args: ["filter_state\0wasm.my_key", out(35), out(35) + 4] },
      { on: "request_headers", call: "proxy_get_property", args: ["xds\0cluster_name", out(36), out(36) + 4] },
    ];
    const env = createTestEnvironment();
    env.node = { id: "sidecar~1", cluster: "c" };
    const { plugin, vm, results } = await startHostcalls(steps, { rootId: "my-root" }, env);
    const s = openTestStream(plugin, { streamInfo: streamInfo() });
    s.sendRequestHeaders(REQUEST);
    expect(statuses(results())).toEqual([0, 1, 0, 1, 1, 1, 1, 0, 0, 0, 1]);
    expect(readOutText(vm(), 30)).toBe("my-root");
    expect(readOutText(vm(), 32)).toBe("sidecar~1");
    expect(readOutText(vm(), 34)).toBe("my-value");
    expect(readOutText(vm(), 35)).toBe("my-value");
    expect(new TextDecoder().decode(s.streamInfo.filterState.get("wasm.my_key")?.bytes)).toBe("my-value");
  });
});

describe("metrics", () => {
  it("follows Envoy's define/increment/record/get rules and shows wasmcustom.<name> in the stats store", async () => {
    const C = { load: out(30) };
    const G = { load: out(31) };
    const H = { load: out(32) };
    const steps: Step[] = [
      { on: "configure", call: "proxy_define_metric", args: [0, "reqs", out(30)] },
      { on: "configure", call: "proxy_define_metric", args: [1, "inflight", out(31)] },
      { on: "configure", call: "proxy_define_metric", args: [2, "latency", out(32)] },
      { on: "configure", call: "proxy_define_metric", args: [3, "bad", out(33)] },
      { on: "request_headers", call: "proxy_increment_metric", args: [C, 1n] },
      { on: "request_headers", call: "proxy_increment_metric", args: [C, 0n] },
      { on: "request_headers", call: "proxy_increment_metric", args: [C, -1n] },
      { on: "request_headers", call: "proxy_record_metric", args: [C, 5n] },
      { on: "request_headers", call: "proxy_increment_metric", args: [G, 3n] },
      { on: "request_headers", call: "proxy_increment_metric", args: [G, -1n] },
      { on: "request_headers", call: "proxy_record_metric", args: [G, 7n] },
      { on: "request_headers", call: "proxy_increment_metric", args: [H, 1n] },
      { on: "request_headers", call: "proxy_record_metric", args: [H, 42n] },
      { on: "request_headers", call: "proxy_get_metric", args: [H, out(34)] },
      { on: "request_headers", call: "proxy_get_metric", args: [C, out(35)] },
      { on: "request_headers", call: "proxy_get_metric", args: [G, out(36)] },
      { on: "request_headers", call: "proxy_get_metric", args: [4 + 400, out(37)] },
      { on: "request_headers", call: "proxy_increment_metric", args: [5 + 400, 1n] },
      { on: "request_headers", call: "proxy_record_metric", args: [6 + 400, 1n] },
      { on: "request_headers", call: "proxy_increment_metric", args: [7, 1n] },
      { on: "request_headers", call: "proxy_record_metric", args: [7, 1n] },
      { on: "request_headers", call: "proxy_get_metric", args: [7, out(37)] },
    ];
    const { plugin, env, vm, results } = await startHostcalls(steps);
    openTestStream(plugin).sendRequestHeaders(REQUEST, true);
    expect(statuses(results())).toEqual([0, 0, 0, 2, 0, 2, 2, 0, 0, 0, 0, 2, 0, 2, 0, 0, 1, 1, 1, 2, 1, 2]);
    // ids are 4n + type per VM; the worker defined them after nothing else
    expect([readU32(vm(), out(30)), readU32(vm(), out(31)), readU32(vm(), out(32))]).toEqual([4, 5, 6]);
    expect(readU64(vm(), out(35))).toBe(6n);
    expect(readU64(vm(), out(36))).toBe(7n);
    // canary + worker share the store: the counter saw only the worker's stream
    expect(env.stats.counter("wasmcustom.reqs").value()).toBe(6n);
    expect(env.stats.gauge("wasmcustom.inflight").value()).toBe(7n);
    expect(env.stats.find("wasmcustom.latency")).toBeDefined();
  });
});

describe("shared data and queues", () => {
  it("CAS: 0 writes unconditionally, a stale cas is CasMismatch, every write gets a new cas", async () => {
    const steps: Step[] = [
      { on: "configure", call: "proxy_set_shared_data", args: ["k", "v1", 0] },
      { on: "configure", call: "proxy_get_shared_data", args: ["k", out(30), out(30) + 4, out(31)] },
      { on: "configure", call: "proxy_set_shared_data", args: ["k", "v2", { load: out(31) }] },
      { on: "configure", call: "proxy_set_shared_data", args: ["k", "v3", { load: out(31) }] },
      { on: "configure", call: "proxy_get_shared_data", args: ["k", out(32), out(32) + 4, out(33)] },
      { on: "configure", call: "proxy_get_shared_data", args: ["missing", out(34), out(34) + 4, out(35)] },
    ];
    const env = createTestEnvironment();
    const { vm, results } = await startHostcalls(steps, {}, env);
    expect(statuses(results())).toEqual([0, 0, 0, 8, 0, 1]);
    expect(readOutText(vm(), 32)).toBe("v2");
    expect(readU32(vm(), out(33))).toBeGreaterThan(readU32(vm(), out(31)));
    // keyed by vm_id: another vm_id does not see "k"; the same vm_id does
    const probe: Step[] = [{ on: "configure", call: "proxy_get_shared_data", args: ["k", out(30), out(30) + 4, out(31)] }];
    const other = await startHostcalls(probe, { vmId: "other" }, env);
    expect(statuses(other.results())).toEqual([1]);
    const same = await startHostcalls(probe, { rootId: "another-root" }, env);
    expect(statuses(same.results())).toEqual([0]);
    expect(readOutText(same.vm(), 30)).toBe("v2");
  });

  it("queues: resolve by vm_id, Empty when drained, on_queue_ready posted to the last registrant", async () => {
    const steps: Step[] = [
      { on: "configure", call: "proxy_register_shared_queue", args: ["jobs", out(30)] },
      { on: "request_headers", call: "proxy_resolve_shared_queue", args: ["vm", "jobs", out(31)] },
      { on: "request_headers", call: "proxy_resolve_shared_queue", args: ["other-vm", "jobs", out(32)] },
      { on: "request_headers", call: "proxy_enqueue_shared_queue", args: [{ load: out(31) }, "job-1"] },
      { on: "request_headers", call: "proxy_dequeue_shared_queue", args: [{ load: out(30) }, out(33), out(33) + 4] },
      { on: "request_headers", call: "proxy_dequeue_shared_queue", args: [{ load: out(30) }, out(34), out(34) + 4] },
      { on: "request_headers", call: "proxy_enqueue_shared_queue", args: [{ load: out(31) }, "job-2"] },
      { on: "queue_ready", call: "proxy_dequeue_shared_queue", args: [{ load: out(30) }, out(35), out(35) + 4] },
      { on: "queue_ready", call: "proxy_log", args: [2, "queue ready"] },
    ];
    const { plugin, env, vm, results } = await startHostcalls(steps);
    openTestStream(plugin).sendRequestHeaders(REQUEST, true);
    const r = results();
    expect(statuses(r.slice(0, 7))).toEqual([0, 0, 1, 0, 0, 7, 0]);
    expect(readU32(vm(), out(31))).toBe(readU32(vm(), out(30)));
    expect(readOutText(vm(), 33)).toBe("job-1");
    expect(r[7]!.hits).toBe(0); // posted, not yet delivered
    env.clock.flushPosted();
    // one post per enqueue: the first finds job-2, the second an empty queue (out-param untouched)
    expect(results()[7]).toEqual({ status: 7, hits: 2 });
    expect(readOutText(vm(), 35)).toBe("job-2");
    expect(env.logLines().filter((l) => l.endsWith("queue ready"))).toEqual(["wasm log root vm: queue ready", "wasm log root vm: queue ready"]);
  });
});

describe("timers, time and logging", () => {
  it("ticks one period after the call on the VirtualClock, 0 cancels, a stream sets the root's timer", async () => {
    const steps: Step[] = [
      { on: "configure", call: "proxy_set_tick_period_milliseconds", args: [100] },
      { on: "tick", call: "proxy_get_current_time_nanoseconds", args: [out(30)] },
      { on: "request_headers", call: "proxy_set_tick_period_milliseconds", args: [0] },
    ];
    const { plugin, env, vm, results } = await startHostcalls(steps);
    env.clock.advance(99);
    expect(results()[1]!.hits).toBe(0);
    env.clock.advance(1);
    expect(results()[1]!.hits).toBe(1);
    expect(readU64(vm(), out(30))).toBe(env.clock.nowWallNs());
    env.clock.advance(250);
    expect(results()[1]!.hits).toBe(3);
    openTestStream(plugin).sendRequestHeaders(REQUEST, true); // period 0 from a stream cancels the root's timer
    env.clock.advance(1000);
    expect(results()[1]!.hits).toBe(3);
  });

  it("logs each level with Envoy's prefix, filters below the wasm logger level, reports the level", async () => {
    const steps: Step[] = [
      ...[0, 1, 2, 3, 4, 5].map((l): Step => ({ on: "configure", call: "proxy_log", args: [l, `level ${l}`] })),
      { on: "configure", call: "proxy_get_log_level", args: [out(30)] },
      { on: "request_headers", call: "proxy_log", args: [3, "from stream"] },
    ];
    const env = createTestEnvironment({ logLevel: LogLevel.Debug });
    const { plugin, vm, results } = await startHostcalls(steps, { name: "authz", rootId: "r1", vmId: "v1" }, env);
    openTestStream(plugin).sendRequestHeaders(REQUEST, true);
    expect(statuses(results())).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(readU32(vm(), out(30))).toBe(LogLevel.Debug);
    const worker = env.logs.slice(-6);
    expect(worker.map((l) => [l.level, l.line])).toEqual([
      [1, "wasm log r1 v1: level 1"],
      [2, "wasm log r1 v1: level 2"],
      [3, "wasm log r1 v1: level 3"],
      [4, "wasm log r1 v1: level 4"],
      [5, "wasm log r1 v1: level 5"],
      [3, "wasm log authz r1 v1: from stream"],
    ]);
    // empty root_id and vm_id: "wasm log: msg" (the Go SDK end-to-end tests' expectation)
    const bare = await startHostcalls([{ on: "configure", call: "proxy_log", args: [2, "hi"] }], { rootId: "", vmId: "" });
    expect(bare.env.logLines()).toContain("wasm log: hi");
  });
});

describe("configuration buffers", () => {
  it("gives the VM configuration in on_vm_start and the plugin configuration in on_configure only", async () => {
    const steps: Step[] = [
      { on: "vm_start", call: "proxy_get_buffer_status", args: [6, out(30), out(30) + 4] },
      { on: "vm_start", call: "proxy_get_buffer_bytes", args: [7, 0, 100, out(31), out(31) + 4] },
      { on: "configure", call: "proxy_get_buffer_bytes", args: [7, 2, 5, out(32), out(32) + 4] },
      { on: "configure", call: "proxy_get_buffer_bytes", args: [7, 100, 5, out(33), out(33) + 4] },
      { on: "configure", call: "proxy_set_buffer_bytes", args: [7, 0, 0, "x"] },
      { on: "configure", call: "proxy_get_buffer_status", args: [7, out(34), out(34) + 4] },
      { on: "request_headers", call: "proxy_get_buffer_bytes", args: [7, 0, 100, out(35), out(35) + 4] },
    ];
    const { plugin, vm, results } = await startHostcalls(steps, { configuration: te.encode("plugin-config") });
    openTestStream(plugin).sendRequestHeaders(REQUEST, true);
    expect(statuses(results())).toEqual([0, 1, 0, 0, 2, 0, 1]);
    expect(readU32(vm(), out(30))).toBeGreaterThan(0); // the program itself is the VM configuration
    expect(readOutText(vm(), 32)).toBe("ugin-");
    expect([readU32(vm(), out(33)), readU32(vm(), out(33) + 4)]).toEqual([0, 0]); // past the end: (0, 0)
    expect(readU32(vm(), out(34))).toBe("plugin-config".length);
  });

  it("reads the http_call response body only during the callback; it is read-only", async () => {
    const headers = encodePairs([[":method", "GET"], [":path", "/"], [":authority", "up"]]);
    const steps: Step[] = [
      { on: "request_headers", call: "proxy_http_call", args: ["upstream", headers, "", "", 0, out(30)] },
      { on: "request_headers", call: "proxy_http_call", args: ["upstream", headers, "", "", -1, out(30)] },
      { on: "http_call_response", call: "proxy_get_buffer_bytes", args: [4, 0, 100, out(31), out(31) + 4] },
      { on: "http_call_response", call: "proxy_set_buffer_bytes", args: [4, 0, 0, "x"] },
      { on: "http_call_response", call: "proxy_get_header_map_pairs", args: [6, out(32), out(32) + 4] },
    ];
    const run = await runHostcalls(steps);
    expect(statuses(run.results)).toEqual([0, 2, 0, 2, 0]);
    expect(readOutText(run.vm, 31)).toBe("pong");
  });
});

describe("stream control, foreign functions, proxy_done", () => {
  it("close_stream(HTTP_REQUEST) resets with wasm_close_stream after the callback; UPSTREAM continue is Unimplemented", async () => {
    const steps: Step[] = [
      { on: "request_headers", call: "proxy_continue_stream", args: [3] },
      { on: "request_headers", call: "proxy_close_stream", args: [0] },
      { on: "request_headers", call: "proxy_log", args: [2, "after close"] },
    ];
    const { plugin, env, results } = await startHostcalls(steps);
    const s = openTestStream(plugin);
    s.sendRequestHeaders(REQUEST, true);
    expect(statuses(results())).toEqual([12, 0, 0]);
    expect(s.resetDetails).toBe("wasm_close_stream");
    expect(s.streamInfo.responseCodeDetails).toBe("wasm_close_stream");
    expect(env.logLines()).toContain("wasm log test-plugin root vm: after close");
  });

  it("continue_stream(HTTP_RESPONSE) from an http_call response resumes a paused response", async () => {
    const headers = encodePairs([[":method", "GET"], [":path", "/"], [":authority", "up"]]);
    const steps: Step[] = [
      { on: "response_headers", call: "proxy_http_call", args: ["upstream", headers, "", "", 0, out(30)] },
      { on: "response_headers", call: "return", args: [1] },
      { on: "http_call_response", call: "proxy_set_effective_context", args: [2] },
      { on: "http_call_response", call: "proxy_continue_stream", args: [1] },
    ];
    const env = createTestEnvironment();
    env.httpCalls.addCluster("upstream", () => ({ headers: [[":status", "200"]], body: new Uint8Array(0), trailers: [] }));
    const { plugin, results } = await startHostcalls(steps, {}, env);
    const s = openTestStream(plugin);
    s.sendRequestHeaders(REQUEST, true);
    s.sendResponseHeaders(RESPONSE, true);
    expect(s.downstream.headers).toBeUndefined();
    env.clock.flushPosted();
    expect(statuses(results())).toEqual([0, 0, 0, 0]);
    expect(s.downstream.headers?.get(":status")).toBe("200");
  });

  it("calls Envoy's foreign functions: declare_property + set_property, set_envoy_filter_state, compress/uncompress", async () => {
    const decl = new ProtoWriter().string(1, "ro_prop").bool(2, true).finish();
    const fs = new ProtoWriter().string(1, "envoy.tcp_proxy.cluster").string(2, "backend").finish();
    const fsBad = new ProtoWriter().string(1, "envoy.not.registered").string(2, "x").finish();
    const z = new Uint8Array(deflateSync(Buffer.from("zipped")));
    const steps: Step[] = [
      { on: "configure", call: "proxy_call_foreign_function", args: ["declare_property", decl, out(30), out(30) + 4] },
      { on: "configure", call: "proxy_call_foreign_function", args: ["declare_property", decl, out(30), out(30) + 4] },
      { on: "request_headers", call: "proxy_set_property", args: ["ro_prop", "once"] },
      { on: "request_headers", call: "proxy_set_property", args: ["ro_prop", "twice"] },
      { on: "request_headers", call: "proxy_call_foreign_function", args: ["set_envoy_filter_state", fs, out(31), out(31) + 4] },
      { on: "request_headers", call: "proxy_call_foreign_function", args: ["set_envoy_filter_state", fsBad, out(31), out(31) + 4] },
      { on: "request_headers", call: "proxy_call_foreign_function", args: ["compress", "abc", out(32), out(32) + 4] },
      { on: "request_headers", call: "proxy_call_foreign_function", args: ["uncompress", z, out(33), out(33) + 4] },
      { on: "request_headers", call: "proxy_call_foreign_function", args: ["uncompress", "not zlib", out(34), out(34) + 4] },
      { on: "request_headers", call: "proxy_call_foreign_function", args: ["expr_create", "x", out(34), out(34) + 4] },
    ];
    const { plugin, vm, results } = await startHostcalls(steps);
    const s = openTestStream(plugin);
    s.sendRequestHeaders(REQUEST, true);
    expect(statuses(results())).toEqual([0, 2, 0, 2, 0, 1, 0, 0, 3, 1]);
    expect(new TextDecoder().decode(s.streamInfo.filterState.get("wasm.ro_prop")?.bytes)).toBe("once");
    expect(s.streamInfo.filterState.has("envoy.tcp_proxy.cluster")).toBe(true);
    expect(readOutBytes(vm(), 32)).toEqual(new Uint8Array(deflateSync(Buffer.from("abc"))));
    expect(readOutText(vm(), 33)).toBe("zipped");
  });

  it("proxy_done: NotFound unless the root's on_done returned false; then on_delete follows after the call", async () => {
    const steps: Step[] = [
      { on: "configure", call: "proxy_set_tick_period_milliseconds", args: [10] },
      { on: "root_done", call: "return", args: [0] },
      { on: "root_done", call: "proxy_done", args: [] },
      { on: "request_headers", call: "proxy_done", args: [] },
      { on: "tick", call: "proxy_done", args: [] },
      { on: "root_delete", call: "proxy_log", args: [2, "deleted"] },
    ];
    const { plugin, env, results } = await startHostcalls(steps);
    env.clock.advance(10);
    expect(results()[4]).toEqual({ status: 1, hits: 1 }); // not closing: NotFound
    openTestStream(plugin).sendRequestHeaders(REQUEST, true);
    let closed = false;
    const closing = plugin.close().then(() => (closed = true));
    await Promise.resolve();
    expect(closed).toBe(false);
    expect(statuses(results()).slice(2, 4)).toEqual([1, 1]); // inside on_done itself, and from a stream: NotFound
    env.clock.advance(10);
    expect(results()[4]).toEqual({ status: 0, hits: 2 });
    await closing;
    expect(env.logLines().at(-1)).toBe("wasm log root vm: deleted");
  });
});
