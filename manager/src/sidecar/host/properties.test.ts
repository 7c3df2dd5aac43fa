import { describe, expect, it } from "vitest";
import { WasmResult } from "./abi.ts";
import { getProperty, responseFlagsBitmask, setProperty, type PropertyScope } from "./properties.ts";
import { decodeBytePairs, decodePairs } from "./pairs.ts";
import { HeaderMap } from "../http/header-map.ts";
import { StreamInfo } from "../http/stream-info.ts";
import { VirtualClock } from "./clock.ts";

const te = new TextEncoder();
const td = new TextDecoder();
const i64 = (v: bigint) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, v, true);
  return b;
};
const u64 = (v: bigint) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return b;
};
const f64 = (v: number) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, v, true);
  return b;
};

function fullStream(): StreamInfo {
  const s = new StreamInfo({ wallMs: 1_700_000_000_123, monoNs: 1_000n });
  s.protocol = "HTTP/2";
  s.connectionId = 42;
  s.downstreamRemoteAddress = { address: "10.1.2.3", port: 5000 };
  s.downstreamLocalAddress = { address: "::1", port: 8080 };
  s.requestHeaders = new HeaderMap([
    [":authority", "svc.local"],
    [":path", "/pkg.Svc/Call?x=1&y=2#frag"],
    [":method", "POST"],
    [":scheme", "http"],
    ["user-agent", "grpc-node"],
    ["referer", "http://r"],
    ["x-request-id", "rid-1"],
    ["x-multi", "a"],
    ["x-multi", "b"],
  ]);
  s.bytesReceived = 17;
  s.bytesSent = 9;
  s.responseHeaders = new HeaderMap([
    [":status", "200"],
    ["content-type", "application/grpc"],
  ]);
  s.responseTrailers = new HeaderMap([["grpc-status", "5"]]);
  s.responseCode = 200;
  s.responseCodeDetails = "via_upstream";
  s.responseFlags.add("UT");
  s.responseFlags.add("URX");
  s.clusterName = "backend";
  s.routeName = "r1";
  s.virtualHostName = "vh";
  s.xds = { listenerDirection: 1, filterChainName: "fc" };
  s.upstreamHost = { address: "10.0.0.9", port: 9000 };
  s.upstreamLocalAddress = { address: "10.0.0.1", port: 40000 };
  s.upstreamRequestAttemptCount = 2;
  s.upstreamStartNs = 5_000n;
  s.upstreamFirstByteNs = 8_000n;
  s.endNs = 11_000n;
  s.dynamicMetadata.set("envoy.filters.http.jwt_authn", { payload: { sub: "alice", n: 3, ok: true, aud: ["a", "b"], nil: null } });
  return s;
}

const scopeOf = (stream?: StreamInfo, extra: Partial<PropertyScope> = {}): PropertyScope => ({
  stream,
  plugin: { name: "grpc-auth", rootId: "auth_root", vmId: "vm1" },
  node: { id: "sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local", cluster: "svc.ns" },
  isRootContext: false,
  clock: new VirtualClock(),
  ...extra,
});

const get = (path: string, scope: PropertyScope) => getProperty(path.split("\0"), scope);

