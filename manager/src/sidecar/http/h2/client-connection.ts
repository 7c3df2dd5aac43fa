/**
 * The client side of an HTTP/2 connection (RFC 9113), cleartext with prior knowledge: the
 * sidecar's upstream codec, in the role Envoy gives its own client codec.
 *
 * Contract (beyond H2Connection's):
 * - `request(headers, endStream, handler)` opens a stream at once; its handler receives the
 *   final response headers (1xx are skipped, as Envoy does for upstream 1xx other than 100),
 *   DATA, trailers, or a reset.
 * - The response must be well formed (§8.3.2, validate.ts) and its header list within
 *   maxHeaderListBytes, else the stream is reset with PROTOCOL_ERROR ("protocol error").
 * - The server's first frame must be SETTINGS; its SETTINGS_MAX_CONCURRENT_STREAMS is
 *   `remoteMaxConcurrentStreams`. The events tell the pool when the socket connects, when the
 *   server's SETTINGS arrive, when it sends GOAWAY, and when the connection is gone.
 */
import type net from "node:net";
import { H2Connection, type H2ConnectionOptions } from "./connection.ts";
import { H2Stream, type H2StreamHandler } from "./stream.ts";
import { CLIENT_PREFACE, DEFAULT_WINDOW, ErrorCode, H2Error, Flags, Setting, settingsFrame, windowUpdateFrame } from "./frames.ts";
import { validateResponseHeaders } from "./validate.ts";

export interface H2ConnectionEvents {
  /** The TCP connection is established (streams may be opened from now on). */
  onConnect(): void;
  /** The server's SETTINGS were applied (SETTINGS_MAX_CONCURRENT_STREAMS may have changed). */
  onRemoteSettings(): void;
  /** The server sent GOAWAY: no new streams; open ones at or below its last stream id finish. */
  onGoaway(): void;
  /** The connection is gone. `connectError` is set when it never connected. */
  onClose(connectError?: Error): void;
  /** The server broke the protocol: the connection closes with GOAWAY (upstream_cx_protocol_error). */
  onProtocolError?(): void;
}

const MAX_STREAM_ID = 2 ** 31 - 1;

export class H2ClientConnection extends H2Connection {
  /** The server's SETTINGS_MAX_CONCURRENT_STREAMS (unlimited until its SETTINGS arrive). */
  remoteMaxConcurrentStreams = Number.MAX_SAFE_INTEGER;
  private connected = false;
  private nextStreamId = 1;

  constructor(
    socket: net.Socket,
    private readonly events: H2ConnectionEvents,
    opts: H2ConnectionOptions,
  ) {
    super(socket, opts);
    socket.on("connect", () => {
      this.connected = true;
      this.events.onConnect();
    });
    socket.on("error", (err) => this.terminate(this.connected ? undefined : err));
    socket.on("close", () => this.terminate(this.connected ? undefined : new Error("connection closed before it was established")));
    // The preface and our SETTINGS may be written before the socket connects (Node queues them).
    this.write(CLIENT_PREFACE);
    this.write(
      settingsFrame([
        [Setting.ENABLE_PUSH, 0],
        [Setting.INITIAL_WINDOW_SIZE, this.localWindow],
      ]),
    );
    if (this.localWindow > DEFAULT_WINDOW) this.write(windowUpdateFrame(0, this.localWindow - DEFAULT_WINDOW));
  }

  /** Whether another stream may be opened now. */
  canOpenStream(): boolean {
    return this.connected && !this.closed && !this.goawayReceived && !this.goawaySent && this.nextStreamId <= MAX_STREAM_ID;
  }

  /** Opens a stream with `headers` (flat [name, value, ...], pseudo-headers first). */
  request(headers: readonly string[], endStream: boolean, handler: H2StreamHandler): H2Stream {
    if (!this.canOpenStream()) throw new Error("the connection accepts no new streams");
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const stream = new H2Stream(id, this, handler, this.peerInitialWindow, this.localWindow);
    this.addStream(stream);
    stream.sendHeaders(headers as string[], endStream);
    return stream;
  }

  protected isIdle(streamId: number): boolean {
    return streamId >= this.nextStreamId || streamId % 2 === 0;
  }

  protected isLocallyInitiated(streamId: number): boolean {
    return streamId % 2 === 1;
  }

  protected lastPeerStreamId(): number {
    return 0;
  }

  protected onHeaderList(flags: number, streamId: number, list: string[]): void {
    const s = this.streams.get(streamId);
    if (!s) {
      if (this.isIdle(streamId)) throw new H2Error(ErrorCode.PROTOCOL_ERROR, `HEADERS on idle stream ${streamId}`);
      return;
    }
    if (s.remoteEnded) return this.streamError(s, ErrorCode.STREAM_CLOSED);
    const end = (flags & Flags.END_STREAM) !== 0;
    if (!this.withinHeaderListLimit(list)) {
      this.stats.header_overflow.inc();
      return this.streamError(s, ErrorCode.PROTOCOL_ERROR);
    }
    if (!s.finalHeadersSeen) {
      const status = validateResponseHeaders(list, false);
      if (status === undefined) return this.streamError(s, ErrorCode.PROTOCOL_ERROR);
      if (status < 200) {
        if (end) return this.streamError(s, ErrorCode.PROTOCOL_ERROR);
        return; // informational: skipped
      }
      s.finalHeadersSeen = true;
      if (end) s.remoteEnded = true;
      s.handler.onHeaders(list, end);
      if (end && s.localEnded) this.closeStream(s);
      return;
    }
    if (!end || validateResponseHeaders(list, true) === undefined) return this.streamError(s, ErrorCode.PROTOCOL_ERROR);
    s.remoteEnded = true;
    this.stats.trailers.inc();
    s.receive({ kind: "trailers", trailers: list });
    if (s.localEnded) this.closeStream(s);
  }

  protected override onMaxConcurrentStreams(value: number): void {
    this.remoteMaxConcurrentStreams = value;
  }

  protected override onRemoteSettings(): void {
    this.events.onRemoteSettings();
  }

  protected override onGoawayReceived(): void {
    this.events.onGoaway();
  }

  protected override onProtocolError(): void {
    this.events.onProtocolError?.();
  }

  protected onTerminated(error?: Error): void {
    this.events.onClose(error);
  }
}
