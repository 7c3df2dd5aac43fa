/**
 * Foreign functions Envoy registers for Wasm (envoy source/extensions/common/wasm/foreign.cc),
 * called through proxy_call_foreign_function:
 *
 * - `compress` / `uncompress`: zlib format (zlib compress()/uncompress(), i.e. node:zlib
 *   deflate/inflate). Undecodable input -> SerializationFailure.
 * - `declare_property`: args are a serialized DeclarePropertyArguments
 *   {name=1 string, readonly=2 bool, type=3 WasmType, span=4 LifeSpan, schema=5 bytes}.
 *   Envoy stores a prototype in the root context (`Context::declareProperty`): a name declared
 *   twice -> BadArgument; the prototype's type, read-only flag and life span apply when
 *   proxy_set_property first creates filter state `wasm.<name>`; read-only means write-once.
 *   The host passes the root context's table as `declaredProperties`. Without one, the
 *   declaration is recorded on the stream's filter state instead (an entry that reads as
 *   absent until the first set); with neither -> NotFound.
 * - `set_envoy_filter_state`: args are a serialized SetEnvoyFilterStateArguments
 *   {path=1 string, value=2 string, span=3 LifeSpan}. Envoy only accepts keys with a
 *   registered StreamInfo::FilterState::ObjectFactory (`Context::setEnvoyFilterState`):
 *   unknown key -> NotFound, value the factory rejects -> BadArgument, no stream -> NotFound.
 * - `clear_route_cache` (Envoy >= 1.33): clears the stream's route cache; always Ok.
 * - Anything else (including the build-dependent CEL `expr_*`) -> NotFound.
 * An undecodable protobuf -> BadArgument.
 */
import { deflateSync, inflateSync } from "node:zlib";
import { isIPv4, isIPv6 } from "node:net";
import { WasmResult } from "./abi.ts";
import type { FilterStateValue, StreamInfo } from "../http/stream-info.ts";

/** What declare_property records (Envoy's CelStatePrototype). */
export interface PropertyPrototype {
  readOnly: boolean;
  type: FilterStateValue["type"];
  /** 0 FilterChain, 1 DownstreamRequest, 2 DownstreamConnection. */
  span: number;
}

export interface ForeignCallScope {
  stream?: StreamInfo;
  clearRouteCache?: () => void;
  /** The root context's declared properties (Envoy `state_prototypes_`), keyed by name. */
  declaredProperties?: Map<string, PropertyPrototype>;
}

/** Prefix of the filter-state keys proxy_set_property writes (Envoy CelStateKeyPrefix). */
export const WASM_STATE_PREFIX = "wasm.";

/**
 * Filter-state entries created by a stream-level declare_property and not yet set: they read
 * as absent, and the first proxy_set_property applies their prototype.
 */
export const pendingDeclarations = new WeakMap<FilterStateValue, PropertyPrototype>();

const WASM_TYPES: Record<number, FilterStateValue["type"]> = { 0: "bytes", 1: "string", 2: "flatbuffers", 3: "protobuf" };

export function callForeignFunction(
  name: string,
  args: Uint8Array,
  scope: ForeignCallScope,
): { result: WasmResult; value?: Uint8Array } {
  switch (name) {
    case "compress":
      return { result: WasmResult.Ok, value: new Uint8Array(deflateSync(args)) };
    case "uncompress":
      try {
        return { result: WasmResult.Ok, value: new Uint8Array(inflateSync(args)) };
      } catch {
        return { result: WasmResult.SerializationFailure };
      }
    case "declare_property":
      return { result: declareProperty(args, scope) };
    case "set_envoy_filter_state":
      return { result: setEnvoyFilterState(args, scope) };
    case "clear_route_cache":
      scope.clearRouteCache?.();
      return { result: WasmResult.Ok };
    default:
      return { result: WasmResult.NotFound };
  }
}

function declareProperty(args: Uint8Array, scope: ForeignCallScope): WasmResult {
  const msg = parseMessage(args, [1]);
  if (!msg) return WasmResult.BadArgument;
  const name = msg.string(1) ?? "";
  const typeNum = msg.enumValue(3);
  const spanNum = msg.enumValue(4);
  const prototype: PropertyPrototype = {
    readOnly: msg.bool(2),
    type: WASM_TYPES[typeNum] ?? "bytes",
    span: spanNum >= 0 && spanNum <= 2 ? spanNum : 0,
  };
  if (scope.declaredProperties) {
    if (scope.declaredProperties.has(name)) return WasmResult.BadArgument;
    scope.declaredProperties.set(name, prototype);
    return WasmResult.Ok;
  }
  if (!scope.stream) return WasmResult.NotFound;
  const key = WASM_STATE_PREFIX + name;
  if (scope.stream.filterState.has(key)) return WasmResult.BadArgument;
  const entry: FilterStateValue = { bytes: new Uint8Array(0), type: prototype.type, readOnly: false, span: prototype.span };
  scope.stream.filterState.set(key, entry);
  pendingDeclarations.set(entry, prototype);
  return WasmResult.Ok;
}

/** Keys with an object factory in Envoy, and how each factory parses the value (null = rejected). */
const FILTER_STATE_FACTORIES: Record<string, (value: string) => boolean> = {
  "envoy.network.transport_socket.original_dst_address": isIpAndPort,
  "envoy.upstream.dynamic_host": () => true,
  "envoy.upstream.dynamic_port": (v) => /^\s*\+?\d+\s*$/.test(v) && Number(v.trim()) <= 0xffffffff,
  "envoy.tcp_proxy.cluster": () => true,
  "envoy.network.upstream_server_name": () => true,
  "envoy.network.application_protocols": () => true,
  "envoy.network.upstream_subject_alt_names": () => true,
  "envoy.string": () => true,
};