describe("getProperty values on a stream", () => {
  const scope = scopeOf(fullStream());
  it.each<[string, Uint8Array]>([
    ["request\0path", te.encode("/pkg.Svc/Call?x=1&y=2#frag")],
    ["request\0url_path", te.encode("/pkg.Svc/Call")],
    ["request\0host", te.encode("svc.local")],
    ["request\0scheme", te.encode("http")],
    ["request\0method", te.encode("POST")],
    ["request\0referer", te.encode("http://r")],
    ["request\0useragent", te.encode("grpc-node")],
    ["request\0id", te.encode("rid-1")],
    ["request\0query", te.encode("x=1&y=2")],
    ["request\0protocol", te.encode("HTTP/2")],
    ["request\0size", i64(17n)],
    ["request\0time", i64(1_700_000_000_123_000_000n)],
    ["request\0duration", i64(10_000n)],
    ["request\0headers\0x-multi", te.encode("a,b")],
    ["request\0headers\0X-Multi", te.encode("a,b")],
    ["response\0code", i64(200n)],
    ["response\0code_details", te.encode("via_upstream")],
    ["response\0flags", i64(0x4n | 0x8000n)],
    ["response\0grpc_status", i64(5n)],
    ["response\0size", i64(9n)],
    ["response\0headers\0content-type", te.encode("application/grpc")],
    ["response\0trailers\0grpc-status", te.encode("5")],
    ["response\0backend_latency", i64(3_000n)],
    ["source\0address", te.encode("10.1.2.3:5000")],
    ["source\0port", i64(5000n)],
    ["destination\0address", te.encode("[::1]:8080")],
    ["destination\0port", i64(8080n)],
    ["connection\0id", u64(42n)],
    ["connection\0mtls", Uint8Array.of(0)],
    ["connection\0requested_server_name", new Uint8Array(0)],
    ["connection_id", u64(42n)],
    ["upstream\0address", te.encode("10.0.0.9:9000")],
    ["upstream\0port", i64(9000n)],
    ["upstream\0local_address", te.encode("10.0.0.1:40000")],
    ["upstream\0transport_failure_reason", new Uint8Array(0)],
    ["upstream\0request_attempt_count", u64(2n)],
    ["xds\0cluster_name", te.encode("backend")],
    ["xds\0route_name", te.encode("r1")],
    ["xds\0virtual_host_name", te.encode("vh")],
    ["xds\0listener_direction", i64(1n)],
    ["xds\0filter_chain_name", te.encode("fc")],
    ["xds\0node\0id", te.encode("sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local")],
    ["xds\0node\0cluster", te.encode("svc.ns")],
    ["plugin_name", te.encode("grpc-auth")],
    ["plugin_root_id", te.encode("auth_root")],
    ["plugin_vm_id", te.encode("vm1")],
    ["metadata\0filter_metadata\0envoy.filters.http.jwt_authn\0payload\0sub", te.encode("alice")],
    ["metadata\0filter_metadata\0envoy.filters.http.jwt_authn\0payload\0n", f64(3)],
    ["metadata\0filter_metadata\0envoy.filters.http.jwt_authn\0payload\0ok", Uint8Array.of(1)],
    ["metadata\0filter_metadata\0envoy.filters.http.jwt_authn\0payload\0aud\u00001", te.encode("b")],
    ["request\0method\0", te.encode("POST")],
  ])("%j", (path, expected) => {
    expect(get(path, scope)).toEqual({ result: WasmResult.Ok, value: expected });
  });

  it("request.headers is a pairs map with repeated keys joined", () => {
    const r = get("request\0headers", scope);
    expect(r.result).toBe(WasmResult.Ok);
    const pairs = decodePairs(r.value!);
    expect(pairs).toContainEqual([":path", "/pkg.Svc/Call?x=1&y=2#frag"]);
    expect(pairs.filter(([k]) => k === "x-multi")).toEqual([
      ["x-multi", "a,b"],
      ["x-multi", "a,b"],
    ]);
  });

  it("request.headers_bytes and total sizes use Envoy's byteSize", () => {
    const s = fullStream();
    const hb = s.requestHeaders!.byteSize();
    expect(get("request\0headers_bytes", scopeOf(s)).value).toEqual(i64(BigInt(hb)));
    expect(get("request\0total_size", scopeOf(s)).value).toEqual(i64(BigInt(17 + hb)));
    const rb = s.responseHeaders!.byteSize() + s.responseTrailers!.byteSize();
    expect(get("response\0total_size", scopeOf(s)).value).toEqual(i64(BigInt(9 + rb)));
  });

  it("xds.node serializes a Node message with id=1 and cluster=2", () => {
    const r = getProperty(["xds", "node"], scopeOf(undefined, { node: { id: "n", cluster: "c" } }));
    expect(r.value).toEqual(Uint8Array.of(0x0a, 0x01, 0x6e, 0x12, 0x01, 0x63));
  });

  it("a metadata list serializes as pairs with empty values", () => {
    const r = get("metadata\0filter_metadata\0envoy.filters.http.jwt_authn\0payload\0aud", scope);
    expect(decodePairs(r.value!)).toEqual([
      ["a", ""],
      ["b", ""],
    ]);
  });

  it("metadata serializes as an envoy.config.core.v3.Metadata message", () => {
    const s = new StreamInfo({ wallMs: 0, monoNs: 0n });
    s.dynamicMetadata.set("ns", { k: "v" });
    const r = getProperty(["metadata"], scopeOf(s));
    // filter_metadata{key "ns", value Struct{fields{key "k", value Value{string_value "v"}}}}
    const value = [0x1a, 0x01, 0x76];
    const field = [0x0a, 0x01, 0x6b, 0x12, value.length, ...value];
    const struct = [0x0a, field.length, ...field];
    const entry = [0x0a, 0x02, 0x6e, 0x73, 0x12, struct.length, ...struct];
    expect(r.value).toEqual(Uint8Array.of(0x0a, entry.length, ...entry));
  });
});

