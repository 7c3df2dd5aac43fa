/**
 * What both ends of an HTTP/2 connection (RFC 9113) do alike; H2ClientConnection and
 * H2ServerConnection add their role (who opens streams, what their headers must look like).
 *
 * Contract (the sending half, output batching and DATA framing, is H2Sender's: sender.ts):
 * - Flow control (§6.9): we grant `localWindow` per stream and for the connection; a stream's
 *   DATA is credited back once delivered (so a paused stream holds its peer back), the
 *   connection's on receipt. We send no more than the peer's windows allow, and stop feeding
 *   the socket while its write buffer is above SOCKET_HIGH_WATERMARK.
 * - The peer's SETTINGS (§6.5) are applied and acknowledged, PING (§6.7) answered, GOAWAY (§6.8)
 *   refuses our streams above its last stream id and drains the rest, RST_STREAM (§6.4) resets a
 *   stream. A protocol violation is a connection error (§5.4.1): GOAWAY with its code, the
 *   socket closed (destroyed a second later if the peer does not read), every open stream reset
 *   with "protocol error".
 * - A reset is reported to a stream's handler only while its exchange is incomplete
 *   (exchangeComplete: a client's until the response is complete, a server's until its response is).
 * - Floods are connection errors, with Envoy's limits: more than one empty DATA frame in a row
 *   without END_STREAM (max_consecutive_inbound_frames_with_empty_payload), more than 1,000
 *   control frames queued to a peer that does not read (max_outbound_control_frames).
 * - The socket closing resets every open stream with "connection termination".
 * Not implemented: server push (a PUSH_PROMISE is a PROTOCOL_ERROR), PRIORITY (ignored).
 */
import type net from "node:net";
import { HpackDecoder, HpackError } from "./hpack/decoder.ts";
import { H2Stream, type H2ResetReason } from "./stream.ts";
import { NO_H2_STATS, type H2CodecStats } from "./stats.ts";
import { H2Sender } from "./sender.ts";
import {
  DEFAULT_MAX_FRAME_SIZE,
  ErrorCode,
  Flags,
  FrameReader,
  FrameType,
  H2Error,
  MAX_WINDOW,
  Setting,
  frame,
  goawayFrame,
  rstStreamFrame,
  windowUpdateFrame,
} from "./frames.ts";

export interface H2ConnectionOptions {
  /** SETTINGS_INITIAL_WINDOW_SIZE we send, and the connection window we raise to. */
  localWindow: number;
  /** Bound on a decoded header list (bytes, as HPACK counts them); above it the stream is reset. */
  maxHeaderListBytes?: number;
  /** Envoy's http2.* codec stats to charge. */
  stats?: H2CodecStats;
  /** A stream's send buffer high watermark (per_connection_buffer_limit_bytes); default 1 MiB. */
  bufferLimit?: number;
}

/** A header block (all its CONTINUATION frames) may not exceed this; HPACK may not expand beyond MAX_DECODED. */
const MAX_HEADER_BLOCK = 256 * 1024;
const MAX_DECODED = 1024 * 1024;
const MAX_CONSECUTIVE_EMPTY_FRAMES = 1;
/** After a connection error, how long the GOAWAY may take to leave before the socket is destroyed. */
const DELAYED_CLOSE_MS = 1000;
const EMPTY = Buffer.alloc(0);

export abstract class H2Connection extends H2Sender {
  readonly streams = new Map<number, H2Stream>();
  goawayReceived = false;
  /** We sent GOAWAY or decided to: no new streams. */
  goawaySent = false;
  closed = false;
  protected remoteSettingsReceived = false;
  private readonly decoder = new HpackDecoder();
  private readonly reader: FrameReader;
  private connRecvUnacked = 0;
  /** A header block being continued (§6.10): the stream id and the fragments so far. */
  private continuation?: { streamId: number; flags: number; fragments: Buffer[]; bytes: number };
  private consecutiveEmptyFrames = 0;
  protected readonly localWindow: number;
  protected readonly maxHeaderListBytes: number;
  /** A stream's send buffer high watermark; its low watermark is half. */
  readonly bufferLimit: number;

