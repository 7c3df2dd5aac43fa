/**
 * The server side of an HTTP/2 connection (RFC 9113), cleartext with prior knowledge: the
 * sidecar's downstream codec, facing untrusted clients.
 *
 * Contract (beyond H2Connection's):
 * - The client preface (§3.4) must open the connection, then the client's SETTINGS; anything
 *   else is a PROTOCOL_ERROR. We send our SETTINGS at once (Envoy's defaults: the given
 *   windows, SETTINGS_MAX_CONCURRENT_STREAMS `maxConcurrentStreams`).
 * - A client HEADERS on a new odd stream id above the last one opens a stream: `onStream(stream,
 *   headers, endStream)` with a well-formed request (§8.3.1, validate.ts). The stream is paused
 *   until its handler is set and it is resumed. A malformed request is reset with PROTOCOL_ERROR,
 *   one over maxHeaderListBytes with INTERNAL_ERROR (Envoy's header_overflow), one beyond
 *   maxConcurrentStreams or after our GOAWAY with REFUSED_STREAM; none reaches onStream.
 * - DATA must add up to a declared content-length (§8.1.1), else PROTOCOL_ERROR.
 * - Until its response is complete, a stream's handler hears of a client RST_STREAM, a stream or
 *   connection error or the connection going away (onReset), even when the request was complete.
 * - Frames on streams we closed, and a HEADERS on a stream id at or below the last one opened,
 *   are ignored (§5.1; nghttp2 does the same); HEADERS on an even id is a PROTOCOL_ERROR.
 * - Rapid reset (CVE-2023-44487), as Envoy's premature-reset check (ConnectionManagerImpl::
 *   isPrematureRstStream): once 500 of the client's streams have closed, if at least half of them
 *   were reset by the client within a second of opening and before any response headers went
 *   out, the connection is closed with ENHANCE_YOUR_CALM.
 */
import type net from "node:net";
import { H2Connection, type H2ConnectionOptions } from "./connection.ts";
import { H2Stream, type H2StreamHandler } from "./stream.ts";
import { CLIENT_PREFACE, DEFAULT_WINDOW, ErrorCode, Flags, H2Error, Setting, rstStreamFrame, settingsFrame, windowUpdateFrame } from "./frames.ts";
import { validateRequestHeaders } from "./validate.ts";

export interface H2ServerEvents {
  onStream(stream: H2Stream, headers: string[], endStream: boolean): void;
  /** The connection is gone (every open stream was reset first). */
  onClose(): void;
  /** The client broke the protocol: the connection closes with GOAWAY (downstream_cx_protocol_error). */
  onProtocolError?(): void;
}

export interface H2ServerOptions extends H2ConnectionOptions {
  maxConcurrentStreams: number;
}

const PREMATURE_RESET_MIN_STREAMS = 500;
const PREMATURE_RESET_LIFETIME_MS = 1000;

/** Handler of a stream nobody has claimed yet (its events wait while it is paused). */
const UNCLAIMED: H2StreamHandler = {
  onHeaders() {},
  onData() {},
  onTrailers() {},
  onReset() {},
  onWritable() {},
  onClosed() {},
};

/** What the server tracks per stream beyond H2Stream: the declared length and the stream's age. */
interface RequestState {
  contentLength?: number;
  received: number;
  openedAt: number;
}

export class H2ServerConnection extends H2Connection {
  private prefaceSeen = 0;
  private lastStreamId = 0;
  private readonly requests = new WeakMap<H2Stream, RequestState>();
  private streamsClosed = 0;
  private prematureResets = 0;
  private readonly maxConcurrentStreams: number;

  constructor(
    socket: net.Socket,
    private readonly events: H2ServerEvents,
    opts: H2ServerOptions,
  ) {
    super(socket, opts);
    this.maxConcurrentStreams = opts.maxConcurrentStreams;
    socket.on("error", () => this.terminate());
    socket.on("close", () => this.terminate());
    this.write(
      settingsFrame([
        [Setting.MAX_CONCURRENT_STREAMS, Math.min(opts.maxConcurrentStreams, 2 ** 31 - 1)],
        [Setting.INITIAL_WINDOW_SIZE, this.localWindow],
      ]),
    );
    if (this.localWindow > DEFAULT_WINDOW) this.write(windowUpdateFrame(0, this.localWindow - DEFAULT_WINDOW));
  }

