/**
 * Raw proxy-wasm ABI 0.2.1 host imports (module `env`) and the ABI enums.
 *
 * Every host function of the spec (proxy-wasm/spec abi-versions/v0.2.1) is declared here exactly
 * as proxy-wasm-cpp-host links it; only `proxy_increment_metric` / `proxy_record_metric` take an
 * i64. Every function returns a `proxy_status_t` (WasmResult). Out-pointers (`**data, *len`) are
 * written by the host, which allocates the data through this module's `malloc` export.
 * Filters never call these directly: use `../hostcalls` (safe wrappers) and `../context`.
 */

// ===== enums (proxy-wasm-cpp-sdk proxy_wasm_enums.h / proxy_wasm_common.h) =====

/** proxy_status_t. */
export enum WasmResult {
  Ok = 0, NotFound = 1, BadArgument = 2, SerializationFailure = 3, ParseFailure = 4,
  BadExpression = 5, InvalidMemoryAccess = 6, Empty = 7, CasMismatch = 8, ResultMismatch = 9,
  InternalFailure = 10, BrokenConnection = 11, Unimplemented = 12,
}

export enum LogLevel { Trace = 0, Debug = 1, Info = 2, Warn = 3, Error = 4, Critical = 5 }

export enum MapType {
  RequestHeaders = 0, RequestTrailers = 1, ResponseHeaders = 2, ResponseTrailers = 3,
  GrpcInitialMetadata = 4, GrpcTrailingMetadata = 5,
  HttpCallResponseHeaders = 6, HttpCallResponseTrailers = 7,
}

export enum BufferType {
  RequestBody = 0, ResponseBody = 1, DownstreamData = 2, UpstreamData = 3,
  HttpCallResponseBody = 4, GrpcReceiveBuffer = 5, VmConfiguration = 6,
  PluginConfiguration = 7, ForeignFunctionArguments = 8,
}

export enum StreamType { HttpRequest = 0, HttpResponse = 1, Downstream = 2, Upstream = 3 }

export enum PeerType { Unknown = 0, Local = 1, Remote = 2 }

export enum MetricType { Counter = 0, Gauge = 1, Histogram = 2 }

/** Return of the header callbacks; Envoy reads the raw value (StopIteration -> StopAll…Watermark). */
export enum FilterHeadersStatus {
  Continue = 0, StopIteration = 1, ContinueAndEndStream = 2,
  StopAllIterationAndBuffer = 3, StopAllIterationAndWatermark = 4,
}

export enum FilterDataStatus {
  Continue = 0, StopIterationAndBuffer = 1, StopIterationAndWatermark = 2, StopIterationNoBuffer = 3,
}

export enum FilterTrailersStatus { Continue = 0, StopIteration = 1 }

/** TCP filter status (proxy_on_new_connection / *_data). */
export enum FilterStatus { Continue = 0, StopIteration = 1 }

/** gRPC status codes 0..16; -1 means "not set" in proxy_send_local_response. */
export enum GrpcStatus {
  Unset = -1, Ok = 0, Cancelled = 1, Unknown = 2, InvalidArgument = 3, DeadlineExceeded = 4,
  NotFound = 5, AlreadyExists = 6, PermissionDenied = 7, ResourceExhausted = 8,
  FailedPrecondition = 9, Aborted = 10, OutOfRange = 11, Unimplemented = 12, Internal = 13,
  Unavailable = 14, DataLoss = 15, Unauthenticated = 16,
}

// ===== logging, time, timers =====

