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
import { ENVOY_H2_SETTINGS, ENVOY_H2_WINDOW } from "../../http/http2-options.ts";
import * as http2 from "node:http2";
import { HeaderMap } from "../../http/header-map.ts";
import { CONNECTION_SPECIFIC, headerMapFromRaw, type CodecStream, type ConnectionInfo, type RequestEvents } from "./codec.ts";

const { NGHTTP2_FLAG_END_STREAM, NGHTTP2_NO_ERROR } = http2.constants;
const EMPTY = new Uint8Array(0);


export function createHttp2Server(onStream: (s: CodecStream) => void, connectionOf: (socket: object) => ConnectionInfo) {
  const server = http2.createServer({
    maxSessionMemory: 1024,
    settings: { ...ENVOY_H2_SETTINGS, maxConcurrentStreams: 2_147_483_647 },
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

/** The codec stream a Node stream belongs to, for the shared event listeners below. */
const OWNER = Symbol("Http2CodecStream");
type OwnedStream = http2.ServerHttp2Stream & { [OWNER]: Http2CodecStream };

// One listener function per event shared by every stream (rather than closures per stream);
// `this` is the Node stream, whose codec stream is stored under OWNER.
function ignoreError(): void {}
function onData(this: OwnedStream, chunk: Buffer): void {
  this[OWNER].onData(chunk);
}
function onTrailers(this: OwnedStream, _t: unknown, _f: unknown, raw: string[]): void {
  this[OWNER].onTrailers(raw);
}
function onEnd(this: OwnedStream): void {
  this[OWNER].onEnd();
}
function onDrain(this: OwnedStream): void {
  this[OWNER].events!.onWritable();
}
function onClose(this: OwnedStream): void {
  this[OWNER].onClose();
}
function onWantTrailers(this: OwnedStream): void {
  this[OWNER].onWantTrailers();
}

/** respond() options, shared (Node only reads them). */
const RESPOND_END: http2.ServerStreamResponseOptions = Object.freeze({ endStream: true, waitForTrailers: false });
const RESPOND_WAIT_FOR_TRAILERS: http2.ServerStreamResponseOptions = Object.freeze({ endStream: false, waitForTrailers: true });

class Http2CodecStream implements CodecStream {
  readonly protocol = "HTTP/2" as const;
  readonly headers: HeaderMap;
  events?: RequestEvents;
  private trailersSeen = false;
  private receivedTrailers?: string[];
  private pendingTrailers?: HeaderMap;
  private localDone = false;
  private drainListened = false;
  private remoteDone: boolean;

  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    raw: string[],
    readonly endStreamOnHeaders: boolean,
    readonly connection: ConnectionInfo,
  ) {
    this.headers = headerMapFromRaw(raw, new HeaderMap());
    this.remoteDone = endStreamOnHeaders;
    (stream as OwnedStream)[OWNER] = this;
    stream.on("error", ignoreError);
  }

  start(events: RequestEvents): void {
    this.events = events;
    const s = this.stream;
    s.on("data", onData);
    s.on("trailers", onTrailers);
    s.on("end", onEnd);
    s.on("close", onClose);
  }

  onData(chunk: Buffer): void {
    this.events!.onData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length), false);
  }

  /**
   * Node emits 'trailers' when the frame arrives, even while the stream is paused (readDisable)
   * with DATA still buffered; the trailers end the request, so they wait for 'end', which Node
   * emits after the last buffered chunk.
   */
  onTrailers(raw: string[]): void {
    this.trailersSeen = true;
    this.receivedTrailers = raw;
  }

  onEnd(): void {
    if (this.receivedTrailers) {
      const raw = this.receivedTrailers;
      this.receivedTrailers = undefined;
      this.remoteDone = true;
      this.events!.onTrailers(headerMapFromRaw(raw, new HeaderMap()));
      return;
    }
    if (this.trailersSeen || this.endStreamOnHeaders) return;
    this.remoteDone = true;
    this.events!.onData(EMPTY, true);
  }

  onClose(): void {
    if (this.localDone && this.remoteDone) return;
    const s = this.stream;
    const sessionGone = s.session === undefined || s.session.destroyed || s.session.closed;
    const code = s.rstCode;
    this.events!.onReset(sessionGone && code !== 8 ? "downstream_remote_disconnect" : "http2.remote_reset", sessionGone && code !== 8);
  }

  onWantTrailers(): void {
    const t = this.pendingTrailers;
    this.stream.sendTrailers(t ? toNodeHeaders(t) : {});
  }

  sendHeaders(headers: HeaderMap, endStream: boolean): void {
    if (this.stream.destroyed || this.stream.headersSent) return;
    if (endStream) this.localDone = true;
    this.stream.respond(toNodeHeaders(headers), endStream ? RESPOND_END : RESPOND_WAIT_FOR_TRAILERS);
    // 'wantTrailers' comes once per stream: `on` spares the wrapper `once` allocates.
    if (!endStream) this.stream.on("wantTrailers", onWantTrailers);
    if (endStream) this.afterLocalEnd();
  }

  sendData(data: Uint8Array, endStream: boolean): void {
    if (this.stream.destroyed) return;
    if (endStream) {
      this.localDone = true;
      this.stream.end(data.length > 0 ? data : undefined);
      this.afterLocalEnd();
    } else if (data.length > 0 && !this.stream.write(data)) {
      this.listenForDrain();
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

  /**
   * 'drain' is listened to from the first write the stream refuses (Node emits it after the
   * refused write), not for every stream: most responses never fill the write buffer.
   */
  private listenForDrain(): void {
    if (this.drainListened) return;
    this.drainListened = true;
    this.stream.on("drain", onDrain);
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
