/**
 * request.headers.<name> as Envoy answers it: the CEL HeadersWrapper
 * (source/extensions/filters/common/expr/context.h) looks the lower-cased name up with
 * HeaderUtility::getAllOfHeaderAsString (source/common/http/header_utility.cc): the value itself
 * when the name occurs once, every value joined with "," when it repeats, nothing (NotFound) when
 * it is absent or when HeaderUtility::headerNameIsValid refuses the name. Checked through both
 * entry points (getProperty, and getPropertyAt, whose answer is a scratch copy).
 */
import { describe, expect, it } from "vitest";
import { WasmResult } from "./abi.ts";
import { getProperty, getPropertyAt, headerNameIsValid, joinedHeader, type PropertyScope } from "./properties.ts";
import { HeaderMap } from "../http/header-map.ts";
import { StreamInfo } from "../http/stream-info.ts";
import { VirtualClock } from "./clock.ts";

const te = new TextEncoder();

function scopeWith(pairs: Array<[string, string]>): PropertyScope {
  const stream = new StreamInfo({ wallNs: 0n, monoNs: 0n });
  stream.requestHeaders = new HeaderMap(pairs);
  stream.responseHeaders = new HeaderMap(pairs);
  return { stream, plugin: { name: "p", rootId: "r", vmId: "" }, isRootContext: false, clock: new VirtualClock(0n) };
}

/** Both entry points, the scratch answer copied at once (as the host's import does). */
function both(path: string, scope: PropertyScope): Array<{ result: WasmResult; value?: Uint8Array }> {
  const at = getPropertyAt(path, scope);
  const copied = { result: at.result, ...(at.value ? { value: at.value.slice() } : {}) };
  return [copied, getProperty(path.split("\0"), scope)];
}

const HEADERS: Array<[string, string]> = [
  [":path", "/pkg.Svc/Call"],
  ["x-once", "v1"],
  ["x-comma", "a,b"],
  ["x-twice", "first"],
  ["x-empty", ""],
  ["x-twice", "second"],
  ["x-empties", ""],
  ["x-empties", ""],
  ["x-utf8", "caf\u00e9"],
];

describe("request.headers.<name> (Envoy HeadersWrapper + getAllOfHeaderAsString)", () => {
  const scope = scopeWith(HEADERS);
  it.each<[string, string]>([
    ["x-once", "v1"],
    ["X-Once", "v1"], // LowerCaseString(key)
    ["x-comma", "a,b"], // one value containing ",": as it is
    ["x-twice", "first,second"], // repeated: joined with ","
    ["x-empty", ""],
    ["x-empties", ","], // two empty values still join to a ","
    [":path", "/pkg.Svc/Call"], // pseudo-headers are valid names
    ["x-utf8", "caf\u00e9"],
  ])("%s", (name, expected) => {
    for (const r of both(`request\0headers\0${name}`, scope)) {
      expect(r).toEqual({ result: WasmResult.Ok, value: te.encode(expected) });
    }
  });

  // (An empty name is a trailing NUL: the path is request.headers itself, as Envoy's loop reads it.)
  it.each(["x-absent", ":", "bad name", "x\u00e9", "a,b", "x:y"])("%j is NotFound", (name) => {
    for (const r of both(`request\0headers\0${name}`, scope)) expect(r).toEqual({ result: WasmResult.NotFound });
  });

  it("the first value (get_header_map_value) is shorter than the joined one exactly when the name repeats", () => {
    const map = new HeaderMap(HEADERS);
    for (const name of ["x-once", "x-comma", "x-twice", "x-empty", "x-empties", ":path", "x-utf8"]) {
      const joined = joinedHeader(map, name)!;
      expect(joined.length > map.get(name)!.length).toBe(map.getAll(name).length > 1);
    }
  });

  it("response.headers.<name> reads the same way", () => {
    expect(getProperty(["response", "headers", "x-twice"], scope)).toEqual({ result: WasmResult.Ok, value: te.encode("first,second") });
  });

  it("a root context or a stream without request headers has none", () => {
    expect(getPropertyAt("request\0headers\0x-once", { ...scope, isRootContext: true }).result).toBe(WasmResult.NotFound);
    const bare = { ...scope, stream: new StreamInfo({ wallNs: 0n, monoNs: 0n }) };
    expect(getPropertyAt("request\0headers\0x-once", bare).result).toBe(WasmResult.NotFound);
  });

  it("headerNameIsValid: an optional ':' then a non-empty RFC 9110 token, upper case allowed", () => {
    expect(["a", "X-Api-Key", ":authority", "!#$%&'*+-.^_`|~09az"].every(headerNameIsValid)).toBe(true);
    expect(["", ":", "a b", "a\u0000", "a\"", "a/b", "a(b", "\u00e9"].some(headerNameIsValid)).toBe(false);
  });

  it("a long value that is not ASCII comes back whole (scratch grows, UTF-8 encoded)", () => {
    const long = "\u00e9".repeat(300) + "x".repeat(700);
    const s = scopeWith([["x-long", long], ["x-long", "y"]]);
    const r = getPropertyAt("request\0headers\0x-long", s);
    expect(new TextDecoder().decode(r.value)).toBe(`${long},y`);
    const ascii = "k".repeat(5000);
    expect(new TextDecoder().decode(getPropertyAt("request\0headers\0x-a", scopeWith([["x-a", ascii]])).value)).toBe(ascii);
  });
});
