/**
 * One stream of an H2Connection, client or server side (RFC 9113 §5.1): open -> half-closed
 * once END_STREAM went one way, closed once it went both ways or either side reset it.
 *
 * Outgoing DATA waits in `queue` until the connection's next output flush (so that the request's
 * END_STREAM rides on its last DATA frame when both come in one turn of the event loop) and until
 * the stream's and the connection's send windows allow it (§6.9); `write` returns false once more
 * than the connection's buffer limit waits (Envoy's per_connection_buffer_limit_bytes, 1 MiB by
 * default), and the handler's onWritable fires when the queue falls under half of it (Envoy's
 * buffer watermarks).
 * Incoming DATA is credited back to the peer (WINDOW_UPDATE) only once delivered, so a paused
 * stream holds its peer back through flow control, as Envoy's readDisable does.
 */
import type { H2Connection } from "./connection.ts";

export type H2ResetReason = "remote reset" | "remote refused stream reset" | "connection termination" | "protocol error";

export interface H2StreamHandler {
  /** Client side: the final (non-1xx) response headers, as a flat [name, value, ...] list.
   *  (A server stream's request headers come with the stream itself.) */
  onHeaders(headers: string[], endStream: boolean): void;
  onData(chunk: Buffer, endStream: boolean): void;
  /** Trailers; they end the peer's side of the stream. */
  onTrailers(trailers: string[]): void;
  /** The stream ended abnormally; nothing else is delivered afterwards. */
  onReset(reason: H2ResetReason, code: number): void;
  onWritable(): void;
  /** The stream left the connection (both ends closed, or reset): it no longer counts against
   *  the peer's SETTINGS_MAX_CONCURRENT_STREAMS. Fires before onReset (if any), possibly before
   *  paused DATA has been delivered. */
  onClosed(): void;
}


type Inbound = { kind: "data"; chunk: Buffer; end: boolean } | { kind: "trailers"; trailers: string[] };

export class H2Stream {
  /** Send window the peer granted (may go negative after a SETTINGS change, §6.9.2). */
  sendWindow: number;
  /** Receive window left before the peer must wait for our WINDOW_UPDATE. */
  recvWindow: number;
  /** Bytes delivered since the last stream WINDOW_UPDATE. */
  recvUnacked = 0;
  readonly queue: Buffer[] = [];
  queuedBytes = 0;
  /** END_STREAM is to follow the queued DATA (no trailers). */
  endQueued = false;
  trailersQueued?: string[];
  localEnded = false;
  remoteEnded = false;
  closed = false;
  /** The peer's (final) headers arrived: what follows is DATA, then possibly trailers. */
  finalHeadersSeen = false;
  headersSent = false;
  aboveHighWatermark = false;
  /** Waiting for the connection's next output flush to turn its queue into frames. */
  scheduled = false;
  paused = false;
  /** Reset (locally, by the peer or for an error) before its exchange completed: nothing more is delivered. */
  aborted = false;
  private inbound?: Inbound[];

  constructor(
    readonly id: number,
    private readonly conn: H2Connection,
    public handler: H2StreamHandler,
    sendWindow: number,
    recvWindow: number,
  ) {
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  /** Sends this side's headers (a server's response headers; a client sends its request's at open). */
  sendHeaders(headers: string[], end: boolean): void {
    if (this.closed || this.localEnded || this.headersSent) return;
    this.headersSent = true;
    this.conn.sendHeaders(this, headers, end);
  }

  /** Queues body bytes; `end` ends this side of the stream with them. false = wait for onWritable. */
  write(data: Uint8Array, end: boolean): boolean {
    if (this.closed || this.localEnded || this.endQueued || this.trailersQueued) return true;
    if (data.length > 0) {
      this.queue.push(Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength));
      this.queuedBytes += data.length;
      this.conn.queued(data.length);
    }
    if (end) this.endQueued = true;
    this.conn.scheduleStream(this);
    if (this.queuedBytes > this.conn.bufferLimit) this.aboveHighWatermark = true;
    return !this.aboveHighWatermark;
  }

  /** Ends this side of the stream with trailers (sent after every queued DATA frame). */
  sendTrailers(trailers: string[]): void {
    if (this.closed || this.localEnded || this.endQueued || this.trailersQueued) return;
    if (trailers.length === 0) this.endQueued = true;
    else this.trailersQueued = trailers;
    this.conn.scheduleStream(this);
  }

  /** Local reset (RST_STREAM with `code`); no handler callback fires afterwards. */
  reset(code: number): void {
    if (this.closed) return;
    this.conn.resetStream(this, code);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const held = this.inbound;
    this.inbound = undefined;
    if (!held) return;
    for (let i = 0; i < held.length; i++) {
      if (this.aborted || (this.closed && !this.remoteEnded)) return;
      if (this.paused) {
        this.inbound = held.slice(i).concat(this.inbound ?? []);
        return;
      }
      this.deliver(held[i]!);
    }
  }

  /** Called by the connection for each DATA frame or trailers, in order. */
  receive(item: Inbound): void {
    if (this.paused || this.inbound) {
      (this.inbound ??= []).push(item);
      return;
    }
    this.deliver(item);
  }

  private deliver(item: Inbound): void {
    if (item.kind === "trailers") {
      this.handler.onTrailers(item.trailers);
      return;
    }
    if (item.chunk.length > 0) this.conn.consumed(this, item.chunk.length);
    this.handler.onData(item.chunk, item.end);
  }

  /** Called by the connection when queued bytes went out. */
  drained(): void {
    if (this.aboveHighWatermark && this.queuedBytes < this.conn.bufferLimit / 2) {
      this.aboveHighWatermark = false;
      this.handler.onWritable();
    }
  }
}
