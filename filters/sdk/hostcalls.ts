/**
 * Safe wrappers, one per proxy-wasm ABI 0.2.1 host import (proxy-wasm-rust-sdk hostcalls.rs
 * shape, names without the `proxy_` prefix).
 *
 * Error policy — untrusted traffic never aborts (Envoy STYLE.md; a trap kills the VM for every
 * later stream, ABI note §2.8):
 *  - readers return `null` (or 0 / empty) on any non-Ok status: NotFound for a missing header or
 *    property, BadArgument for a map Envoy no longer exposes in this phase, Empty for a drained
 *    queue. The status is kept in `lastResult()` for callers that care.
 *  - writers and actions return the WasmResult and never abort.
 */
import * as abi from "./abi/imports";
import { WasmResult, LogLevel, MapType, BufferType, StreamType, MetricType } from "./abi/imports";
import { RET0, RET1, RET2, takeBuffer, takeString, armView, disarmView, releaseView, viewResultLength } from "./abi/memory";

export { releaseView } from "./abi/memory";
import { Headers, encodePairs, decodePairs } from "./pairs";

export { HeaderPair, Headers, encodePairs, decodePairs, findHeader } from "./pairs";

// @ts-ignore: decorator
@lazy let last: WasmResult = WasmResult.Ok;

/** Status of the most recent wrapped host call. */
export function lastResult(): WasmResult { return last; }

// @ts-ignore: decorator
@inline function done(r: u32): WasmResult { last = <WasmResult>r; return last; }

// @ts-ignore: decorator
@inline function ptrOf(b: ArrayBuffer | null): usize { return b === null ? 0 : changetype<usize>(b); }
// @ts-ignore: decorator
@inline function lenOf(b: ArrayBuffer | null): usize { return b === null ? 0 : <usize>b.byteLength; }

/** UTF-8 bytes of `s` (no terminator). */
// @ts-ignore: decorator
@inline function utf8(s: string): ArrayBuffer { return String.UTF8.encode(s); }

function clearRet(): void { store<u64>(RET0, 0); store<u64>(RET1, 0); store<u64>(RET2, 0); }

/** Reads the (**data, *len) result pair written by the host into RET0/RET1. */
function readBuffer(r: u32): ArrayBuffer | null {
  if (done(r) != WasmResult.Ok) return null;
  return takeBuffer(<usize>load<u32>(RET0), <usize>load<u32>(RET1));
}

function readString(r: u32): string | null {
  if (done(r) != WasmResult.Ok) return null;
  return takeString(<usize>load<u32>(RET0), <usize>load<u32>(RET1));
}

// ===== views: results read in place (abi/memory.ts "Views") =====
//
// `get*View` make the same host call as their `get*` twins, but the result lands in the static
// view block: no allocation, no garbage. On true, `viewPtr()` / `viewLen()` hold the bytes
// (an empty value is (0, 0)) until `releaseView()` or the next view; read them before any other
// host call.

// @ts-ignore: decorator
@lazy let viewP: usize = 0;
// @ts-ignore: decorator
@lazy let viewL: usize = 0;

/** Start of the current view's bytes. */
export function viewPtr(): usize { return viewP; }
/** Length of the current view's bytes. */
export function viewLen(): usize { return viewL; }

function takeView(r: u32): bool {
  disarmView();
  viewP = 0;
  viewL = 0;
  if (done(r) != WasmResult.Ok) { releaseView(); return false; }
  const ptr = <usize>load<u32>(RET0);
  if (ptr == 0) return true;
  const len = viewResultLength(ptr, <usize>load<u32>(RET1));
  if (len < 0) return false;
  viewP = ptr;
  viewL = <usize>len;
  return true;
}

/** `getHeaderMapValueBytes` as a view: true when the header is present. */
export function getHeaderMapValueView(type: MapType, key: ArrayBuffer): bool {
  store<u64>(RET0, 0);
  store<u64>(RET1, 0);
  armView();
  return takeView(abi.proxy_get_header_map_value(type, changetype<usize>(key), <usize>key.byteLength, RET0, RET1));
}

/** `getBufferBytes` as a view: true when the buffer was readable (possibly empty). */
export function getBufferBytesView(type: BufferType, start: u32, maxSize: u32): bool {
  store<u64>(RET0, 0);
  store<u64>(RET1, 0);
  armView();
  return takeView(abi.proxy_get_buffer_bytes(type, start, maxSize, RET0, RET1));
}

