/**
 * proxy_get_property / proxy_set_property, following Envoy's `Context::getProperty`,
 * `Context::findValue`, `serializeValue` and `Context::setProperty`
 * (source/extensions/common/wasm/context.cc) and the CEL attribute wrappers
 * (source/extensions/filters/common/expr/context.cc). The caller splits the NUL-joined path.
 *
 * Lookup: the first segment names a top-level value; each further segment indexes a map (by
 * key), a message (by field name) or a list (by decimal index); a miss is NotFound. A single
 * trailing empty segment (a path ending in NUL) is ignored, as Envoy's loop does.
 *
 * Encoding: string/bytes raw; int64, uint64, double 8-byte LE; bool 1 byte; timestamp and
 * duration int64 ns; messages serialized; maps as pairs (values serialized); lists as pairs
 * with empty values. Wrapper objects (request, response, source, destination, connection,
 * upstream, xds, filter_state) cannot be listed: asking for one whole is SerializationFailure,
 * as in Envoy. A JSON null inside metadata is SerializationFailure too.
 *
 * Names: request.{path,url_path,host,scheme,method,referer,useragent,id,query,headers,
 * headers_bytes,size,total_size,time,duration,protocol}; response.{code,code_details,flags,
 * grpc_status,headers,trailers,size,total_size,backend_latency}; source/destination.{address
 * ("ip:port", "[v6]:port"),port}; connection.{id,mtls,requested_server_name} and, on a TLS
 * connection only, connection.{tls_version, subject_local_certificate, subject_peer_certificate
 * (RFC 2253, "" without a peer certificate), uri_san_local_certificate,
 * uri_san_peer_certificate, dns_san_local_certificate, dns_san_peer_certificate (the first
 * entry; NotFound when there is none), sha256_peer_certificate_digest (lower-case hex; NotFound
 * without a peer certificate)}; upstream.{address,port,local_address,
 * transport_failure_reason,request_attempt_count}; xds.{node,cluster_name,route_name,
 * virtual_host_name,listener_direction,filter_chain_name}; metadata (dynamic metadata as an
 * envoy.config.core.v3.Metadata message; Struct values index like maps); filter_state.<key>;
 * upstream_filter_state (always empty here); plugin_name, plugin_root_id, plugin_vm_id,
 * connection_id. request.headers.<name> (and response.headers / trailers) is Envoy's CEL
 * HeadersWrapper: every value of the lower-cased name joined with "," (one value as it is), and
 * NotFound for an absent name or one Envoy's headerNameIsValid refuses (`joinedHeader`).
 *
 * response.flags is Envoy's legacy ResponseFlag bitmask (envoy/stream_info/stream_info.h):
 * LH 0x1, UH 0x2, UT 0x4, LR 0x8, UR 0x10, UF 0x20, UC 0x40, UO 0x80, NR 0x100, DI 0x200,
 * FI 0x400, RL 0x800, UAEX 0x1000, RLSE 0x2000, DC 0x4000, URX 0x8000, SI 0x10000,
 * IH 0x20000, DPE 0x40000, UMSDR 0x80000, RFCF 0x100000, NFCF 0x200000, DT 0x400000,
 * UPE 0x800000, NC 0x1000000, OM 0x2000000, DF 0x4000000, DO 0x8000000.
 *
 * Root contexts have no stream: only plugin_*, xds.node and xds.listener_direction (the
 * plugin's listener, as Envoy's Plugin::direction_) resolve. The removed legacy names
 * (node, cluster_name, route_name, ...) are not special: like any unknown top-level name they
 * fall back to filter state "wasm.<first segment>" (Envoy's CelStateKeyPrefix + name).
 *
 * setProperty writes filter state "wasm.<path>" with the path's segments NUL-joined, exactly
 * as Envoy keys it: a new entry takes the declared prototype (declare_property) or the default
 * (bytes, mutable, FilterChain span); a read-only entry accepts one write, then BadArgument.
 * Without a stream -> NotFound.
 */