  constructor(socket: net.Socket, opts: H2ConnectionOptions) {
    super(socket, opts.stats ?? NO_H2_STATS);
    this.localWindow = Math.min(opts.localWindow, MAX_WINDOW);
    this.maxHeaderListBytes = opts.maxHeaderListBytes ?? 60 * 1024;
    this.bufferLimit = opts.bufferLimit ?? 1024 * 1024;
    this.reader = new FrameReader(DEFAULT_MAX_FRAME_SIZE, (t, f, id, p) => this.onFrame(t, f, id, p));
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onSocketData(chunk));
  }

  get activeStreams(): number {
    return this.streams.size;
  }

  /** Graceful close: GOAWAY(NO_ERROR) now (no new streams), the socket ends once no stream is open. */
  close(): void {
    if (this.closed) return;
    if (!this.goawaySent) {
      this.goawaySent = true;
      this.write(goawayFrame(this.lastPeerStreamId(), ErrorCode.NO_ERROR));
    }
    if (this.streams.size === 0) this.endSocket();
  }

  /** Abrupt close: open streams are reset with "connection termination". */
  destroy(): void {
    this.socket.destroy();
    this.terminate();
  }

  // ---- role hooks ---------------------------------------------------------------------------

  /** Whether `streamId` names a stream that was never opened (frames on it are PROTOCOL_ERRORs). */
  protected abstract isIdle(streamId: number): boolean;
  /** A complete, decoded header block for `streamId` (HEADERS + CONTINUATION). */
  protected abstract onHeaderList(flags: number, streamId: number, list: string[]): void;
  /** The highest stream id the peer opened (for our GOAWAY). */
  protected abstract lastPeerStreamId(): number;
  /** The peer reset a stream we still track. */
  protected onPeerReset(_s: H2Stream): void {}
  /** The connection is about to close for a connection error (§5.4.1) with `code`. */
  protected onProtocolError(_code: number): void {}
  /** The connection is gone; `error` is the socket's error, if any. */
  protected abstract onTerminated(error?: Error): void;

  /** Tracks a stream just opened (by us or by the peer). */
  protected addStream(s: H2Stream): void {
    this.streams.set(s.id, s);
    this.stats.streams_active.add(1);
  }

  protected localEnd(s: H2Stream): void {
    s.localEnded = true;
    if (s.remoteEnded) this.closeStream(s);
  }

  /** The application consumed `n` bytes of `s`'s DATA: credit the stream window back. */
  consumed(s: H2Stream, n: number): void {
    if (s.closed || s.remoteEnded) return;
    s.recvUnacked += n;
    if (s.recvUnacked >= this.localWindow / 2) {
      this.write(windowUpdateFrame(s.id, s.recvUnacked));
      s.recvWindow += s.recvUnacked;
      s.recvUnacked = 0;
    }
  }

  /** Called by H2Stream.reset. */
  resetStream(s: H2Stream, code: number): void {
    // A stream whose both ends are done needs no RST_STREAM (a grpc-js server answers a burst
    // of needless resets with GOAWAY, its rapid-reset protection).
    if (!(s.localEnded && s.remoteEnded)) {
      this.write(rstStreamFrame(s.id, code));
      this.stats.tx_reset.inc();
    }
    s.aborted = true;
    this.closeStream(s);
  }

  protected closeStream(s: H2Stream): void {
    if (s.closed) return;
    s.closed = true;
    this.streams.delete(s.id);
    this.stats.streams_active.sub(1);
    if (s.queuedBytes > 0) this.stats.pending_send_bytes.sub(s.queuedBytes);
    this.blocked.delete(s);
    s.handler.onClosed();
    if ((this.goawayReceived || this.goawaySent) && this.streams.size === 0) this.endSocket();
  }

  /** A stream error (§5.4.2): RST_STREAM to the peer, "protocol error" to the handler. */
  protected streamError(s: H2Stream, code: number): void {
    if (s.closed) return;
    this.writeControl(rstStreamFrame(s.id, code));
    this.stats.tx_reset.inc();
    if (code === ErrorCode.PROTOCOL_ERROR) this.stats.rx_messaging_error.inc();
    this.failStream(s, "protocol error", code);
  }

  /** Closes `s` and reports `reason`, unless its exchange was already complete. */
  private failStream(s: H2Stream, reason: H2ResetReason, code: number): void {
    const complete = this.exchangeComplete(s);
    if (!complete) s.aborted = true;
    this.closeStream(s);
    if (!complete) s.handler.onReset(reason, code);
  }

  /** Whether a reset of `s` no longer matters to its handler: a client's stream once the response
   *  is complete (the rest of the request may be reset with NO_ERROR, §8.1); a server overrides it. */
  protected exchangeComplete(s: H2Stream): boolean {
    return s.remoteEnded;
  }

  // ---- input --------------------------------------------------------------------------------

  protected onSocketData(chunk: Buffer): void {
    if (this.closed) return;
    try {
      this.receive(chunk);
    } catch (e) {
      if (e instanceof H2Error) this.connectionError(e.code);
      else if (e instanceof HpackError) this.connectionError(ErrorCode.COMPRESSION_ERROR);
      else {
        // A fault of ours (not the peer's) must not take the process down with every other
        // connection: this connection closes with INTERNAL_ERROR and the fault is reported.
        this.connectionError(ErrorCode.INTERNAL_ERROR);
        process.emitWarning(e instanceof Error ? e : new Error(String(e)), { code: "MESHWASM_H2_INTERNAL" });
      }
    }
  }

  /** Bytes from the peer; a server first strips the client preface. */
  protected receive(chunk: Buffer): void {
    this.reader.push(chunk);
  }

  private onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (this.closed) return;
    if (!this.remoteSettingsReceived && (type !== FrameType.SETTINGS || flags & Flags.ACK)) {
      throw new H2Error(ErrorCode.PROTOCOL_ERROR, "the peer's first frame must be SETTINGS (§3.4)");
    }
    if (this.continuation && type !== FrameType.CONTINUATION) {
      throw new H2Error(ErrorCode.PROTOCOL_ERROR, "a header block was interrupted (§6.10)");
    }
    switch (type) {
      case FrameType.DATA:
        return this.onData(flags, streamId, payload);
      case FrameType.HEADERS:
        return this.onHeadersFrame(flags, streamId, payload);
      case FrameType.CONTINUATION:
        return this.onContinuation(flags, streamId, payload);
      case FrameType.RST_STREAM:
        return this.onRstStream(streamId, payload);
      case FrameType.SETTINGS:
        return this.onSettings(flags, streamId, payload);
      case FrameType.PING:
        return this.onPing(flags, streamId, payload);
      case FrameType.GOAWAY:
        return this.onGoaway(streamId, payload);
      case FrameType.WINDOW_UPDATE:
        return this.onWindowUpdate(streamId, payload);
      case FrameType.PRIORITY:
        if (streamId === 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "PRIORITY on stream 0");
        if (payload.length !== 5) throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, "PRIORITY of the wrong size");
        return;
      case FrameType.PUSH_PROMISE:
        throw new H2Error(ErrorCode.PROTOCOL_ERROR, "PUSH_PROMISE although push is disabled");
      default:
        return; // unknown frame types are ignored (§4.1)
    }
  }

  /** Strips padding (§6.1, §6.2); returns the content or throws PROTOCOL_ERROR. */
  private unpad(flags: number, payload: Buffer): Buffer {
    if (!(flags & Flags.PADDED)) return payload;
    if (payload.length < 1) throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, "padded frame without a pad length");
    const pad = payload[0]!;
    if (pad >= payload.length) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "padding exceeds the frame");
    return payload.subarray(1, payload.length - pad);
  }

  private onData(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "DATA on stream 0");
    const end = (flags & Flags.END_STREAM) !== 0;
    if (payload.length === 0 && !end) {
      if (++this.consecutiveEmptyFrames > MAX_CONSECUTIVE_EMPTY_FRAMES) {
        this.stats.inbound_empty_frames_flood.inc();
        throw new H2Error(ErrorCode.ENHANCE_YOUR_CALM, "inbound empty frames flood");
      }
    } else this.consecutiveEmptyFrames = 0;
    // The connection window is credited on receipt, so one paused stream cannot stall the others.
    if (payload.length > 0) this.creditConnection(payload.length);
    const data = this.unpad(flags, payload);
    const s = this.streams.get(streamId);
    if (!s) {
      if (this.isIdle(streamId)) throw new H2Error(ErrorCode.PROTOCOL_ERROR, `DATA on idle stream ${streamId}`);
      return; // a stream we reset or finished: discard (§5.1 "closed")
    }
    if (s.remoteEnded) return this.streamError(s, ErrorCode.STREAM_CLOSED);
    if (!s.finalHeadersSeen) return this.streamError(s, ErrorCode.PROTOCOL_ERROR);
    s.recvWindow -= payload.length;
    if (s.recvWindow < 0) return this.streamError(s, ErrorCode.FLOW_CONTROL_ERROR);
    if (!this.acceptData(s, data.length, end)) return this.streamError(s, ErrorCode.PROTOCOL_ERROR);
    // Padding counts against flow control but is never delivered: credit it back now.
    if (payload.length > data.length) this.consumed(s, payload.length - data.length);
    if (end) s.remoteEnded = true;
    s.receive({ kind: "data", chunk: data.length > 0 ? data : EMPTY, end });
    if (end && s.localEnded) this.closeStream(s);
  }

  /** Role check of a DATA frame's length (a server holds it to the request's content-length). */
  protected acceptData(_s: H2Stream, _length: number, _end: boolean): boolean {
    return true;
  }

  private creditConnection(n: number): void {
    this.connRecvUnacked += n;
    if (this.connRecvUnacked >= this.localWindow / 2) {
      this.write(windowUpdateFrame(0, this.connRecvUnacked));
      this.connRecvUnacked = 0;
    }
  }

  private onHeadersFrame(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "HEADERS on stream 0");
    let block = this.unpad(flags, payload);
    if (flags & Flags.PRIORITY) {
      if (block.length < 5) throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, "HEADERS too short for its priority");
      block = block.subarray(5);
    }
    if (flags & Flags.END_HEADERS) return this.onHeaderBlock(flags, streamId, block);
    this.continuation = { streamId, flags, fragments: [Buffer.from(block)], bytes: block.length };
  }

  private onContinuation(flags: number, streamId: number, payload: Buffer): void {
    const c = this.continuation;
    if (!c || c.streamId !== streamId) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "CONTINUATION without a header block to continue");
    c.bytes += payload.length;
    if (c.bytes > MAX_HEADER_BLOCK) throw new H2Error(ErrorCode.ENHANCE_YOUR_CALM, "header block too large");
    c.fragments.push(Buffer.from(payload));
    if (!(flags & Flags.END_HEADERS)) return;
    this.continuation = undefined;
    this.onHeaderBlock(c.flags, streamId, Buffer.concat(c.fragments, c.bytes));
  }

  private onHeaderBlock(flags: number, streamId: number, block: Buffer): void {
    // Every block is decoded, even for a stream no longer tracked, to keep HPACK state in sync.
    this.onHeaderList(flags, streamId, this.decoder.decode(block, MAX_DECODED));
  }

  /** Whether a decoded header list is within maxHeaderListBytes (HPACK's accounting, §6.5.2). */
  protected withinHeaderListLimit(list: readonly string[]): boolean {
    let bytes = 0;
    for (let i = 0; i < list.length; i += 2) bytes += list[i]!.length + list[i + 1]!.length + 32;
    return bytes <= this.maxHeaderListBytes;
  }

  private onRstStream(streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "RST_STREAM on stream 0");
    if (payload.length !== 4) throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, "RST_STREAM of the wrong size");
    this.stats.rx_reset.inc();
    const s = this.streams.get(streamId);
    if (!s) {
      if (this.isIdle(streamId)) throw new H2Error(ErrorCode.PROTOCOL_ERROR, `RST_STREAM on idle stream ${streamId}`);
      return;
    }
    const code = payload.readUInt32BE(0);
    this.onPeerReset(s);
    // A reset of a stream whose exchange is complete (a server's complete response may reset the
    // rest of the request with NO_ERROR, §8.1) is not reported: see exchangeComplete.
    this.failStream(s, code === ErrorCode.REFUSED_STREAM ? "remote refused stream reset" : "remote reset", code);
  }

  private onSettings(flags: number, streamId: number, payload: Buffer): void {
    if (streamId !== 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "SETTINGS on a stream");
    if (flags & Flags.ACK) {
      if (payload.length !== 0) throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS ACK with a payload");
      return;
    }
    if (payload.length % 6 !== 0) throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS of the wrong size");
    for (let off = 0; off < payload.length; off += 6) {
      const id = payload.readUInt16BE(off);
      const value = payload.readUInt32BE(off + 2);
      switch (id) {
        case Setting.HEADER_TABLE_SIZE:
          this.encoder.setMaxTableSize(value);
          break;
        case Setting.ENABLE_PUSH:
          if (value > 1) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "SETTINGS_ENABLE_PUSH above 1");
          break;
        case Setting.MAX_CONCURRENT_STREAMS:
          this.onMaxConcurrentStreams(value);
          break;
        case Setting.INITIAL_WINDOW_SIZE: {
          if (value > MAX_WINDOW) throw new H2Error(ErrorCode.FLOW_CONTROL_ERROR, "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1");
          const delta = value - this.peerInitialWindow;
          this.peerInitialWindow = value;
          for (const s of this.streams.values()) {
            s.sendWindow += delta;
            if (s.sendWindow > MAX_WINDOW) throw new H2Error(ErrorCode.FLOW_CONTROL_ERROR, "a stream window exceeds 2^31-1");
          }
          break;
        }
        case Setting.MAX_FRAME_SIZE:
          if (value < DEFAULT_MAX_FRAME_SIZE || value > 16_777_215) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "SETTINGS_MAX_FRAME_SIZE out of range");
          this.peerMaxFrameSize = value;
          break;
        default:
          break; // unknown settings are ignored (§6.5.2)
      }
    }
    this.writeControl(frame(FrameType.SETTINGS, Flags.ACK, 0));
    this.remoteSettingsReceived = true;
    this.flushBlocked();
    this.onRemoteSettings();
  }

  /** The peer's SETTINGS_MAX_CONCURRENT_STREAMS. */
  protected onMaxConcurrentStreams(_value: number): void {}
  /** The peer's SETTINGS were applied. */
  protected onRemoteSettings(): void {}

  private onPing(flags: number, streamId: number, payload: Buffer): void {
    if (streamId !== 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "PING on a stream");
    if (payload.length !== 8) throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, "PING of the wrong size");
    if (!(flags & Flags.ACK)) this.writeControl(frame(FrameType.PING, Flags.ACK, 0, payload));
  }

  private onGoaway(streamId: number, payload: Buffer): void {
    if (streamId !== 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "GOAWAY on a stream");
    if (payload.length < 8) throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, "GOAWAY too short");
    const lastStreamId = payload.readUInt32BE(0) & 0x7fffffff;
    this.goawayReceived = true;
    // Our streams above the last id were never processed: refused, so they may be retried (§6.8).
    for (const s of [...this.streams.values()]) {
      if (s.id <= lastStreamId || !this.isLocallyInitiated(s.id)) continue;
      this.failStream(s, "remote refused stream reset", ErrorCode.REFUSED_STREAM);
    }
    this.onGoawayReceived();
    if (this.streams.size === 0) this.endSocket();
  }

  protected abstract isLocallyInitiated(streamId: number): boolean;
  protected onGoawayReceived(): void {}

  private onWindowUpdate(streamId: number, payload: Buffer): void {
    if (payload.length !== 4) throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, "WINDOW_UPDATE of the wrong size");
    const increment = payload.readUInt32BE(0) & 0x7fffffff;
    if (streamId === 0) {
      if (increment === 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE of 0");
      this.connSendWindow += increment;
      if (this.connSendWindow > MAX_WINDOW) throw new H2Error(ErrorCode.FLOW_CONTROL_ERROR, "the connection window exceeds 2^31-1");
      this.flushBlocked();
      return;
    }
    const s = this.streams.get(streamId);
    if (!s) {
      if (this.isIdle(streamId)) throw new H2Error(ErrorCode.PROTOCOL_ERROR, `WINDOW_UPDATE on idle stream ${streamId}`);
      return;
    }
    if (increment === 0) return this.streamError(s, ErrorCode.PROTOCOL_ERROR);
    s.sendWindow += increment;
    if (s.sendWindow > MAX_WINDOW) return this.streamError(s, ErrorCode.FLOW_CONTROL_ERROR);
    if (this.blocked.has(s)) {
      this.blocked.delete(s);
      this.flushStream(s);
    }
  }

  // ---- teardown -----------------------------------------------------------------------------

  /** A connection error (§5.4.1): GOAWAY with `code`, then close; open streams see "protocol error". */
  protected connectionError(code: number): void {
    if (this.closed) return;
    this.onProtocolError(code);
    this.goawaySent = true;
    this.write(goawayFrame(this.lastPeerStreamId(), code));
    this.flushOut();
    this.resetAll("protocol error", code);
    this.socket.destroySoon();
    // destroySoon waits for the output to drain, which a peer that does not read (a flood) never
    // lets happen: as Envoy's delayed_close_timeout, the GOAWAY gets a second, then the socket goes.
    setTimeout(() => this.socket.destroy(), DELAYED_CLOSE_MS).unref();
    this.terminate();
  }

  private endSocket(): void {
    if (this.closed) return;
    this.flushOut();
    this.socket.end();
    this.terminate();
  }

  private resetAll(reason: H2ResetReason, code: number): void {
    for (const s of [...this.streams.values()]) this.failStream(s, reason, code);
  }

  protected terminate(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.resetAll("connection termination", ErrorCode.CANCEL);
    this.onTerminated(error);
  }
}
