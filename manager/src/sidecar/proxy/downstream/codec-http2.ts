/**
 * HTTP/2 (h2c, prior knowledge) downstream codec on node:http2, with Envoy's defaults:
 * max_concurrent_streams 2147483647, initial stream and connection windows 256 MiB.
 * - Request DATA arrives as onData(chunk, false); the END_STREAM flag becomes a final
 *   onData(empty, true) unless trailers ended the stream.
 * - Responses always wait for trailers; a response ended by data sends an empty DATA frame
 *   with END_STREAM (node sends empty trailers that way), trailers a HEADERS frame.
 * - A remote RST_STREAM is onReset("http2.remote_reset"); the session going away is a
 *   connection termination. A local reset is RST_STREAM NO_ERROR (Envoy's LocalReset).
 */
import * as http2 from "node:http2";
import { HeaderMap } from "../../http/header-map.ts";
import { CONNECTION_SPECIFIC, headerMapFromRaw, type CodecStream, type ConnectionInfo, type RequestEvents } from "./codec.ts";

const { NGHTTP2_FLAG_END_STREAM, NGHTTP2_NO_ERROR } = http2.constants;

export const ENVOY_H2_WINDOW = 268_435_456;

export function createHttp2Server(onStream: (s: CodecStream) => void, connectionOf: (socket: object) => ConnectionInfo) {
  const server = http2.createServer({
    maxSessionMemory: 1024,
    settings: { maxConcurrentStreams: 2_147_483_647, initialWindowSize: ENVOY_H2_WINDOW - 1, enablePush: false },
  });
  server.on("session", (session) => {
    session.on("error", () => {});
    session.once("connect", () => {
      try {
        session.setLocalWindowSize(ENVOY_H2_WINDOW);
      } catch {
        /* session already gone */
      }
    });
  });
  server.on("stream", (stream: http2.ServerHttp2Stream, _headers: unknown, flags: number, rawHeaders: unknown) => {
    const connection = connectionOf(stream.session?.socket ?? {});
    onStream(new Http2CodecStream(stream, rawHeaders as unknown as string[], (flags & NGHTTP2_FLAG_END_STREAM) !== 0, connection));
  });
  return server;
}

function toNodeHeaders(map: HeaderMap): http2.OutgoingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of map.view()) {
    if (CONNECTION_SPECIFIC.has(k)) continue;
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else out[k] = Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

class Http2CodecStream implements CodecStream {
  readonly protocol = "HTTP/2" as const;
  readonly headers: HeaderMap;
  private events?: RequestEvents;
  private trailersSeen = false;
  private pendingTrailers?: HeaderMap;
  private localDone = false;
  private remoteDone: boolean;

  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    raw: string[],
    readonly endStreamOnHeaders: boolean,
    readonly connection: ConnectionInfo,
  ) {
    this.headers = headerMapFromRaw(raw, new HeaderMap());
    this.remoteDone = endStreamOnHeaders;
    stream.on("error", () => {});
  }

  start(events: RequestEvents): void {
    this.events = events;
    const s = this.stream;
    s.on("data", (chunk: Buffer) => events.onData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length), false));
    s.on("trailers", (_t: unknown, _f: unknown, raw: string[]) => {
      this.trailersSeen = true;
      this.remoteDone = true;
      events.onTrailers(headerMapFromRaw(raw, new HeaderMap()));
    });
    s.on("end", () => {
      if (this.trailersSeen || this.endStreamOnHeaders) return;
      this.remoteDone = true;
      events.onData(new Uint8Array(), true);
    });
    s.on("drain", () => events.onWritable());
    s.on("close", () => {
      if (this.localDone && this.remoteDone) return;
      const sessionGone = s.session === undefined || s.session.destroyed || s.session.closed;
      const code = s.rstCode;
      events.onReset(sessionGone && code !== 8 ? "downstream_remote_disconnect" : "http2.remote_reset", sessionGone && code !== 8);
    });
  }

  sendHeaders(headers: HeaderMap, endStream: boolean): void {
    if (this.stream.destroyed || this.stream.headersSent) return;
    if (endStream) this.localDone = true;
    this.stream.respond(toNodeHeaders(headers), { endStream, waitForTrailers: !endStream });
    if (!endStream) {
      this.stream.once("wantTrailers", () => {
        const t = this.pendingTrailers;
        this.stream.sendTrailers(t ? toNodeHeaders(t) : {});
      });
    }
    if (endStream) this.afterLocalEnd();
  }

  sendData(data: Uint8Array, endStream: boolean): void {
    if (this.stream.destroyed) return;
    if (endStream) {
      this.localDone = true;
      this.stream.end(data.length > 0 ? data : undefined);
      this.afterLocalEnd();
    } else if (data.length > 0 && !this.stream.write(data)) {
      this.events?.onBackpressure();
    }
  }

  sendTrailers(trailers: HeaderMap): void {
    if (this.stream.destroyed) return;
    this.localDone = true;
    this.pendingTrailers = trailers;
    this.stream.end();
    this.afterLocalEnd();
  }

  /** The response is complete: read and drop whatever request body is still coming. */
  private afterLocalEnd(): void {
    if (!this.remoteDone) this.stream.resume();
  }

  reset(): void {
    this.localDone = true;
    this.remoteDone = true;
    if (!this.stream.destroyed) this.stream.close(NGHTTP2_NO_ERROR);
  }

  setReading(enabled: boolean): void {
    if (enabled) this.stream.resume();
    else this.stream.pause();
  }
}