import { httpToGrpcStatus, parseGrpcStatus } from "../http/grpc.ts";
import { WasmResult } from "./abi.ts";
import type { Clock } from "./api.ts";
import type { HeaderMap } from "../http/header-map.ts";
import type { FilterStateValue, ResponseFlag, SocketAddress, StreamInfo } from "../http/stream-info.ts";
import { encodeBytePairs } from "./pairs.ts";
import { ProtoWriter, WASM_STATE_PREFIX, pendingDeclarations, type PropertyPrototype } from "./foreign.ts";

export interface PropertyScope {
  stream?: StreamInfo;
  plugin: { name: string; rootId: string; vmId: string };
  node?: { id?: string; cluster?: string };
  /** The plugin's listener direction (Envoy's Plugin::direction_): xds.listener_direction in every context. */
  listenerDirection?: number;
  isRootContext: boolean;
  clock: Clock;
  /** The root context's declared properties (declare_property), keyed by name. */
  declaredProperties?: Map<string, PropertyPrototype>;
}

/** Envoy's legacy response-flag bits, by short name. */
export const RESPONSE_FLAG_BITS: Record<string, number> = {
  LH: 0x1, UH: 0x2, UT: 0x4, LR: 0x8, UR: 0x10, UF: 0x20, UC: 0x40, UO: 0x80, NR: 0x100,
  DI: 0x200, FI: 0x400, RL: 0x800, UAEX: 0x1000, RLSE: 0x2000, DC: 0x4000, URX: 0x8000,
  SI: 0x10000, IH: 0x20000, DPE: 0x40000, UMSDR: 0x80000, RFCF: 0x100000, NFCF: 0x200000,
  DT: 0x400000, UPE: 0x800000, NC: 0x1000000, OM: 0x2000000, DF: 0x4000000, DO: 0x8000000,
};

export function responseFlagsBitmask(flags: Iterable<ResponseFlag>): bigint {
  let bits = 0;
  for (const f of flags) bits |= RESPONSE_FLAG_BITS[f] ?? 0;
  return BigInt(bits);
}

type Val =
  | { k: "string"; v: string }
  | { k: "bytes"; v: Uint8Array }
  | { k: "int" | "uint" | "ts" | "dur"; v: bigint }
  | { k: "double"; v: number }
  | { k: "bool"; v: boolean }
  | { k: "null" }
  | { k: "list"; items: Val[] }
  /** keys() undefined: a wrapper that cannot be listed (serialization fails). */
  | { k: "map"; get: (key: string) => Val | undefined; keys?: () => string[] }
  | { k: "message"; bytes: () => Uint8Array; field: (name: string) => Val | undefined };

const str = (v: string): Val => ({ k: "string", v });
const int = (v: number | bigint): Val => ({ k: "int", v: BigInt(v) });
const uint = (v: number | bigint): Val => ({ k: "uint", v: BigInt(v) });
const wrapper = (get: (key: string) => Val | undefined): Val => ({ k: "map", get });
const encoder = new TextEncoder();

/** Split NUL-joined paths, by path (bounded: the table starts over when full). */
const splitPaths = new Map<string, SplitPath>();
/**
 * A split path; `header` is set when it is request.headers.<name>: the lower-cased name, or null
 * when headerNameIsValid refuses it (found once, at split time).
 */
type SplitPath = string[] & { header?: string | null };
const SPLIT_PATHS_MAX = 512;
/** Filter-state keys ("wasm." + path) by path, bounded the same way. */
const stateKeys = new Map<string, string>();

/** The value-less results, shared (callers only read them). */
const NOT_FOUND: { result: WasmResult } = Object.freeze({ result: WasmResult.NotFound });
const SERIALIZATION_FAILURE: { result: WasmResult } = Object.freeze({ result: WasmResult.SerializationFailure });