describe("getProperty misses and failures", () => {
  const scope = scopeOf(fullStream());
  it.each([
    "request\0headers\0absent",
    "request\0nope",
    "response\0nope",
    "connection\0tls_version",
    "connection\0termination_details",
    "connection\0subject_peer_certificate",
    "upstream\0tls_version",
    "xds\0node\0user_agent_name",
    "node",
    "cluster_name",
    "route_name",
    "listener_direction",
    "metadata\0filter_metadata\0absent",
    "metadata\0filter_metadata\0envoy.filters.http.jwt_authn\0payload\0aud\u00002",
    "metadata\0filter_metadata\0envoy.filters.http.jwt_authn\0payload\0aud\0x",
    "request\0method\0more",
    "filter_state\0absent",
    "upstream_filter_state\0x",
    "no_such_property",
  ])("%j -> NotFound", (path) => {
    expect(get(path, scope)).toEqual({ result: WasmResult.NotFound });
  });

  it.each(["request", "response", "source", "xds", "filter_state", "metadata\0filter_metadata\0envoy.filters.http.jwt_authn\0payload\0nil"])(
    "%j cannot be serialized whole -> SerializationFailure",
    (path) => {
      expect(get(path, scope).result).toBe(WasmResult.SerializationFailure);
    },
  );

  it("empty path -> NotFound", () => {
    expect(getProperty([], scope).result).toBe(WasmResult.NotFound);
  });
});

describe("getProperty on a stream that has not got far", () => {
  const s = new StreamInfo({ wallMs: 0, monoNs: 0n });
  const scope = scopeOf(s);
  it.each([
    "request\0path",
    "request\0headers",
    "request\0duration",
    "response\0code",
    "response\0code_details",
    "response\0grpc_status",
    "response\0backend_latency",
    "source\0address",
    "upstream\0address",
    "upstream\0request_attempt_count",
    "xds\0cluster_name",
    "xds\0virtual_host_name",
  ])("%j -> NotFound", (path) => {
    expect(get(path, scope).result).toBe(WasmResult.NotFound);
  });

  it("response.headers without a map is an empty map (zero count)", () => {
    expect(get("response\0headers", scope).value).toEqual(new Uint8Array(4));
    expect(decodeBytePairs(get("response\0headers", scope).value!)).toEqual([]);
  });

  it("response.flags is 0 and request.size falls back to bytes received", () => {
    expect(get("response\0flags", scope).value).toEqual(i64(0n));
    expect(get("request\0size", scope).value).toEqual(i64(0n));
  });
});

describe("grpc_status sources", () => {
  it.each<[string, (s: StreamInfo) => void, bigint]>([
    ["trailers-only headers", (s) => (s.responseHeaders = new HeaderMap([["grpc-status", "16"]])), 16n],
    ["trailers win over headers", (s) => ((s.responseHeaders = new HeaderMap([["grpc-status", "1"]])), (s.responseTrailers = new HeaderMap([["grpc-status", "2"]]))), 2n],
    ["invalid value", (s) => (s.responseTrailers = new HeaderMap([["grpc-status", "99"]])), -1n],
    ["HTTP 503 mapped", (s) => (s.responseCode = 503), 14n],
    ["HTTP 404 mapped", (s) => (s.responseCode = 404), 12n],
    ["HTTP 200 without grpc-status", (s) => (s.responseCode = 200), 2n],
  ])("%s", (_n, setup, expected) => {
    const s = new StreamInfo({ wallMs: 0, monoNs: 0n });
    setup(s);
    expect(get("response\0grpc_status", scopeOf(s)).value).toEqual(i64(expected));
  });
});

describe("root contexts", () => {
  const root = scopeOf(fullStream(), { isRootContext: true });
  it.each([
    ["plugin_name", te.encode("grpc-auth")],
    ["plugin_root_id", te.encode("auth_root")],
    ["plugin_vm_id", te.encode("vm1")],
    ["xds\0node\0id", te.encode("sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local")],
  ])("%j resolves", (path, expected) => {
    expect(get(path, root).value).toEqual(expected);
  });

  it.each(["request\0path", "response\0code", "source\0address", "connection_id", "xds\0cluster_name", "metadata", "anything"])(
    "%j -> NotFound",
    (path) => {
      expect(get(path, root).result).toBe(WasmResult.NotFound);
    },
  );

  it("xds.listener_direction is the plugin's listener (Envoy's Plugin::direction_), NotFound without one", () => {
    expect(get("xds\0listener_direction", scopeOf(undefined, { isRootContext: true, listenerDirection: 2 }))).toEqual({
      result: WasmResult.Ok,
      value: i64(2n),
    });
    expect(get("xds\0listener_direction", scopeOf(undefined, { isRootContext: true, listenerDirection: 0 })).value).toEqual(i64(0n));
    expect(get("xds\0listener_direction", root).result).toBe(WasmResult.NotFound);
  });

  it("a stream reads the plugin's direction, its own listener's only when the plugin has none", () => {
    const stream = fullStream(); // its listener: INBOUND (1)
    expect(get("xds\0listener_direction", scopeOf(stream, { listenerDirection: 2 })).value).toEqual(i64(2n));
    expect(get("xds\0listener_direction", scopeOf(stream)).value).toEqual(i64(1n));
  });

  it("xds.node without node info is an empty message", () => {
    expect(getProperty(["xds", "node"], scopeOf(undefined, { node: undefined, isRootContext: true }))).toEqual({
      result: WasmResult.Ok,
      value: new Uint8Array(0),
    });
  });
});

