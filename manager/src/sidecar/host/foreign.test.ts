import { describe, expect, it } from "vitest";
import { deflateSync } from "node:zlib";
import { WasmResult } from "./abi.ts";
import { ENVOY_FILTER_STATE_KEYS, ProtoWriter, callForeignFunction, parseMessage, type PropertyPrototype } from "./foreign.ts";
import { getProperty, setProperty, type PropertyScope } from "./properties.ts";
import { StreamInfo } from "../http/stream-info.ts";
import { VirtualClock } from "./clock.ts";

const te = new TextEncoder();
const td = new TextDecoder();
const stream = () => new StreamInfo({ wallMs: 0, monoNs: 0n });

/** DeclarePropertyArguments {name=1, readonly=2, type=3, span=4, schema=5}. */
const declareArgs = (name: string, opts: { readonly?: boolean; type?: number; span?: number } = {}) =>
  new ProtoWriter().string(1, name).bool(2, opts.readonly ?? false).uint(3, opts.type ?? 0).uint(4, opts.span ?? 0).finish();
/** SetEnvoyFilterStateArguments {path=1, value=2, span=3}. */
const filterStateArgs = (path: string, value: string, span = 0) => new ProtoWriter().string(1, path).string(2, value).uint(3, span).finish();

describe("compress / uncompress", () => {
  it("compress produces zlib data that uncompress restores", () => {
    const input = te.encode("hello hello hello hello");
    const c = callForeignFunction("compress", input, {});
    expect(c.result).toBe(WasmResult.Ok);
    expect(c.value![0]).toBe(0x78); // zlib header
    expect(new Uint8Array(deflateSync(input))).toEqual(c.value);
    expect(callForeignFunction("uncompress", c.value!, {})).toEqual({ result: WasmResult.Ok, value: input });
  });

  it("compresses empty input", () => {
    const c = callForeignFunction("compress", new Uint8Array(0), {});
    expect(callForeignFunction("uncompress", c.value!, {}).value).toEqual(new Uint8Array(0));
  });

  it.each([
    ["garbage", te.encode("not zlib")],
    ["truncated", new Uint8Array(deflateSync(te.encode("abcdefabcdef"))).slice(0, 5)],
  ])("uncompress of %s is SerializationFailure", (_n, bytes) => {
    expect(callForeignFunction("uncompress", bytes, {}).result).toBe(WasmResult.SerializationFailure);
  });
});

describe("declare_property", () => {
  it("records a prototype in the root table; a second declaration is BadArgument", () => {
    const declared = new Map<string, PropertyPrototype>();
    expect(callForeignFunction("declare_property", declareArgs("p", { readonly: true, type: 1, span: 1 }), { declaredProperties: declared }).result).toBe(WasmResult.Ok);
    expect(declared.get("p")).toEqual({ readOnly: true, type: "string", span: 1 });
    expect(callForeignFunction("declare_property", declareArgs("p"), { declaredProperties: declared }).result).toBe(WasmResult.BadArgument);
  });

  it.each([
    [0, "bytes"],
    [1, "string"],
    [2, "flatbuffers"],
    [3, "protobuf"],
    [9, "bytes"],
  ])("WasmType %d -> %s", (type, expected) => {
    const declared = new Map<string, PropertyPrototype>();
    callForeignFunction("declare_property", declareArgs("p", { type }), { declaredProperties: declared });
    expect(declared.get("p")!.type).toBe(expected);
  });

  it("a declared read-only property is write-once through proxy_set_property", () => {
    const declared = new Map<string, PropertyPrototype>();
    callForeignFunction("declare_property", declareArgs("ro", { readonly: true, type: 1 }), { declaredProperties: declared });
    const s = stream();
    const scope: PropertyScope = { stream: s, plugin: { name: "f", rootId: "", vmId: "" }, isRootContext: false, clock: new VirtualClock(), declaredProperties: declared };
    expect(setProperty(["ro"], te.encode("one"), scope)).toBe(WasmResult.Ok);
    expect(setProperty(["ro"], te.encode("two"), scope)).toBe(WasmResult.BadArgument);
    expect(td.decode(getProperty(["ro"], scope).value)).toBe("one");
    expect(s.filterState.get("wasm.ro")).toMatchObject({ type: "string", readOnly: true });
  });

  it("without a root table, declares on the stream: absent until set, then write-once", () => {
    const s = stream();
    expect(callForeignFunction("declare_property", declareArgs("x", { readonly: true }), { stream: s }).result).toBe(WasmResult.Ok);
    const scope: PropertyScope = { stream: s, plugin: { name: "", rootId: "", vmId: "" }, isRootContext: false, clock: new VirtualClock() };
    expect(getProperty(["x"], scope).result).toBe(WasmResult.NotFound);
    expect(setProperty(["x"], te.encode("v"), scope)).toBe(WasmResult.Ok);
    expect(setProperty(["x"], te.encode("w"), scope)).toBe(WasmResult.BadArgument);
    expect(getProperty(["x"], scope).value).toEqual(te.encode("v"));
  });

  it("with neither a root table nor a stream -> NotFound", () => {
    expect(callForeignFunction("declare_property", declareArgs("x"), {}).result).toBe(WasmResult.NotFound);
  });

  it.each([
    ["truncated varint", Uint8Array.of(0x08)],
    ["length past the end", Uint8Array.of(0x0a, 0x05, 0x61)],
    ["field number 0", Uint8Array.of(0x00, 0x01)],
    ["group wire type", Uint8Array.of(0x0b)],
    ["invalid UTF-8 name", Uint8Array.of(0x0a, 0x01, 0xff)],
  ])("bad protobuf (%s) -> BadArgument", (_n, bytes) => {
    expect(callForeignFunction("declare_property", bytes, { declaredProperties: new Map() }).result).toBe(WasmResult.BadArgument);
  });
});