/**
 * `getProperty` of a NUL-joined path as the guest passes it (its split is cached). A string or
 * 8-byte value is returned in a shared scratch array (a request header's in a shared result
 * object too), valid until the next lookup: the caller copies it into guest memory at once.
 */
export function getPropertyAt(path: string, scope: PropertyScope): { result: WasmResult; value?: Uint8Array } {
  let segs = splitPaths.get(path);
  if (segs === undefined) {
    segs = path.split("\0") as SplitPath;
    if (segs.length === 3 && segs[0] === "request" && segs[1] === "headers") {
      segs.header = headerNameIsValid(segs[2]!) ? segs[2]!.toLowerCase() : null;
    }
    if (splitPaths.size >= SPLIT_PATHS_MAX) splitPaths.clear();
    splitPaths.set(path, segs);
  }
  const header = segs.header;
  if (header === undefined) return lookup(segs, scope, true);
  // request.headers.<name>, the name checked and lower-cased once: the value in the scratch.
  const s = scope.isRootContext ? undefined : scope.stream;
  const joined = header === null || !s ? undefined : joinedValues(s.requestHeaders, header);
  if (joined === undefined) return NOT_FOUND;
  SCRATCH_RESULT.value = scratchUtf8(joined);
  return SCRATCH_RESULT;
}

export function getProperty(path: readonly string[], scope: PropertyScope): { result: WasmResult; value?: Uint8Array } {
  return lookup(path, scope, false);
}

function lookup(path: readonly string[], scope: PropertyScope, scratch: boolean): { result: WasmResult; value?: Uint8Array } {
  // A single trailing empty segment (a path ending in NUL) is ignored, as Envoy's loop does.
  const n = path.length > 1 && path[path.length - 1] === "" ? path.length - 1 : path.length;
  if (n === 0) return NOT_FOUND;
  const first = path[0]!;
  // request.headers.<name> directly (a filter's per-request header read): the value the wrappers
  // give, without building them.
  if (n === 3 && first === "request" && path[1] === "headers") {
    const s = scope.isRootContext ? undefined : scope.stream;
    if (!s) return NOT_FOUND;
    const joined = joinedHeader(s.requestHeaders, path[2]!);
    if (joined === undefined) return NOT_FOUND;
    if (!scratch) return { result: WasmResult.Ok, value: encoder.encode(joined) };
    SCRATCH_RESULT.value = scratchUtf8(joined);
    return SCRATCH_RESULT;
  }
  // connection.<key> and xds.<key> directly: the values topLevel() then index() give, without the wrapper.
  if (n === 2 && first === "connection") {
    const s = scope.isRootContext ? undefined : scope.stream;
    const field = s ? connectionField(s, path[1]!) : undefined;
    const bytes = field && serialize(field, scratch);
    return field === undefined ? NOT_FOUND : bytes ? { result: WasmResult.Ok, value: bytes } : SERIALIZATION_FAILURE;
  }
  let value =
    n === 2 && first === "xds" ? xdsField(scope, scope.isRootContext ? undefined : scope.stream, path[1]!) : topLevel(first, scope);
  for (let i = first === "xds" && n === 2 ? 2 : 1; i < n && value; i++) value = index(value, path[i]!);
  if (!value) return NOT_FOUND;
  const bytes = serialize(value, scratch);
  return bytes ? { result: WasmResult.Ok, value: bytes } : SERIALIZATION_FAILURE;
}

export function setProperty(path: readonly string[], value: Uint8Array, scope: PropertyScope): WasmResult {
  return setPropertyAt(path.join("\0"), value, scope, false);
}

/**
 * `setProperty` of a NUL-joined path as the guest passes it; `owned` when `value` is a copy
 * the caller gives away (it is then stored without another copy).
 */
