/**
 * The sending half of an H2Connection (RFC 9113): output batching, HEADERS/CONTINUATION and DATA
 * framing, and send-side flow control (§6.9).
 *
 * - Everything written during one turn of the event loop leaves in one socket write
 *   (setImmediate), as Node's own HTTP/2 session batches its output; a stream's DATA is framed
 *   at that flush, so an END_STREAM that follows it in the same turn rides on its last frame.
 * - DATA goes out as far as the stream's and the connection's send windows and the peer's
 *   SETTINGS_MAX_FRAME_SIZE allow; a stream that must wait is `blocked` until a WINDOW_UPDATE,
 *   a SETTINGS change or the socket's 'drain'. Nothing more is framed while the socket holds
 *   SOCKET_HIGH_WATERMARK bytes.
 * - Control frames written while the peer is not reading count against Envoy's
 *   max_outbound_control_frames (1,000): beyond it, ENHANCE_YOUR_CALM.
 */
import type net from "node:net";
import { HpackEncoder } from "./hpack/encoder.ts";
import type { H2Stream } from "./stream.ts";
import type { H2CodecStats } from "./stats.ts";
import { DEFAULT_MAX_FRAME_SIZE, DEFAULT_WINDOW, ErrorCode, Flags, FrameType, H2Error, frame, frameHeader } from "./frames.ts";

/** Stop moving DATA into the socket while this much is waiting in its write buffer. */
const SOCKET_HIGH_WATERMARK = 1024 * 1024;
const MAX_OUTBOUND_CONTROL_FRAMES = 1000;

export abstract class H2Sender {
  protected readonly encoder = new HpackEncoder();
  /** The peer's SETTINGS_INITIAL_WINDOW_SIZE: a new stream's send window. */
  protected peerInitialWindow = DEFAULT_WINDOW;
  protected peerMaxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  protected connSendWindow = DEFAULT_WINDOW;
  /** Streams with DATA waiting for window or socket room. */
  protected readonly blocked = new Set<H2Stream>();
  private out: Buffer[] = [];
  private outBytes = 0;
  private flushScheduled = false;
  /** Streams with new DATA, trailers or an end to frame at the next output flush. */
  private scheduled: H2Stream[] = [];
  /** Control frames written while the socket still held unsent bytes (the peer is not reading). */
  private unreadControlFrames = 0;

  constructor(
    readonly socket: net.Socket,
    protected readonly stats: H2CodecStats,
  ) {
    socket.on("drain", () => this.flushBlocked());
  }

  /** `s` sent its END_STREAM (the connection closes it once the peer's side is done too). */
  protected abstract localEnd(s: H2Stream): void;

  protected write(buf: Buffer): void {
    this.out.push(buf);
    this.outBytes += buf.length;
    this.scheduleFlush();
  }

  /** A control frame: counted against max_outbound_control_frames while the peer is not reading. */
  protected writeControl(buf: Buffer): void {
    if (this.socket.writableLength > 0 && ++this.unreadControlFrames > MAX_OUTBOUND_CONTROL_FRAMES) {
      this.stats.outbound_control_flood.inc();
      throw new H2Error(ErrorCode.ENHANCE_YOUR_CALM, "outbound control frame flood");
    }
    this.write(buf);
  }

  private scheduleFlush(): void {
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flushOut());
    }
  }

  /** `s` has something new to send: it is framed at the next output flush. */
  scheduleStream(s: H2Stream): void {
    if (s.scheduled) return;
    s.scheduled = true;
    this.scheduled.push(s);
    this.scheduleFlush();
  }

  protected flushOut(): void {
    // Frame the scheduled streams first (their frames join this write: flushScheduled is still set).
    if (this.scheduled.length > 0) {
      const streams = this.scheduled;
      this.scheduled = [];
      for (const s of streams) {
        s.scheduled = false;
        this.flushStream(s);
      }
    }
    this.flushScheduled = false;
    const out = this.out;
    if (out.length === 0 || this.socket.destroyed) {
      this.out = [];
      this.outBytes = 0;
      return;
    }
    if (this.socket.writableLength === 0) this.unreadControlFrames = 0;
    this.out = [];
    const bytes = this.outBytes;
    this.outBytes = 0;
    if (out.length === 1) this.socket.write(out[0]!);
    else if (bytes <= 65_536) this.socket.write(Buffer.concat(out, bytes));
    else {
      this.socket.cork();
      for (const b of out) this.socket.write(b);
      this.socket.uncork();
    }
  }

  /** HEADERS (plus CONTINUATION when the block exceeds the peer's SETTINGS_MAX_FRAME_SIZE). */
  protected writeHeaders(streamId: number, headers: readonly string[], endStream: boolean): void {
    const block = this.encoder.encode(headers);
    const max = this.peerMaxFrameSize;
    const es = endStream ? Flags.END_STREAM : 0;
    if (block.length <= max) {
      this.write(frame(FrameType.HEADERS, es | Flags.END_HEADERS, streamId, block));
      return;
    }
    this.write(frame(FrameType.HEADERS, es, streamId, block.subarray(0, max)));
    for (let off = max; off < block.length; off += max) {
      const last = off + max >= block.length;
      this.write(frame(FrameType.CONTINUATION, last ? Flags.END_HEADERS : 0, streamId, block.subarray(off, off + max)));
    }
  }

  /** Called by H2Stream.write: `n` more body bytes wait to be framed. */
  queued(n: number): void {
    this.stats.pending_send_bytes.add(n);
  }

  /** Called by H2Stream.sendHeaders. */
  sendHeaders(s: H2Stream, headers: readonly string[], endStream: boolean): void {
    this.writeHeaders(s.id, headers, endStream);
    if (endStream) this.localEnd(s);
  }

  /** Moves as much of `s`'s queued DATA as the windows allow into the output, then its end. */
  protected flushStream(s: H2Stream): void {
    if (s.closed || s.localEnded) return;
    while (s.queuedBytes > 0) {
      const room = Math.min(s.sendWindow, this.connSendWindow, this.peerMaxFrameSize);
      if (room <= 0 || this.socket.writableLength + this.outBytes > SOCKET_HIGH_WATERMARK) {
        this.blocked.add(s);
        s.drained();
        return;
      }
      const head = s.queue[0]!;
      const n = Math.min(room, head.length);
      const chunk = n === head.length ? head : head.subarray(0, n);
      if (n === head.length) s.queue.shift();
      else s.queue[0] = head.subarray(n);
      s.queuedBytes -= n;
      this.stats.pending_send_bytes.sub(n);
      s.sendWindow -= n;
      this.connSendWindow -= n;
      const last = s.queuedBytes === 0 && s.endQueued;
      if (n <= 1024) this.write(frame(FrameType.DATA, last ? Flags.END_STREAM : 0, s.id, chunk));
      else {
        this.write(frameHeader(n, FrameType.DATA, last ? Flags.END_STREAM : 0, s.id));
        this.write(chunk);
      }
      if (last) {
        this.blocked.delete(s);
        s.drained();
        this.localEnd(s);
        return;
      }
    }
    this.blocked.delete(s);
    s.drained();
    if (s.trailersQueued) {
      this.writeHeaders(s.id, s.trailersQueued, true);
      s.trailersQueued = undefined;
      this.localEnd(s);
    } else if (s.endQueued) {
      this.write(frame(FrameType.DATA, Flags.END_STREAM, s.id));
      this.localEnd(s);
    }
  }

  protected flushBlocked(): void {
    if (this.blocked.size === 0) return;
    for (const s of [...this.blocked]) {
      this.blocked.delete(s);
      this.flushStream(s);
    }
  }

}