  protected override receive(chunk: Buffer): void {
    if (this.prefaceSeen < CLIENT_PREFACE.length) {
      const n = Math.min(chunk.length, CLIENT_PREFACE.length - this.prefaceSeen);
      if (!chunk.subarray(0, n).equals(CLIENT_PREFACE.subarray(this.prefaceSeen, this.prefaceSeen + n))) {
        throw new H2Error(ErrorCode.PROTOCOL_ERROR, "not the HTTP/2 client preface");
      }
      this.prefaceSeen += n;
      chunk = chunk.subarray(n);
      if (chunk.length === 0) return;
    }
    super.receive(chunk);
  }

  protected isIdle(streamId: number): boolean {
    return streamId > this.lastStreamId || streamId % 2 === 0;
  }

  protected isLocallyInitiated(streamId: number): boolean {
    return streamId % 2 === 0;
  }

  protected lastPeerStreamId(): number {
    return this.lastStreamId;
  }

  protected onHeaderList(flags: number, streamId: number, list: string[]): void {
    const end = (flags & Flags.END_STREAM) !== 0;
    const s = this.streams.get(streamId);
    if (s) return this.onTrailers(s, list, end);
    if (streamId % 2 === 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, `HEADERS on even stream ${streamId}`);
    if (streamId <= this.lastStreamId) return; // a stream we closed: ignored (§5.1)
    this.lastStreamId = streamId;
    if (this.goawaySent || this.streams.size >= this.maxConcurrentStreams) return this.refuse(streamId, ErrorCode.REFUSED_STREAM);
    if (!this.withinHeaderListLimit(list)) {
      this.stats.header_overflow.inc();
      return this.refuse(streamId, ErrorCode.INTERNAL_ERROR);
    }
    const check = validateRequestHeaders(list, false);
    if (!check) return this.refuse(streamId, ErrorCode.PROTOCOL_ERROR);
    if (end && check.contentLength !== undefined && check.contentLength !== 0) return this.refuse(streamId, ErrorCode.PROTOCOL_ERROR);
    const stream = new H2Stream(streamId, this, UNCLAIMED, this.peerInitialWindow, this.localWindow);
    stream.finalHeadersSeen = true;
    stream.remoteEnded = end;
    stream.pause();
    this.addStream(stream);
    this.requests.set(stream, { contentLength: check.contentLength, received: 0, openedAt: Date.now() });
    this.events.onStream(stream, list, end);
  }

  private onTrailers(s: H2Stream, list: string[], end: boolean): void {
    if (s.remoteEnded) return this.streamError(s, ErrorCode.STREAM_CLOSED);
    if (!end || !this.withinHeaderListLimit(list) || !validateRequestHeaders(list, true)) return this.streamError(s, ErrorCode.PROTOCOL_ERROR);
    const r = this.requests.get(s);
    if (r?.contentLength !== undefined && r.received !== r.contentLength) return this.streamError(s, ErrorCode.PROTOCOL_ERROR);
    s.remoteEnded = true;
    this.stats.trailers.inc();
    s.receive({ kind: "trailers", trailers: list });
    if (s.localEnded) this.closeStream(s);
  }

  private refuse(streamId: number, code: number): void {
    this.writeControl(rstStreamFrame(streamId, code));
    this.stats.tx_reset.inc();
    if (code === ErrorCode.PROTOCOL_ERROR) this.stats.rx_messaging_error.inc();
  }

  protected override acceptData(s: H2Stream, length: number, end: boolean): boolean {
    const r = this.requests.get(s);
    if (r?.contentLength === undefined) return true;
    r.received += length;
    return r.received <= r.contentLength && (!end || r.received === r.contentLength);
  }

  protected override closeStream(s: H2Stream): void {
    if (!s.closed) this.streamsClosed++;
    super.closeStream(s);
  }

  protected override onPeerReset(s: H2Stream): void {
    const r = this.requests.get(s);
    if (!r || s.headersSent || Date.now() - r.openedAt > PREMATURE_RESET_LIFETIME_MS) return;
    this.prematureResets++;
    const closed = this.streamsClosed + 1; // this stream closes right after
    if (closed >= PREMATURE_RESET_MIN_STREAMS && this.prematureResets * 2 >= closed) {
      throw new H2Error(ErrorCode.ENHANCE_YOUR_CALM, "too many premature stream resets");
    }
  }

  /** A request stream matters to its handler until the response is complete: a client that resets
   *  a stream whose request it finished cancels the response (§5.1 half-closed (remote), §7 CANCEL),
   *  and a connection that goes away ends it, as Envoy resets every active stream. */
  protected override exchangeComplete(s: H2Stream): boolean {
    return s.localEnded;
  }

  protected override onProtocolError(): void {
    this.events.onProtocolError?.();
  }

  protected onTerminated(): void {
    this.events.onClose();
  }
}