export function setPropertyAt(name: string, value: Uint8Array, scope: PropertyScope, owned: boolean): WasmResult {
  const s = scope.isRootContext ? undefined : scope.stream;
  if (!s) return WasmResult.NotFound;
  let key = stateKeys.get(name);
  if (key === undefined) {
    key = WASM_STATE_PREFIX + name;
    if (stateKeys.size >= SPLIT_PATHS_MAX) stateKeys.clear();
    stateKeys.set(name, key);
  }
  const bytes = owned ? value : value.slice();
  const existing = s.filterState.get(key);
  const pending = existing ? pendingDeclarations.get(existing) : undefined;
  if (existing && !pending) {
    if (existing.readOnly) return WasmResult.BadArgument;
    s.filterState.set(key, { bytes, type: existing.type, readOnly: false, span: existing.span });
    return WasmResult.Ok;
  }
  const proto = pending ?? scope.declaredProperties?.get(name) ?? DEFAULT_PROTOTYPE;
  s.filterState.set(key, { bytes, type: proto.type, readOnly: proto.readOnly, span: proto.span });
  return WasmResult.Ok;
}

/** A property set without a declaration: bytes, mutable, FilterChain span. */
const DEFAULT_PROTOTYPE: PropertyPrototype = { readOnly: false, type: "bytes", span: 0 };

function index(value: Val, seg: string): Val | undefined {
  switch (value.k) {
    case "map":
      return value.get(seg);
    case "message":
      return value.field(seg);
    case "list": {
      if (!/^[+-]?\d+$/.test(seg)) return undefined;
      const i = Number(seg);
      return i >= 0 && i < value.items.length ? value.items[i] : undefined;
    }
    default:
      return undefined;
  }
}

/** The shared result of a scratch lookup (getPropertyAt): its value is overwritten by the next. */
const SCRATCH_RESULT: { result: WasmResult; value?: Uint8Array } = { result: WasmResult.Ok, value: undefined };
/** Scratch for a string's UTF-8 bytes (grown on demand). */
let stringScratch = new Uint8Array(256);

/**
 * The UTF-8 bytes of `v` in the shared scratch (a view valid until the next call): a short ASCII
 * string is copied char by char, anything else through TextEncoder.encodeInto (no new array).
 */
function scratchUtf8(v: string): Uint8Array {
  const n = v.length;
  if (n * 3 > stringScratch.length) stringScratch = new Uint8Array(Math.max(n * 3, stringScratch.length * 2));
  const out = stringScratch;
  if (n <= 32) {
    let i = 0;
    for (; i < n; i++) {
      const c = v.charCodeAt(i);
      if (c > 0x7f) break;
      out[i] = c;
    }
    if (i === n) return out.subarray(0, n);
  }
  return out.subarray(0, encoder.encodeInto(v, out).written);
}

/** Scratch for 8-byte values; serialize returns a copy of it. */
const eightBytes = new DataView(new ArrayBuffer(8));
const eightBytesU8 = new Uint8Array(eightBytes.buffer);

/** `scratch`: a string or 8-byte value may be returned in a shared scratch array (top level only). */
function serialize(value: Val, scratch = false): Uint8Array | undefined {
  switch (value.k) {
    case "string":
      return scratch ? scratchUtf8(value.v) : encoder.encode(value.v);
    case "bytes":
      return value.v.slice();
    case "int":
    case "ts":
    case "dur":
      eightBytes.setBigInt64(0, value.v, true); // ToBigInt64 wraps as BigInt.asIntN(64) would
      return scratch ? eightBytesU8 : eightBytesU8.slice();
    case "uint":
      eightBytes.setBigUint64(0, value.v, true); // ToBigUint64 wraps as BigInt.asUintN(64) would
      return scratch ? eightBytesU8 : eightBytesU8.slice();
    case "double":
      eightBytes.setFloat64(0, value.v, true);
      return scratch ? eightBytesU8 : eightBytesU8.slice();
    case "bool":
      return Uint8Array.of(value.v ? 1 : 0);
    case "null":
      return undefined;
    case "message":
      return value.bytes();
    case "list": {
      const pairs: Array<[Uint8Array, Uint8Array]> = [];
      for (const item of value.items) {
        const b = serialize(item);
        if (!b) return undefined;
        pairs.push([b, new Uint8Array(0)]);
      }
      return encodePairsOrEmptyCount(pairs);
    }
    case "map": {
      if (!value.keys) return undefined;
      const pairs: Array<[Uint8Array, Uint8Array]> = [];
      for (const key of value.keys()) {
        const v = value.get(key);
        const b = v && serialize(v);
        if (!b) return undefined;
        pairs.push([encoder.encode(key), b]);
      }
      return encodePairsOrEmptyCount(pairs);
    }
  }
}

