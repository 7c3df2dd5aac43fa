/**
 * What the proxy-wasm host needs from its surroundings (the data plane, or a test), and the
 * shapes it exchanges with them. The host itself is in plugin.ts (createPlugin) and
 * http-filter.ts (the per-stream StreamFilter); see README.md in this folder.
 */
import type { HeaderPair } from "../http/header-map.ts";
import type { StatsStore } from "../stats/types.ts";
import type { LogLevel } from "./abi.ts";

/** One outgoing http_call, as the data plane receives it. */
export interface HttpCallRequest {
  cluster: string;
  /** Includes :method, :path, :authority (checked by the host before dispatch). */
  headers: HeaderPair[];
  body: Uint8Array;
  trailers: HeaderPair[];
  /** 0 = no timeout. */
  timeoutMs: number;
}

export interface HttpCallResponse {
  /** Includes ":status". */
  headers: HeaderPair[];
  body: Uint8Array;
  trailers: HeaderPair[];
}

export interface HttpCallCallbacks {
  /** A response, including Envoy router local replies (504 on timeout, 503 on connect failure). */
  onResponse(response: HttpCallResponse): void;
  /** The stream was reset: the plugin sees num_headers = 0 and get_status (11, "reset"). */
  onReset(reason: string): void;
}

/** Implemented by the data plane's cluster manager (Envoy's AsyncClient). */
export interface HttpCallDispatcher {
  hasCluster(name: string): boolean;
  /**
   * Starts the call. Exactly one callback fires later, never synchronously.
   * Returns a function that cancels the call (no callback fires after it).
   */
  httpCall(request: HttpCallRequest, callbacks: HttpCallCallbacks): () => void;
}

/** One outgoing gRPC stream (a unary grpc_call is a stream with one send(msg, true)). */
export interface GrpcStreamRequest {
  cluster: string;
  /** :authority (GrpcService.envoy_grpc.authority); default the cluster name. */
  authority?: string;
  service: string;
  method: string;
  /** Initial metadata, keys lower-cased; "-bin" values raw (the client base64-encodes them). */
  metadata: HeaderPair[];
  /** 0 = no timeout. */
  timeoutMs: number;
}

/** Envoy's Grpc::RawAsyncStreamCallbacks. None fires synchronously; none fires after cancel(). */
export interface GrpcStreamCallbacks {
  /** Response headers (empty for a trailers-only response). */
  onInitialMetadata(metadata: HeaderPair[]): void;
  /** One message, without the 5-byte length prefix. */
  onMessage(message: Uint8Array): void;
  /** Trailers (the headers of a trailers-only response; empty after a stream error). */
  onTrailingMetadata(metadata: HeaderPair[]): void;
  /** The stream is over: gRPC status and message (Envoy onRemoteClose). Fires once, last. */
  onClose(status: number, message: string): void;
}

export interface GrpcStreamHandle {
  /** Sends one message (the client adds the length prefix); endStream half-closes. */
  send(message: Uint8Array, endStream: boolean): void;
  /** Half-close: no more messages from this side (Envoy AsyncStream::closeStream). */
  closeSend(): void;
  /** Resets the stream; no callback fires afterwards (Envoy AsyncStream::resetStream). */
  cancel(): void;
}

/** Implemented by the data plane (Envoy's Grpc::AsyncClient over the cluster manager). */
export interface GrpcCallDispatcher {
  hasCluster(name: string): boolean;
  grpcStream(request: GrpcStreamRequest, callbacks: GrpcStreamCallbacks): GrpcStreamHandle;
}

export interface TimerHandle {
  cancel(): void;
}

/** Time as the host sees it; tests use a virtual clock that they advance by hand. */
export interface Clock {
  /** Wall clock, ns since the epoch (proxy_get_current_time_nanoseconds, WASI realtime). */
  nowWallNs(): bigint;
  /** Monotonic ns (WASI monotonic clock). */
  nowMonoNs(): bigint;
  /** Runs `cb` once after `ms` milliseconds. */
  setTimeout(ms: number, cb: () => void): TimerHandle;
  /** Runs `cb` soon, after the current call stack (for posted events such as on_queue_ready). */
  post(cb: () => void): void;
}

/** Receives formatted log lines (Envoy's "wasm log<prefix>: <msg>"). */
export interface LogSink {
  log(level: LogLevel, line: string): void;
}

export interface HostEnvironment {
  stats: StatsStore;
  clock: Clock;
  logger: LogSink;
  /** Envoy's `wasm` logger level (default Info). */
  logLevel?: LogLevel;
  /** http_call target; absent means every cluster is unknown (BadArgument). */
  httpCalls?: HttpCallDispatcher;
  /** gRPC callout target; absent means every cluster name is unknown (ParseFailure). */
  grpcCalls?: GrpcCallDispatcher;
  /** Node identity for xds.node (id, cluster). */
  node?: { id?: string; cluster?: string };
  /** Process-wide state shared by all VMs (shared data, queues, VM cache); default one per process. */
  shared?: import("./shared-state.ts").SharedState;
  /** Number of worker VMs to clone per plugin (Envoy --concurrency); default 1. */
  concurrency?: number;
  /** Randomness in [0, 1) for backoff jitter; default Math.random (tests inject their own). */
  random?: () => number;
}