/** A property as a view; `path` is the UTF-8 path with NUL-separated segments. */
export function getPropertyView(path: ArrayBuffer): bool {
  store<u64>(RET0, 0);
  store<u64>(RET1, 0);
  armView();
  return takeView(abi.proxy_get_property(changetype<usize>(path), <usize>path.byteLength, RET0, RET1));
}

// ===== logging, time, timers =====

export function log(level: LogLevel, message: string): void {
  const b = utf8(message);
  abi.proxy_log(level, changetype<usize>(b), <usize>b.byteLength);
}
export function logTrace(message: string): void { log(LogLevel.Trace, message); }
export function logDebug(message: string): void { log(LogLevel.Debug, message); }
export function logInfo(message: string): void { log(LogLevel.Info, message); }
export function logWarn(message: string): void { log(LogLevel.Warn, message); }
export function logError(message: string): void { log(LogLevel.Error, message); }
export function logCritical(message: string): void { log(LogLevel.Critical, message); }

/** The host's current log level (Envoy's `wasm` logger); Info if the host cannot tell. */
export function getLogLevel(): LogLevel {
  store<u32>(RET0, LogLevel.Info);
  if (done(abi.proxy_get_log_level(RET0)) != WasmResult.Ok) return LogLevel.Info;
  return <LogLevel>load<u32>(RET0);
}

/** Wall-clock time in nanoseconds since the epoch (0 if unavailable). */
export function getCurrentTimeNanoseconds(): u64 {
  store<u64>(RET0, 0);
  done(abi.proxy_get_current_time_nanoseconds(RET0));
  return load<u64>(RET0);
}

/** Sets the root context's timer; 0 cancels it. The first tick comes one period later. */
export function setTickPeriodMilliseconds(periodMs: u32): WasmResult {
  return done(abi.proxy_set_tick_period_milliseconds(periodMs));
}

// ===== properties (path segments joined by NUL, ABI note §2.2) =====

function encodePath(path: Array<string>): ArrayBuffer { return utf8(path.join("\0")); }

/** Raw property value, or null when missing / not available in this context. */
export function getProperty(path: Array<string>): ArrayBuffer | null {
  const p = encodePath(path);
  clearRet();
  return readBuffer(abi.proxy_get_property(changetype<usize>(p), <usize>p.byteLength, RET0, RET1));
}

/** A string property (e.g. ["plugin_root_id"], ["request", "path"]), or null. */
export function getPropertyString(path: Array<string>): string | null {
  const p = encodePath(path);
  clearRet();
  return readString(abi.proxy_get_property(changetype<usize>(p), <usize>p.byteLength, RET0, RET1));
}

/** An int/uint property (8-byte little-endian), or `fallback`. */
export function getPropertyU64(path: Array<string>, fallback: u64 = 0): u64 {
  const v = getProperty(path);
  if (v === null || v.byteLength < 8) return fallback;
  return load<u64>(changetype<usize>(v));
}

export function setProperty(path: Array<string>, value: ArrayBuffer): WasmResult {
  const p = encodePath(path);
  return done(abi.proxy_set_property(changetype<usize>(p), <usize>p.byteLength, changetype<usize>(value), <usize>value.byteLength));
}

// ===== buffers =====

/** Bytes [start, start+maxSize) of a buffer, clamped to its end by the host; null on error. */
export function getBufferBytes(type: BufferType, start: u32, maxSize: u32): ArrayBuffer | null {
  clearRet();
  return readBuffer(abi.proxy_get_buffer_bytes(type, start, maxSize, RET0, RET1));
}

/** Whole-buffer convenience (e.g. the plugin configuration of `size` bytes). */
export function getBuffer(type: BufferType, size: u32): ArrayBuffer | null {
  return size == 0 ? new ArrayBuffer(0) : getBufferBytes(type, 0, size);
}

/** Current size of a buffer, or -1 when unavailable. */
export function getBufferSize(type: BufferType): i64 {
  clearRet();
  if (done(abi.proxy_get_buffer_status(type, RET0, RET1)) != WasmResult.Ok) return -1;
  return <i64>load<u32>(RET0);
}

/**
 * Envoy's Buffer::copyFrom semantics (ABI note §2.3): start=0 drains `size` bytes then prepends
 * (so (0,0) prepends and (0,len) replaces); start >= len appends; anything else is BadArgument.
 */