/** Envoy marshals an empty map or list as a bare zero count (4 bytes), unlike header maps. */
function encodePairsOrEmptyCount(pairs: Array<[Uint8Array, Uint8Array]>): Uint8Array {
  return pairs.length === 0 ? new Uint8Array(4) : encodeBytePairs(pairs);
}

function topLevel(name: string, scope: PropertyScope): Val | undefined {
  switch (name) {
    case "plugin_name":
      return str(scope.plugin.name);
    case "plugin_root_id":
      return str(scope.plugin.rootId);
    case "plugin_vm_id":
      return str(scope.plugin.vmId);
  }
  const s = scope.isRootContext ? undefined : scope.stream;
  if (name === "xds") return xds(scope, s);
  if (!s) return undefined;
  switch (name) {
    case "request":
      return request(s);
    case "response":
      return response(s);
    case "source":
      return peer(s.downstreamRemoteAddress);
    case "destination":
      return peer(s.downstreamLocalAddress);
    case "connection":
      return connection(s);
    case "upstream":
      return upstream(s);
    case "metadata":
      return metadata(s.dynamicMetadata);
    case "filter_state":
      return wrapper((key) => filterStateValue(s.filterState.get(key)));
    case "upstream_filter_state":
      return wrapper(() => undefined);
    case "connection_id":
      return uint(s.connectionId);
    default:
      return filterStateValue(s.filterState.get(WASM_STATE_PREFIX + name));
  }
}

/** A Wasm filter-state value: strings as strings, everything else as bytes (schemas are not loaded). */
function filterStateValue(entry: FilterStateValue | undefined): Val | undefined {
  if (!entry || pendingDeclarations.has(entry)) return undefined;
  return entry.type === "string" ? str(new TextDecoder().decode(entry.bytes)) : { k: "bytes", v: entry.bytes };
}

/**
 * RFC 9110 §5.6.2 tchar, as Envoy's HeaderUtility::headerNameIsValid checks a non-pseudo name
 * (source/common/http/header_utility.cc, kGenericHeaderNameCharTable: upper case allowed).
 */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TCHAR[c.charCodeAt(0)] = 1;

/**
 * headerNameIsValid: a pseudo-header name is ':' and a non-empty name after it (Envoy drops the
 * ':' and checks the rest); any other name is a non-empty token.
 */
export function headerNameIsValid(key: string): boolean {
  const from = key.charCodeAt(0) === 58 ? 1 : 0;
  if (key.length <= from) return false;
  for (let i = from; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c > 0x7f || TCHAR[c] === 0) return false;
  }
  return true;
}

/**
 * A header map's value of `key` as Envoy's CEL HeadersWrapper returns it
 * (source/extensions/filters/common/expr/context.h): undefined (NotFound) for a name
 * headerNameIsValid refuses or that is absent; otherwise HeaderUtility::getAllOfHeaderAsString
 * of the lower-cased key — the only value when the name occurs once, every value joined with ","
 * when it repeats (envoy.reloadable_features.http_match_on_all_headers, on by default).
 */