describe("response flags bitmask", () => {
  it.each<[string[], bigint]>([
    [[], 0n],
    [["UH"], 0x2n],
    [["UF", "UO", "NR"], 0x20n | 0x80n | 0x100n],
    [["DC", "DT", "SI", "DPE", "UPE", "LR", "UR", "UC", "DI", "RL", "UAEX"], 0x4000n | 0x400000n | 0x10000n | 0x40000n | 0x800000n | 0x8n | 0x10n | 0x40n | 0x200n | 0x800n | 0x1000n],
  ])("%j", (flags, expected) => {
    expect(responseFlagsBitmask(flags as never)).toBe(expected);
  });
});

describe("setProperty and the filter-state fallback", () => {
  it("writes wasm.<path> as bytes and reads it back through the fallback", () => {
    const s = new StreamInfo({ wallMs: 0, monoNs: 0n });
    const scope = scopeOf(s);
    expect(setProperty(["my_key"], te.encode("v1"), scope)).toBe(WasmResult.Ok);
    expect(s.filterState.get("wasm.my_key")).toEqual({ bytes: te.encode("v1"), type: "bytes", readOnly: false, span: 0 });
    expect(get("my_key", scope).value).toEqual(te.encode("v1"));
    expect(setProperty(["my_key"], te.encode("v2"), scope)).toBe(WasmResult.Ok);
    expect(get("my_key", scope).value).toEqual(te.encode("v2"));
    expect(get("filter_state\0wasm.my_key", scope).value).toEqual(te.encode("v2"));
  });

  it("keys a multi-segment path with NULs, and reads fall back on the first segment only", () => {
    const s = new StreamInfo({ wallMs: 0, monoNs: 0n });
    const scope = scopeOf(s);
    setProperty(["a", "b"], te.encode("x"), scope);
    expect(s.filterState.has("wasm.a\0b")).toBe(true);
    expect(get("a\0b", scope).result).toBe(WasmResult.NotFound);
    setProperty(["a"], te.encode("y"), scope);
    expect(get("a\0b", scope).result).toBe(WasmResult.NotFound);
    expect(get("a", scope).value).toEqual(te.encode("y"));
  });

  it("legacy names resolve only if a plugin wrote them", () => {
    const s = new StreamInfo({ wallMs: 0, monoNs: 0n });
    const scope = scopeOf(s);
    expect(get("cluster_name", scope).result).toBe(WasmResult.NotFound);
    setProperty(["cluster_name"], te.encode("mine"), scope);
    expect(td.decode(get("cluster_name", scope).value)).toBe("mine");
  });

  it("filter_state.<key> reads any filter state, e.g. set_envoy_filter_state values", () => {
    const s = new StreamInfo({ wallMs: 0, monoNs: 0n });
    s.filterState.set("envoy.upstream.dynamic_host", { bytes: te.encode("h"), type: "string", readOnly: false, span: 0 });
    expect(get("filter_state\0envoy.upstream.dynamic_host", scopeOf(s)).value).toEqual(te.encode("h"));
  });

  it("refuses a read-only entry", () => {
    const s = new StreamInfo({ wallMs: 0, monoNs: 0n });
    s.filterState.set("wasm.ro", { bytes: te.encode("x"), type: "bytes", readOnly: true, span: 0 });
    expect(setProperty(["ro"], te.encode("y"), scopeOf(s))).toBe(WasmResult.BadArgument);
    expect(s.filterState.get("wasm.ro")!.bytes).toEqual(te.encode("x"));
  });

  it("copies the value", () => {
    const s = new StreamInfo({ wallMs: 0, monoNs: 0n });
    const v = te.encode("abc");
    setProperty(["k"], v, scopeOf(s));
    v[0] = 0;
    expect(get("k", scopeOf(s)).value).toEqual(te.encode("abc"));
  });

  it.each([
    ["no stream", scopeOf(undefined)],
    ["root context", scopeOf(new StreamInfo({ wallMs: 0, monoNs: 0n }), { isRootContext: true })],
  ])("%s -> NotFound", (_n, scope) => {
    expect(setProperty(["k"], te.encode("v"), scope)).toBe(WasmResult.NotFound);
  });
});