export function setBufferBytes(type: BufferType, start: u32, size: u32, data: ArrayBuffer): WasmResult {
  return done(abi.proxy_set_buffer_bytes(type, start, size, changetype<usize>(data), <usize>data.byteLength));
}

// ===== header maps =====

export function getHeaderMapPairs(type: MapType): Headers {
  clearRet();
  if (done(abi.proxy_get_header_map_pairs(type, RET0, RET1)) != WasmResult.Ok) return new Array(0);
  const ptr = <usize>load<u32>(RET0);
  const len = <usize>load<u32>(RET1);
  if (ptr == 0) return new Array(0);
  const buf = takeBuffer(ptr, len);
  return decodePairs(changetype<usize>(buf), <usize>buf.byteLength);
}

export function setHeaderMapPairs(type: MapType, pairs: Headers): WasmResult {
  const b = encodePairs(pairs);
  return done(abi.proxy_set_header_map_pairs(type, changetype<usize>(b), <usize>b.byteLength));
}

/** Envoy's byteSize() of the map (sum of key and value lengths), or -1. */
export function getHeaderMapSize(type: MapType): i64 {
  clearRet();
  if (done(abi.proxy_get_header_map_size(type, RET0)) != WasmResult.Ok) return -1;
  return <i64>load<u32>(RET0);
}

/** First value of `key`, or null when missing (never aborts). */
export function getHeaderMapValue(type: MapType, key: string): string | null {
  const k = utf8(key);
  clearRet();
  return readString(abi.proxy_get_header_map_value(type, changetype<usize>(k), <usize>k.byteLength, RET0, RET1));
}

/**
 * First value of the UTF-8 key `key` as raw bytes, or null when missing: no string is built for
 * the key or the value (for callers that pre-encode their keys and parse the bytes, e.g.
 * `GrpcStreamStatus`).
 */
export function getHeaderMapValueBytes(type: MapType, key: ArrayBuffer): ArrayBuffer | null {
  clearRet();
  return readBuffer(abi.proxy_get_header_map_value(type, changetype<usize>(key), <usize>key.byteLength, RET0, RET1));
}

export function addHeaderMapValue(type: MapType, key: string, value: string): WasmResult {
  const k = utf8(key); const v = utf8(value);
  return done(abi.proxy_add_header_map_value(type, changetype<usize>(k), <usize>k.byteLength, changetype<usize>(v), <usize>v.byteLength));
}

export function replaceHeaderMapValue(type: MapType, key: string, value: string): WasmResult {
  const k = utf8(key); const v = utf8(value);
  return done(abi.proxy_replace_header_map_value(type, changetype<usize>(k), <usize>k.byteLength, changetype<usize>(v), <usize>v.byteLength));
}

export function removeHeaderMapValue(type: MapType, key: string): WasmResult {
  const k = utf8(key);
  return done(abi.proxy_remove_header_map_value(type, changetype<usize>(k), <usize>k.byteLength));
}

// ===== stream control, status, local replies =====

export function continueStream(type: StreamType): WasmResult { return done(abi.proxy_continue_stream(type)); }
export function closeStream(type: StreamType): WasmResult { return done(abi.proxy_close_stream(type)); }

/** Result of proxy_get_status (e.g. after a failed http_call: 11 BrokenConnection, "reset"). */
export class HostStatus {
  constructor(public code: u32, public message: string) {}
}

export function getStatus(): HostStatus | null {
  clearRet();
  const r = abi.proxy_get_status(RET2, RET0, RET1);
  const code = load<u32>(RET2);
  const msg = readString(r);
  return msg === null ? null : new HostStatus(code, msg);
}

/**
 * Sends a local reply (Envoy Context::sendLocalResponse -> sendLocalReply). The host sends it
 * after the current callback returns and stops the stream there; a second reply is ignored.
 * What the client receives:
 *  - gRPC request (content-type application/grpc, application/grpc+…, application/grpc;…): a
 *    trailers-only response — `:status 200` (whatever `statusCode` is), `content-type:
 *    application/grpc`, `grpc-status` = `grpcStatus` when 0..16, else httpToGrpcStatus(statusCode),
 *    and when `body` is not empty `grpc-message` = the body as text, one trailing "\n" dropped,
 *    percent-encoded; no body, no content-length (see `sendGrpcError` in grpc-status.ts).
 *  - any other request: `:status statusCode` with `body`; a non-empty body gets content-length
 *    and `content-type: text/plain` unless `headers` set a content-type.
 * `headers` (default none) are added first, names lower-cased; a `grpc-status` among them wins.
 * `details` become the response code details, every whitespace character turned into '_'.
 */
