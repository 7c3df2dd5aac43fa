/**
 * HTTP/2 (h2c, prior knowledge) downstream codec on the sidecar's own HTTP/2 server connection
 * (http/h2/server-connection.ts), with Envoy's defaults: max_concurrent_streams 2147483647,
 * initial stream and connection windows 256 MiB, request headers up to 60 KiB.
 * - Request DATA arrives as onData(chunk, end); trailers end the request with onTrailers.
 * - A response's END_STREAM rides on its last DATA frame, or on the trailers' HEADERS; what a
 *   response sends in one turn of the event loop leaves in one packet.
 * - A remote RST_STREAM is onReset("http2.remote_reset"); the connection going away is a
 *   connection termination ("downstream_remote_disconnect"); a stream the codec resets for a
 *   protocol violation is "http2.violation.of.messaging.rule". A local reset is RST_STREAM
 *   NO_ERROR (Envoy's LocalReset).
 */
import type net from "node:net";
import { ENVOY_H2_WINDOW } from "../../http/http2-options.ts";
import { ErrorCode } from "../../http/h2/frames.ts";
import { H2ServerConnection } from "../../http/h2/server-connection.ts";
import type { H2CodecStats } from "../../http/h2/stats.ts";
import type { H2ResetReason, H2Stream, H2StreamHandler } from "../../http/h2/stream.ts";
import { HeaderMap } from "../../http/header-map.ts";
import { CONNECTION_SPECIFIC, headerMapFromRaw, type CodecStream, type ConnectionInfo, type RequestEvents } from "./codec.ts";

/** Envoy's max_request_headers_kb default (60), in HPACK's accounting (32 bytes per field extra). */
const MAX_REQUEST_HEADER_LIST = 60 * 1024 + 32 * 100;

export interface Http2ServeOptions {
  /** Envoy's http2.* codec stats. */
  stats?: H2CodecStats;
  /** The client broke the protocol (the HCM's downstream_cx_protocol_error). */
  onProtocolError?(): void;
  /** The listener's per_connection_buffer_limit_bytes: a response stream's send buffer watermark. */
  bufferLimit?: number;
}

/** Serves one downstream HTTP/2 connection; `socket` may hold the unshifted preface. */
export function serveHttp2(
  socket: net.Socket,
  onStream: (s: CodecStream) => void,
  connection: ConnectionInfo,
  opts: Http2ServeOptions = {},
): H2ServerConnection {
  const conn = new H2ServerConnection(
    socket,
    {
      onStream: (stream, headers, endStream) => onStream(new Http2CodecStream(stream, headers, endStream, connection)),
      onClose: () => {},
      onProtocolError: opts.onProtocolError,
    },
    {
      localWindow: ENVOY_H2_WINDOW - 1,
      maxConcurrentStreams: 2_147_483_647,
      maxHeaderListBytes: MAX_REQUEST_HEADER_LIST,
      stats: opts.stats,
      bufferLimit: opts.bufferLimit,
    },
  );
  socket.resume();
  return conn;
}

function toList(map: HeaderMap): string[] {
  const out: string[] = [];
  const view = map.view();
  for (let i = 0; i < view.length; i++) {
    const [k, v] = view[i]!;
    if (!CONNECTION_SPECIFIC.has(k)) out.push(k, v);
  }
  return out;
}

/** Request headers from the codec's flat list, cookie crumbs joined. */
function requestHeaders(list: readonly string[]): HeaderMap {
  const m = new HeaderMap();
  let cookies: string[] | undefined;
  for (let i = 0; i < list.length; i += 2) {
    if (list[i] === "cookie") (cookies ??= []).push(list[i + 1]!);
    else m.add(list[i]!, list[i + 1]!);
  }
  // A cookie split into crumbs over several fields is one field again, joined with "; "
  // (RFC 9113 §8.2.3), as Envoy's codec hands it to filters and to HTTP/1 upstreams.
  if (cookies) m.add("cookie", cookies.join("; "));
  return m;
}

class Http2CodecStream implements CodecStream, H2StreamHandler {
  readonly protocol = "HTTP/2" as const;
  readonly headers: HeaderMap;
  private events?: RequestEvents;
  /** setReading(false) came before start(): the stream stays paused when it starts. */
  private startPaused = false;

  constructor(
    private readonly stream: H2Stream,
    headers: string[],
    readonly endStreamOnHeaders: boolean,
    readonly connection: ConnectionInfo,
  ) {
    this.headers = requestHeaders(headers);
    stream.handler = this;
  }

  start(events: RequestEvents): void {
    this.events = events;
    if (!this.startPaused) this.stream.resume();
  }

  // H2StreamHandler: the request side.

  onHeaders(): void {}

  onData(chunk: Buffer, endStream: boolean): void {
    this.events?.onData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length), endStream);
  }

  onTrailers(trailers: string[]): void {
    this.events?.onTrailers(headerMapFromRaw(trailers, new HeaderMap()));
  }

  onReset(reason: H2ResetReason): void {
    if (reason === "connection termination") this.events?.onReset("downstream_remote_disconnect", true);
    else if (reason === "protocol error") this.events?.onReset("http2.violation.of.messaging.rule", false);
    else this.events?.onReset("http2.remote_reset", false);
  }

  onWritable(): void {
    this.events?.onWritable();
  }

  onClosed(): void {}

  // CodecStream: the response side.

  sendHeaders(headers: HeaderMap, endStream: boolean): void {
    this.stream.sendHeaders(toList(headers), endStream);
    if (endStream) this.afterLocalEnd();
  }

  sendData(data: Uint8Array, endStream: boolean): void {
    if (!this.stream.write(data, endStream)) this.events?.onBackpressure();
    if (endStream) this.afterLocalEnd();
  }

  sendTrailers(trailers: HeaderMap): void {
    this.stream.sendTrailers(toList(trailers));
    this.afterLocalEnd();
  }

  /** The response is complete: read and drop whatever request body is still coming. */
  private afterLocalEnd(): void {
    if (!this.stream.remoteEnded) this.setReading(true);
  }

  reset(): void {
    this.stream.reset(ErrorCode.NO_ERROR);
  }

  setReading(enabled: boolean): void {
    // Before start() the stream stays paused (its events have nowhere to go yet); start() resumes it.
    if (!this.events) this.startPaused = !enabled;
    else if (enabled) this.stream.resume();
    else this.stream.pause();
  }
}
