/**
 * The downstream codec contract: one request/response exchange as the connection manager
 * sees it, whichever HTTP version carried it (Envoy's RequestDecoder / ResponseEncoder pair).
 * The HTTP/1.1 and HTTP/2 adapters (codec-http1.ts, codec-http2.ts) implement it on top of
 * node:http and on the sidecar's own HTTP/2 server connection (http/h2).
 */
import type { HeaderMap } from "../../http/header-map.ts";
import type { SocketAddress } from "../../http/stream-info.ts";
import type { SslConnectionInfo } from "../../tls/connection-info.ts";

export interface ConnectionInfo {
  /** Envoy connection id: one process-wide counter. */
  id: number;
  remote: SocketAddress;
  local: SocketAddress;
  /** The TLS facts of a connection on a TLS listener (Envoy's connection.ssl()); undefined: plaintext. */
  ssl?: SslConnectionInfo;
}

export interface RequestEvents {
  onData(chunk: Uint8Array, endStream: boolean): void;
  onTrailers(trailers: HeaderMap): void;
  /** The downstream reset the stream (or the connection went away) before it completed. */
  onReset(details: string, connectionTermination: boolean): void;
  /** The downstream can take more response data (below the low watermark again). */
  onWritable(): void;
  /** The downstream write buffer is over its high watermark. */
  onBackpressure(): void;
}

export interface CodecStream {
  readonly protocol: "HTTP/1.0" | "HTTP/1.1" | "HTTP/2";
  readonly connection: ConnectionInfo;
  /** Request headers including :method, :path, :authority, :scheme. */
  readonly headers: HeaderMap;
  readonly endStreamOnHeaders: boolean;
  /** Starts delivering request events (data arriving before this is queued by the socket). */
  start(events: RequestEvents): void;
  sendHeaders(headers: HeaderMap, endStream: boolean): void;
  sendData(data: Uint8Array, endStream: boolean): void;
  sendTrailers(trailers: HeaderMap): void;
  /** Local reset (HTTP/2 RST_STREAM NO_ERROR as Envoy's LocalReset; HTTP/1 closes the connection). */
  reset(): void;
  /** Pause / resume reading the request body. */
  setReading(enabled: boolean): void;
}

/** Headers HTTP/2 forbids (RFC 9113 §8.2.2) and Envoy's codecs never send downstream. */
export const CONNECTION_SPECIFIC = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]);

/** node rawHeaders ([k, v, k, v, ...]) to a HeaderMap, keeping order and repeats. */
export function headerMapFromRaw(raw: string[], into: HeaderMap): HeaderMap {
  for (let i = 0; i + 1 < raw.length; i += 2) into.add(raw[i]!.toLowerCase(), raw[i + 1]!);
  return into;
}

export function socketAddress(address: string | undefined, port: number | undefined): SocketAddress {
  const a = address ?? "0.0.0.0";
  return { address: a.startsWith("::ffff:") ? a.slice(7) : a, port: port ?? 0 };
}