export function sendLocalResponse(statusCode: u32, details: string, body: ArrayBuffer | null = null,
                                  headers: Headers | null = null, grpcStatus: i32 = -1): WasmResult {
  const d = utf8(details);
  let h: ArrayBuffer | null = null;
  if (headers !== null) h = encodePairs(headers);
  return done(abi.proxy_send_local_response(statusCode, changetype<usize>(d), <usize>d.byteLength,
    ptrOf(body), lenOf(body), ptrOf(h), lenOf(h), grpcStatus));
}

export function setEffectiveContext(contextId: u32): WasmResult { return done(abi.proxy_set_effective_context(contextId)); }

/** Tells the host a root context that returned false from onDone may now be deleted. */
export function proxyDone(): WasmResult { return done(abi.proxy_done()); }

export function callForeignFunction(name: string, args: ArrayBuffer | null): ArrayBuffer | null {
  const n = utf8(name);
  clearRet();
  return readBuffer(abi.proxy_call_foreign_function(changetype<usize>(n), <usize>n.byteLength, ptrOf(args), lenOf(args), RET0, RET1));
}

// ===== callouts (token 0 = failed; see lastResult()) =====

export function httpCall(upstream: string, headers: Headers, body: ArrayBuffer | null,
                         trailers: Headers, timeoutMs: u32): u32 {
  const u = utf8(upstream); const h = encodePairs(headers); const t = encodePairs(trailers);
  store<u32>(RET0, 0);
  if (done(abi.proxy_http_call(changetype<usize>(u), <usize>u.byteLength, changetype<usize>(h), <usize>h.byteLength,
    ptrOf(body), lenOf(body), changetype<usize>(t), <usize>t.byteLength, timeoutMs, RET0)) != WasmResult.Ok) return 0;
  return load<u32>(RET0);
}

export function grpcCall(upstream: string, service: string, method: string, metadata: Headers,
                         message: ArrayBuffer | null, timeoutMs: u32): u32 {
  const u = utf8(upstream); const s = utf8(service); const m = utf8(method); const md = encodePairs(metadata);
  store<u32>(RET0, 0);
  if (done(abi.proxy_grpc_call(changetype<usize>(u), <usize>u.byteLength, changetype<usize>(s), <usize>s.byteLength,
    changetype<usize>(m), <usize>m.byteLength, changetype<usize>(md), <usize>md.byteLength,
    ptrOf(message), lenOf(message), timeoutMs, RET0)) != WasmResult.Ok) return 0;
  return load<u32>(RET0);
}

export function grpcStream(upstream: string, service: string, method: string, metadata: Headers): u32 {
  const u = utf8(upstream); const s = utf8(service); const m = utf8(method); const md = encodePairs(metadata);
  store<u32>(RET0, 0);
  if (done(abi.proxy_grpc_stream(changetype<usize>(u), <usize>u.byteLength, changetype<usize>(s), <usize>s.byteLength,
    changetype<usize>(m), <usize>m.byteLength, changetype<usize>(md), <usize>md.byteLength, RET0)) != WasmResult.Ok) return 0;
  return load<u32>(RET0);
}

export function grpcSend(token: u32, message: ArrayBuffer | null, endStream: bool): WasmResult {
  return done(abi.proxy_grpc_send(token, ptrOf(message), lenOf(message), endStream ? 1 : 0));
}
export function grpcCancel(token: u32): WasmResult { return done(abi.proxy_grpc_cancel(token)); }
export function grpcClose(token: u32): WasmResult { return done(abi.proxy_grpc_close(token)); }

// ===== shared data (CAS) and queues =====

export class SharedData {
  constructor(public value: ArrayBuffer, public cas: u32) {}
}

/** Value and CAS of `key`, or null when missing. */
export function getSharedData(key: string): SharedData | null {
  const k = utf8(key);
  clearRet();
  const r = abi.proxy_get_shared_data(changetype<usize>(k), <usize>k.byteLength, RET0, RET1, RET2);
  const cas = load<u32>(RET2);
  const v = readBuffer(r);
  return v === null ? null : new SharedData(v, cas);
}