export function joinedHeader(map: HeaderMap | undefined, key: string): string | undefined {
  return map && headerNameIsValid(key) ? joinedValues(map, key.toLowerCase()) : undefined;
}

/** Every value of the lower-case name `lower` joined with ",", or undefined when absent. */
function joinedValues(map: HeaderMap | undefined, lower: string): string | undefined {
  if (!map) return undefined;
  const entries = map.view();
  let joined: string | undefined;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (e[0] === lower) joined = joined === undefined ? e[1] : joined + "," + e[1];
  }
  return joined;
}

function headersVal(map: HeaderMap | undefined): Val {
  return {
    k: "map",
    get: (key) => {
      const joined = joinedHeader(map, key);
      return joined === undefined ? undefined : str(joined);
    },
    keys: () => (map ? map.pairs().map(([k]) => k) : []),
  };
}

function request(s: StreamInfo): Val {
  const h = s.requestHeaders;
  const path = () => h?.get(":path");
  return wrapper((key) => {
    switch (key) {
      case "size": {
        const cl = h?.get("content-length");
        if (cl === undefined) return int(s.bytesReceived);
        return /^\d+$/.test(cl) ? int(BigInt(cl)) : undefined;
      }
      case "total_size":
        return int(s.bytesReceived + (h?.byteSize() ?? 0));
      case "duration":
        return s.endNs === undefined ? undefined : { k: "dur", v: s.endNs - s.startMonotonicNs };
      case "protocol":
        return str(s.protocol);
      case "time":
        return { k: "ts", v: s.startTimeNs };
    }
    if (!h) return undefined;
    const header = (name: string) => {
      const v = h.get(name);
      return v === undefined ? undefined : str(v);
    };
    switch (key) {
      case "path":
        return header(":path");
      case "url_path": {
        const p = path() ?? "";
        const q = p.indexOf("?");
        return str(q < 0 ? p : p.slice(0, q));
      }
      case "host":
        return header(":authority");
      case "scheme":
        return header(":scheme");
      case "method":
        return header(":method");
      case "referer":
        return header("referer");
      case "useragent":
        return header("user-agent");
      case "id":
        return header("x-request-id") ?? (s.requestId !== undefined ? str(s.requestId) : undefined);
      case "query": {
        const p = path() ?? "";
        const q = p.indexOf("?");
        if (q < 0) return str("");
        const rest = p.slice(q + 1);
        const f = rest.indexOf("#");
        return str(f < 0 ? rest : rest.slice(0, f));
      }
      case "headers":
        return headersVal(h);
      case "headers_bytes":
        return int(h.byteSize());
      default:
        return undefined;
    }
  });
}

/** grpc-status from trailers, then headers, then the HTTP code (Envoy Grpc::Common::getGrpcStatus). */
function grpcStatus(s: StreamInfo): number | undefined {
  for (const map of [s.responseTrailers, s.responseHeaders]) {
    const code = parseGrpcStatus(map?.get("grpc-status"));
    if (code !== undefined) return code;
  }
  return s.responseCode !== undefined ? httpToGrpcStatus(s.responseCode) : undefined;
}

function response(s: StreamInfo): Val {
  return wrapper((key) => {
    switch (key) {
      case "code":
        return s.responseCode === undefined ? undefined : int(s.responseCode);
      case "code_details":
        return s.responseCodeDetails === undefined ? undefined : str(s.responseCodeDetails);
      case "flags":
        return int(responseFlagsBitmask(s.responseFlags));
      case "grpc_status": {
        const g = grpcStatus(s);
        return g === undefined ? undefined : int(g);
      }
      case "headers":
        return headersVal(s.responseHeaders);
      case "trailers":
        return headersVal(s.responseTrailers);
      case "size":
        return int(s.bytesSent);
      case "total_size":
        return int(s.bytesSent + (s.responseHeaders?.byteSize() ?? 0) + (s.responseTrailers?.byteSize() ?? 0));
      case "backend_latency":
        return s.upstreamStartNs === undefined || s.upstreamFirstByteNs === undefined
          ? undefined
          : { k: "dur", v: s.upstreamFirstByteNs - s.upstreamStartNs };
      default:
        return undefined;
    }
  });
}