/** The filter-state keys set_envoy_filter_state accepts. */
export const ENVOY_FILTER_STATE_KEYS: readonly string[] = Object.keys(FILTER_STATE_FACTORIES);

function setEnvoyFilterState(args: Uint8Array, scope: ForeignCallScope): WasmResult {
  const msg = parseMessage(args, [1, 2]);
  if (!msg) return WasmResult.BadArgument;
  const path = msg.string(1) ?? "";
  const value = msg.string(2) ?? "";
  const spanNum = msg.enumValue(3);
  const factory = FILTER_STATE_FACTORIES[path];
  if (!factory) return WasmResult.NotFound;
  if (!factory(value)) return WasmResult.BadArgument;
  if (!scope.stream) return WasmResult.NotFound;
  // Envoy refuses (IS_ENVOY_BUG, no error to the plugin) to overwrite a read-only object.
  scope.stream.filterState.set(path, {
    bytes: new TextEncoder().encode(value),
    type: "string",
    readOnly: false,
    span: spanNum >= 0 && spanNum <= 2 ? spanNum : 0,
  });
  return WasmResult.Ok;
}

function isIpAndPort(v: string): boolean {
  const m = /^(?:\[([^\]]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(v);
  if (!m) return false;
  const port = Number(m[3]);
  if (port > 65535) return false;
  return m[1] !== undefined ? isIPv6(m[1]) : isIPv4(m[2]!);
}

// ---- a minimal protobuf wire-format reader (proto3, last value wins, unknown fields skipped) ----

interface WireField {
  wire: number;
  varint?: bigint;
  bytes?: Uint8Array;
}

export interface ParsedMessage {
  string(field: number): string | undefined;
  bool(field: number): boolean;
  /** An enum (int32) field; 0 when absent. */
  enumValue(field: number): number;
  bytes(field: number): Uint8Array | undefined;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Parses a serialized message; undefined when the bytes are not valid protobuf or a field
 * listed in `stringFields` is not valid UTF-8.
 */
export function parseMessage(buf: Uint8Array, stringFields: readonly number[] = []): ParsedMessage | undefined {
  const fields = new Map<number, WireField>();
  let pos = 0;
  const readVarint = (): bigint | undefined => {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (pos >= buf.length) return undefined;
      const b = buf[pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return BigInt.asUintN(64, result);
    }
    return undefined;
  };
  while (pos < buf.length) {
    const tag = readVarint();
    if (tag === undefined) return undefined;
    const field = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (field === 0 || field > 0x1fffffff) return undefined;
    switch (wire) {
      case 0: {
        const v = readVarint();
        if (v === undefined) return undefined;
        fields.set(field, { wire, varint: v });
        break;
      }
      case 1:
      case 5: {
        const n = wire === 1 ? 8 : 4;
        if (pos + n > buf.length) return undefined;
        fields.set(field, { wire, bytes: buf.subarray(pos, pos + n) });
        pos += n;
        break;
      }
      case 2: {
        const len = readVarint();
        if (len === undefined || BigInt(pos) + len > BigInt(buf.length)) return undefined;
        fields.set(field, { wire, bytes: buf.subarray(pos, pos + Number(len)) });
        pos += Number(len);
        break;
      }
      default:
        return undefined;
    }
  }
  // proto3 `string` fields must hold valid UTF-8, or parsing fails.
  const strings = new Map<number, string>();
  for (const n of stringFields) {
    const f = fields.get(n);
    if (f?.wire !== 2) continue;
    try {
      strings.set(n, strictUtf8.decode(f.bytes));
    } catch {
      return undefined;
    }
  }
  const varintOf = (n: number) => {
    const f = fields.get(n);
    return f?.wire === 0 ? f.varint! : 0n;
  };
  return {
    string: (n) => strings.get(n),
    bool: (n) => varintOf(n) !== 0n,
    enumValue: (n) => Number(BigInt.asIntN(32, varintOf(n))),
    bytes: (n) => {
      const f = fields.get(n);
      return f?.wire === 2 ? f.bytes : undefined;
    },
  };
}

// ---- a minimal protobuf wire-format writer ----

export class ProtoWriter {
  private chunks: number[] = [];

  private varint(v: bigint | number): void {
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) {
      this.chunks.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.chunks.push(Number(x));
  }

  private tag(field: number, wire: number): void {
    this.varint((BigInt(field) << 3n) | BigInt(wire));
  }

  /** Writes a varint field (proto3: zero values are skipped unless `always`, e.g. in oneofs). */
  uint(field: number, v: bigint | number, always = false): this {
    if (BigInt(v) === 0n && !always) return this;
    this.tag(field, 0);
    this.varint(v);
    return this;
  }

  bool(field: number, v: boolean, always = false): this {
    return this.uint(field, v ? 1 : 0, always);
  }

  /** Writes a double field (fixed64); `always` keeps a zero value (needed inside oneofs). */
  double(field: number, v: number, always = false): this {
    if (v === 0 && !Object.is(v, -0) && !always) return this;
    this.tag(field, 1);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    this.chunks.push(...b);
    return this;
  }

  /** Writes a length-delimited field; `always` keeps an empty value (oneofs, map entries). */
  bytes(field: number, v: Uint8Array, always = false): this {
    if (v.length === 0 && !always) return this;
    this.tag(field, 2);
    this.varint(v.length);
    for (const b of v) this.chunks.push(b);
    return this;
  }

  string(field: number, v: string, always = false): this {
    return this.bytes(field, new TextEncoder().encode(v), always);
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}