/** Writes `key`; `cas` 0 is unconditional, otherwise a mismatch returns CasMismatch. */
export function setSharedData(key: string, value: ArrayBuffer | null, cas: u32 = 0): WasmResult {
  const k = utf8(key);
  return done(abi.proxy_set_shared_data(changetype<usize>(k), <usize>k.byteLength, ptrOf(value), lenOf(value), cas));
}

/** Registers (or re-registers) a queue owned by this root context; 0 on failure. */
export function registerSharedQueue(name: string): u32 {
  const n = utf8(name);
  store<u32>(RET0, 0);
  if (done(abi.proxy_register_shared_queue(changetype<usize>(n), <usize>n.byteLength, RET0)) != WasmResult.Ok) return 0;
  return load<u32>(RET0);
}

/** Looks a queue up by vm_id ("" = own VM) and name; 0 when missing. */
export function resolveSharedQueue(vmId: string, name: string): u32 {
  const v = utf8(vmId); const n = utf8(name);
  store<u32>(RET0, 0);
  if (done(abi.proxy_resolve_shared_queue(changetype<usize>(v), <usize>v.byteLength, changetype<usize>(n), <usize>n.byteLength, RET0)) != WasmResult.Ok) return 0;
  return load<u32>(RET0);
}

export function enqueueSharedQueue(queueId: u32, value: ArrayBuffer | null): WasmResult {
  return done(abi.proxy_enqueue_shared_queue(queueId, ptrOf(value), lenOf(value)));
}

/** Next item, or null when the queue is empty (lastResult() == Empty) or unknown. */
export function dequeueSharedQueue(queueId: u32): ArrayBuffer | null {
  clearRet();
  return readBuffer(abi.proxy_dequeue_shared_queue(queueId, RET0, RET1));
}

// ===== metrics (Envoy names them wasmcustom.<name>, ABI note §2.6) =====

/** Defines a metric; returns its id (never 0 on success), 0 on failure. */
export function defineMetric(type: MetricType, name: string): u32 {
  const n = utf8(name);
  store<u32>(RET0, 0);
  if (done(abi.proxy_define_metric(type, changetype<usize>(n), <usize>n.byteLength, RET0)) != WasmResult.Ok) return 0;
  return load<u32>(RET0);
}

// The metric functions take any integer type a filter holds (i8..i64, u8..u64, isize, usize),
// so counts, sizes and durations go in without casts; anything else is a compile-time error.

/** Envoy's int64 `offset`: signed values as they are, u64 above I64.MAX_VALUE clamped to it. */
// @ts-ignore: decorator
@inline function metricDelta<T>(v: T): i64 {
  if (!isInteger<T>() || isBoolean<T>()) ERROR("metric values must be integers");
  if (!isSigned<T>() && sizeof<T>() == 8) return <u64>v > <u64>I64.MAX_VALUE ? I64.MAX_VALUE : <i64>v;
  return <i64>v;
}

/** Envoy's uint64 `value`: negative values are recorded as 0, unsigned ones as they are. */
// @ts-ignore: decorator
@inline function metricValue<T>(v: T): i64 {
  if (!isInteger<T>() || isBoolean<T>()) ERROR("metric values must be integers");
  if (isSigned<T>()) return <i64>v < 0 ? 0 : <i64>v;
  return <i64>v;
}

/**
 * Counter: adds `delta`, which must be > 0 (else BadArgument); gauge: adds or subtracts;
 * histogram: BadArgument. Any integer type.
 */
// @ts-ignore: decorator
@inline export function incrementMetric<T>(metricId: u32, delta: T): WasmResult {
  return done(abi.proxy_increment_metric(metricId, metricDelta<T>(delta)));
}

/** Counter: adds; gauge: sets; histogram: records a sample. Any integer type; negative -> 0. */
// @ts-ignore: decorator
@inline export function recordMetric<T>(metricId: u32, value: T): WasmResult {
  return done(abi.proxy_record_metric(metricId, metricValue<T>(value)));
}

/** Current value (counters and gauges); 0 with lastResult() != Ok on failure. */
export function getMetric(metricId: u32): u64 {
  store<u64>(RET0, 0);
  if (done(abi.proxy_get_metric(metricId, RET0)) != WasmResult.Ok) return 0;
  return load<u64>(RET0);
}