/** Envoy's Address::Instance::asString(): "ip:port", IPv6 in brackets. */
export function formatAddress(a: SocketAddress): string {
  return a.address.includes(":") ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

function peer(a: SocketAddress | undefined): Val {
  return wrapper((key) => {
    if (!a) return undefined;
    if (key === "address") return str(formatAddress(a));
    if (key === "port") return int(a.port);
    return undefined;
  });
}

/** A SAN or SNI as its raw bytes (the certificate's IA5String, kept as latin1). */
const latin1 = (v: string): Val => ({ k: "bytes", v: new Uint8Array(Buffer.from(v, "latin1")) });
const first = (list: readonly string[]): Val | undefined => (list.length === 0 ? undefined : latin1(list[0]!));

function connection(s: StreamInfo): Val {
  return wrapper((key) => connectionField(s, key));
}

/** connection.<key> (Envoy's ConnectionWrapper). */
function connectionField(s: StreamInfo, key: string): Val | undefined {
  const ssl = s.downstreamSsl;
  switch (key) {
    case "id":
      return uint(s.connectionId);
    case "mtls":
      return { k: "bool", v: ssl?.peerCertificatePresented ?? false };
    case "requested_server_name":
      return latin1(ssl?.requestedServerName ?? "");
  }
  // The TLS attributes exist only on a TLS connection (ConnectionWrapper's SSL extractors).
  if (!ssl) return undefined;
  switch (key) {
    case "tls_version":
      return str(ssl.tlsVersion);
    case "subject_local_certificate":
      return str(ssl.subjectLocalCertificate);
    case "subject_peer_certificate":
      return str(ssl.subjectPeerCertificate);
    case "uri_san_local_certificate":
      return first(ssl.uriSanLocalCertificate);
    case "uri_san_peer_certificate":
      return first(ssl.uriSanPeerCertificate);
    case "dns_san_local_certificate":
      return first(ssl.dnsSanLocalCertificate);
    case "dns_san_peer_certificate":
      return first(ssl.dnsSanPeerCertificate);
    case "sha256_peer_certificate_digest":
      return ssl.sha256PeerCertificateDigest === "" ? undefined : str(ssl.sha256PeerCertificateDigest);
    default:
      return undefined; // termination_details, transport_failure_reason, peer_certificate: not recorded
  }
}

function upstream(s: StreamInfo): Val {
  const present =
    s.upstreamHost !== undefined ||
    s.upstreamStartNs !== undefined ||
    s.upstreamRequestAttemptCount > 0 ||
    s.upstreamTransportFailureReason !== undefined;
  return wrapper((key) => {
    if (!present) return undefined;
    switch (key) {
      case "address":
        return s.upstreamHost && str(formatAddress(s.upstreamHost));
      case "port":
        return s.upstreamHost && int(s.upstreamHost.port);
      case "local_address":
        return s.upstreamLocalAddress && str(formatAddress(s.upstreamLocalAddress));
      case "transport_failure_reason":
        return str(s.upstreamTransportFailureReason ?? "");
      case "request_attempt_count":
        return uint(s.upstreamRequestAttemptCount);
      default:
        return undefined;
    }
  });
}

function xds(scope: PropertyScope, s: StreamInfo | undefined): Val {
  return wrapper((key) => xdsField(scope, s, key));
}

/** xds.<key> (getProperty reaches it directly for two-segment xds paths: no wrapper per call). */
function xdsField(scope: PropertyScope, s: StreamInfo | undefined, key: string): Val | undefined {
  if (key === "node") return nodeMessage(scope.node ?? {});
  // Envoy answers it from the plugin (context.cc: plugin_->direction_), root context included;
  // a plugin created outside a listener falls back to the stream's listener.
  if (key === "listener_direction" && scope.listenerDirection !== undefined) return int(scope.listenerDirection);
  if (!s) return undefined;
  switch (key) {
    case "cluster_name":
      return s.clusterName === undefined ? undefined : str(s.clusterName);
    case "route_name":
      return str(s.routeName ?? "");
    case "virtual_host_name":
      return s.virtualHostName === undefined ? undefined : str(s.virtualHostName);
    case "listener_direction":
      return s.xds.listenerDirection === undefined ? undefined : int(s.xds.listenerDirection);
    case "filter_chain_name":
      return s.xds.filterChainName === undefined ? undefined : str(s.xds.filterChainName);
    default:
      return undefined;
  }
}

/** envoy.config.core.v3.Node with id (1) and cluster (2). */
function nodeMessage(node: { id?: string; cluster?: string }): Val {
  return {
    k: "message",
    bytes: () => new ProtoWriter().string(1, node.id ?? "").string(2, node.cluster ?? "").finish(),
    field: (name) => {
      if (name === "id") return str(node.id ?? "");
      if (name === "cluster") return str(node.cluster ?? "");
      return undefined;
    },
  };
}

/** envoy.config.core.v3.Metadata{filter_metadata=1 map<string, Struct>} from dynamic metadata. */
function metadata(meta: Map<string, Record<string, unknown>>): Val {
  const filterMetadata: Val = {
    k: "map",
    get: (ns) => (meta.has(ns) ? jsonVal(meta.get(ns)) : undefined),
    keys: () => [...meta.keys()],
  };
  return {
    k: "message",
    bytes: () => {
      const w = new ProtoWriter();
      for (const [ns, struct] of meta) {
        w.bytes(1, new ProtoWriter().string(1, ns, true).bytes(2, encodeStruct(struct), true).finish(), true);
      }
      return w.finish();
    },
    field: (name) => {
      if (name === "filter_metadata") return filterMetadata;
      if (name === "typed_filter_metadata") return { k: "map", get: () => undefined, keys: () => [] };
      return undefined;
    },
  };
}

/** A google.protobuf.Struct / Value as CEL sees it: objects are maps, arrays lists. */
function jsonVal(v: unknown): Val | undefined {
  if (v === null) return { k: "null" };
  if (typeof v === "string") return str(v);
  if (typeof v === "number") return { k: "double", v };
  if (typeof v === "boolean") return { k: "bool", v };
  if (Array.isArray(v)) return { k: "list", items: v.map((x) => jsonVal(x) ?? { k: "null" }) };
  if (typeof v === "object") {
    const o = v as Record<string, unknown>;
    return { k: "map", get: (key) => (Object.hasOwn(o, key) ? jsonVal(o[key]) : undefined), keys: () => Object.keys(o) };
  }
  return undefined;
}

function encodeStruct(o: Record<string, unknown>): Uint8Array {
  const w = new ProtoWriter();
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue;
    w.bytes(1, new ProtoWriter().string(1, k, true).bytes(2, encodeValue(v), true).finish(), true);
  }
  return w.finish();
}

function encodeValue(v: unknown): Uint8Array {
  const w = new ProtoWriter();
  if (v === null) w.uint(1, 0, true);
  else if (typeof v === "number") w.double(2, v, true);
  else if (typeof v === "string") w.string(3, v, true);
  else if (typeof v === "boolean") w.bool(4, v, true);
  else if (Array.isArray(v)) {
    const list = new ProtoWriter();
    for (const x of v) list.bytes(1, encodeValue(x ?? null), true);
    w.bytes(6, list.finish(), true);
  } else if (typeof v === "object") w.bytes(5, encodeStruct(v as Record<string, unknown>), true);
  return w.finish();
}
