/**
 * The contract between the router / async client and the per-host connection pools
 * (Envoy's Http::ConnectionPool::Instance + ResponseDecoder / RequestEncoder).
 *
 * `newStream` either calls `onReady` with a stream bound to a connection (at once when a
 * connection has capacity, later when one becomes available) or `onFailure` with an Envoy
 * StreamResetReason string; the returned function cancels a pending request. A ready
 * stream's response arrives through the StreamCallbacks given to `newStream`.
 */
import type { HeaderMap } from "../../../http/header-map.ts";
import type { SocketAddress } from "../../../http/stream-info.ts";

/** Envoy's Http::Utility::resetReasonToString values. */
export type ResetReason =
  | "local connection failure"
  | "remote connection failure"
  | "connection timeout"
  | "connection termination"
  | "local reset"
  | "overflow"
  | "remote reset"
  | "remote refused stream reset"
  | "protocol error";

export interface StreamCallbacks {
  onHeaders(headers: HeaderMap, endStream: boolean): void;
  onData(data: Uint8Array, endStream: boolean): void;
  onTrailers(trailers: HeaderMap): void;
  onReset(reason: ResetReason, transportFailureReason: string): void;
  /** The request side drained below its watermark after sendData returned false. */
  onWritable?(): void;
}

export interface UpstreamStream {
  readonly localAddress?: SocketAddress;
  sendHeaders(headers: HeaderMap, endStream: boolean): void;
  /** false = above the write watermark; wait for onWritable. */
  sendData(data: Uint8Array, endStream: boolean): boolean;
  sendTrailers(trailers: HeaderMap): void;
  /** Local reset: cancels the stream; no callback fires afterwards. */
  reset(): void;
  /** Pauses / resumes reading the response (downstream backpressure). */
  readDisable(disable: boolean): void;
}

export interface PoolCallbacks {
  onReady(stream: UpstreamStream): void;
  onFailure(reason: ResetReason, transportFailureReason: string): void;
}

export interface ConnPool {
  newStream(streamCallbacks: StreamCallbacks, poolCallbacks: PoolCallbacks): () => void;
  /** Closes every connection and fails pending requests. */
  close(): void;
  readonly activeStreams: number;
}

/** Headers that are connection-specific and never forwarded (RFC 9113 §8.2.2, Envoy's codecs). */
export const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "http2-settings",
]);

/** "delayed connect error: <errno>" as Envoy reports a refused/unreachable connect. */
export function connectErrorReason(err: unknown): string {
  const errno = (err as { errno?: number }).errno;
  return typeof errno === "number" ? `delayed connect error: ${Math.abs(errno)}` : "";
}