// @ts-ignore: decorator
@external("env", "proxy_log")
export declare function proxy_log(level: u32, msg: usize, msgLen: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_get_log_level")
export declare function proxy_get_log_level(levelOut: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_get_current_time_nanoseconds")
export declare function proxy_get_current_time_nanoseconds(timeOut: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_set_tick_period_milliseconds")
export declare function proxy_set_tick_period_milliseconds(periodMs: u32): u32;

// ===== properties =====

// @ts-ignore: decorator
@external("env", "proxy_get_property")
export declare function proxy_get_property(path: usize, pathLen: usize, valueOut: usize, lenOut: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_set_property")
export declare function proxy_set_property(path: usize, pathLen: usize, value: usize, valueLen: usize): u32;

// ===== buffers =====

// @ts-ignore: decorator
@external("env", "proxy_get_buffer_bytes")
export declare function proxy_get_buffer_bytes(type: u32, start: u32, maxSize: u32, dataOut: usize, lenOut: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_get_buffer_status")
export declare function proxy_get_buffer_status(type: u32, lenOut: usize, flagsOut: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_set_buffer_bytes")
export declare function proxy_set_buffer_bytes(type: u32, start: u32, size: u32, data: usize, dataLen: usize): u32;

// ===== header maps =====

// @ts-ignore: decorator
@external("env", "proxy_get_header_map_pairs")
export declare function proxy_get_header_map_pairs(type: u32, dataOut: usize, lenOut: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_set_header_map_pairs")
export declare function proxy_set_header_map_pairs(type: u32, data: usize, dataLen: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_get_header_map_size")
export declare function proxy_get_header_map_size(type: u32, sizeOut: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_get_header_map_value")
export declare function proxy_get_header_map_value(type: u32, key: usize, keyLen: usize, valueOut: usize, lenOut: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_add_header_map_value")
export declare function proxy_add_header_map_value(type: u32, key: usize, keyLen: usize, value: usize, valueLen: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_replace_header_map_value")
export declare function proxy_replace_header_map_value(type: u32, key: usize, keyLen: usize, value: usize, valueLen: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_remove_header_map_value")
export declare function proxy_remove_header_map_value(type: u32, key: usize, keyLen: usize): u32;

// ===== stream control and local replies =====

// @ts-ignore: decorator
@external("env", "proxy_continue_stream")
export declare function proxy_continue_stream(type: u32): u32;
// @ts-ignore: decorator
@external("env", "proxy_close_stream")
export declare function proxy_close_stream(type: u32): u32;
// @ts-ignore: decorator
@external("env", "proxy_get_status")
export declare function proxy_get_status(codeOut: usize, msgOut: usize, lenOut: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_send_local_response")
export declare function proxy_send_local_response(
  statusCode: u32, details: usize, detailsLen: usize, body: usize, bodyLen: usize,
  headers: usize, headersLen: usize, grpcStatus: i32): u32;

// ===== callouts =====

// @ts-ignore: decorator
@external("env", "proxy_http_call")
export declare function proxy_http_call(
  upstream: usize, upstreamLen: usize, headers: usize, headersLen: usize, body: usize, bodyLen: usize,
  trailers: usize, trailersLen: usize, timeoutMs: u32, tokenOut: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_grpc_call")
export declare function proxy_grpc_call(
  upstream: usize, upstreamLen: usize, service: usize, serviceLen: usize, method: usize, methodLen: usize,
  metadata: usize, metadataLen: usize, message: usize, messageLen: usize, timeoutMs: u32, tokenOut: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_grpc_stream")
export declare function proxy_grpc_stream(
  upstream: usize, upstreamLen: usize, service: usize, serviceLen: usize, method: usize, methodLen: usize,
  metadata: usize, metadataLen: usize, tokenOut: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_grpc_send")
export declare function proxy_grpc_send(token: u32, message: usize, messageLen: usize, endStream: u32): u32;
// @ts-ignore: decorator
@external("env", "proxy_grpc_cancel")
export declare function proxy_grpc_cancel(token: u32): u32;
// @ts-ignore: decorator
@external("env", "proxy_grpc_close")
export declare function proxy_grpc_close(token: u32): u32;

// ===== shared data and queues =====

// @ts-ignore: decorator
@external("env", "proxy_set_shared_data")
export declare function proxy_set_shared_data(key: usize, keyLen: usize, value: usize, valueLen: usize, cas: u32): u32;
// @ts-ignore: decorator
@external("env", "proxy_get_shared_data")
export declare function proxy_get_shared_data(key: usize, keyLen: usize, valueOut: usize, lenOut: usize, casOut: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_register_shared_queue")
export declare function proxy_register_shared_queue(name: usize, nameLen: usize, queueIdOut: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_resolve_shared_queue")
export declare function proxy_resolve_shared_queue(vmId: usize, vmIdLen: usize, name: usize, nameLen: usize, queueIdOut: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_enqueue_shared_queue")
export declare function proxy_enqueue_shared_queue(queueId: u32, value: usize, valueLen: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_dequeue_shared_queue")
export declare function proxy_dequeue_shared_queue(queueId: u32, valueOut: usize, lenOut: usize): u32;

// ===== metrics =====

// @ts-ignore: decorator
@external("env", "proxy_define_metric")
export declare function proxy_define_metric(type: u32, name: usize, nameLen: usize, metricIdOut: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_increment_metric")
export declare function proxy_increment_metric(metricId: u32, delta: i64): u32;
// @ts-ignore: decorator
@external("env", "proxy_record_metric")
export declare function proxy_record_metric(metricId: u32, value: i64): u32;
// @ts-ignore: decorator
@external("env", "proxy_get_metric")
export declare function proxy_get_metric(metricId: u32, valueOut: usize): u32;

// ===== context, lifecycle, foreign functions =====

// @ts-ignore: decorator
@external("env", "proxy_set_effective_context")
export declare function proxy_set_effective_context(contextId: u32): u32;
// @ts-ignore: decorator
@external("env", "proxy_done")
export declare function proxy_done(): u32;
// @ts-ignore: decorator
@external("env", "proxy_call_foreign_function")
export declare function proxy_call_foreign_function(
  name: usize, nameLen: usize, args: usize, argsLen: usize, resultOut: usize, resultLenOut: usize): u32;