describe("set_envoy_filter_state", () => {
  it.each(ENVOY_FILTER_STATE_KEYS.filter((k) => !k.includes("original_dst") && !k.includes("dynamic_port")))(
    "stores %s as a string",
    (key) => {
      const s = stream();
      expect(callForeignFunction("set_envoy_filter_state", filterStateArgs(key, "value", 1), { stream: s }).result).toBe(WasmResult.Ok);
      expect(s.filterState.get(key)).toEqual({ bytes: te.encode("value"), type: "string", readOnly: false, span: 1 });
    },
  );

  it.each<[string, string, WasmResult]>([
    ["envoy.upstream.dynamic_port", "8080", WasmResult.Ok],
    ["envoy.upstream.dynamic_port", "port", WasmResult.BadArgument],
    ["envoy.upstream.dynamic_port", "4294967296", WasmResult.BadArgument],
    ["envoy.network.transport_socket.original_dst_address", "10.0.0.1:80", WasmResult.Ok],
    ["envoy.network.transport_socket.original_dst_address", "[::1]:80", WasmResult.Ok],
    ["envoy.network.transport_socket.original_dst_address", "10.0.0.1", WasmResult.BadArgument],
    ["envoy.network.transport_socket.original_dst_address", "host:80", WasmResult.BadArgument],
    ["envoy.network.transport_socket.original_dst_address", "10.0.0.1:70000", WasmResult.BadArgument],
    ["not.registered", "x", WasmResult.NotFound],
  ])("%s = %s -> %d", (key, value, expected) => {
    const s = stream();
    expect(callForeignFunction("set_envoy_filter_state", filterStateArgs(key, value), { stream: s }).result).toBe(expected);
    expect(s.filterState.has(key)).toBe(expected === WasmResult.Ok);
  });

  it("needs a stream", () => {
    expect(callForeignFunction("set_envoy_filter_state", filterStateArgs("envoy.string", "v"), {}).result).toBe(WasmResult.NotFound);
  });

  it("bad protobuf -> BadArgument", () => {
    expect(callForeignFunction("set_envoy_filter_state", Uint8Array.of(0x12, 0x09), { stream: stream() }).result).toBe(WasmResult.BadArgument);
  });
});

describe("other names", () => {
  it("clear_route_cache calls the stream's hook and is Ok even without one", () => {
    let cleared = 0;
    expect(callForeignFunction("clear_route_cache", new Uint8Array(0), { clearRouteCache: () => cleared++ }).result).toBe(WasmResult.Ok);
    expect(cleared).toBe(1);
    expect(callForeignFunction("clear_route_cache", new Uint8Array(0), {}).result).toBe(WasmResult.Ok);
  });

  it.each(["expr_create", "unknown", ""])("%s -> NotFound", (name) => {
    expect(callForeignFunction(name, new Uint8Array(0), { stream: stream() }).result).toBe(WasmResult.NotFound);
  });
});

describe("protobuf codec", () => {
  it("round-trips strings, bools, enums and skips unknown fields of every wire type", () => {
    const bytes = new ProtoWriter().string(1, "name").bool(2, true).uint(3, 2).double(7, 1.5).string(9, "skip").finish();
    const withFixed32 = Uint8Array.of(...bytes, (10 << 3) | 5, 1, 2, 3, 4);
    const m = parseMessage(withFixed32, [1])!;
    expect(m.string(1)).toBe("name");
    expect(m.bool(2)).toBe(true);
    expect(m.enumValue(3)).toBe(2);
    expect(m.enumValue(4)).toBe(0);
  });

  it("keeps the last value of a repeated scalar and encodes negative enums as 10-byte varints", () => {
    const w = new ProtoWriter().uint(3, 1).uint(3, -1n).finish();
    expect(w.length).toBe(1 + 1 + 1 + 10);
    expect(parseMessage(w)!.enumValue(3)).toBe(-1);
  });
});
