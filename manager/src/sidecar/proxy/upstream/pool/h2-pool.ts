/**
 * HTTP/2 connection pool for one host, as Envoy's Http2::ConnPoolImpl: cleartext HTTP/2 with
 * prior knowledge (h2c), streams multiplexed on a connection up to
 * min(max_concurrent_streams, the peer's SETTINGS_MAX_CONCURRENT_STREAMS), a further
 * connection opened when pending streams exceed the capacity of connections being set up
 * (bounded by the cluster's max_connections, else upstream_cx_overflow). A connection that
 * fails to connect (or exceeds connect_timeout) counts upstream_cx_connect_fail and fails the
 * pending streams no other connecting connection could take; GOAWAY drains a connection
 * (no new streams, open ones finish); a closed connection resets its remaining streams with
 * "connection termination".
 */
import http2 from "node:http2";
import net from "node:net";
import { ENVOY_H2_SETTINGS, ENVOY_H2_WINDOW } from "../../../http/http2-options.ts";
import type { HeaderMap } from "../../../http/header-map.ts";
import type { SocketAddress } from "../../../http/stream-info.ts";
import { BasePool, type PendingRequest, type PoolContext } from "./base-pool.ts";
import { fromNodeHeaders, toNodeH2Headers } from "./headers.ts";
import { connectErrorReason, type ResetReason, type StreamCallbacks, type UpstreamStream } from "./types.ts";
import { writeBody } from "./write-body.ts";

const EMPTY = new Uint8Array(0);
/** session.request options, shared (Node only reads them). */
const END_STREAM: http2.ClientSessionRequestOptions = Object.freeze({ endStream: true, waitForTrailers: false });
const WAIT_FOR_TRAILERS: http2.ClientSessionRequestOptions = Object.freeze({ endStream: false, waitForTrailers: true });

interface H2Connection {
  session: http2.ClientHttp2Session;
  /** The pool's own socket: Node's session.destroy() only half-closes it, close() destroys it. */
  socket: net.Socket;
  state: "connecting" | "ready" | "draining" | "closed";
  active: number;
  timer?: NodeJS.Timeout;
  localAddress?: SocketAddress;
  released: boolean;
}

export class H2Pool extends BasePool {
  private conns: H2Connection[] = [];

  constructor(ctx: PoolContext) {
    super(ctx);
  }

  private capacity(c: H2Connection): number {
    const remote = c.state === "connecting" ? undefined : c.session.remoteSettings?.maxConcurrentStreams;
    return Math.min(this.ctx.maxConcurrentStreams, remote ?? Number.MAX_SAFE_INTEGER);
  }

  protected tryAttach(req: PendingRequest, fromQueue?: boolean): boolean {
    const c = this.conns.find((x) => x.state === "ready" && x.active < this.capacity(x));
    if (!c) return false;
    c.active++;
    this.ready(req, fromQueue, new H2Stream(this, c, req.sc));
    return true;
  }

  protected ensureCapacity(): void {
    if (this.closed) return;
    let connecting = 0;
    for (const c of this.conns) if (c.state === "connecting") connecting += this.capacity(c);
    if (this.pending.length <= connecting) return;
    if (!this.ctx.resources.connections.canCreate()) {
      this.ctx.stats.inc("upstream_cx_overflow");
      return;
    }
    this.connect();
  }

  private connect(): void {
    const { host, stats, resources } = this.ctx;
    const a = host.address;
    const url = `http://${a.address.includes(":") ? `[${a.address}]` : a.address}:${a.port}`;
    const socket = net.connect({ host: a.address, port: a.port });
    const session = http2.connect(url, { settings: ENVOY_H2_SETTINGS, createConnection: () => socket });
    const c: H2Connection = { session, socket, state: "connecting", active: 0, released: false };
    this.conns.push(c);
    resources.connections.inc();
    host.stats.cxTotal++;
    host.stats.cxActive++;
    stats.inc("upstream_cx_total");
    stats.inc("upstream_cx_http2_total");
    stats.gauge("upstream_cx_active").add(1);
    c.timer = setTimeout(() => {
      if (c.state !== "connecting") return;
      stats.inc("upstream_cx_connect_timeout");
      this.onConnectFailure(c, "connection timeout", "");
    }, this.ctx.connectTimeoutMs);
    session.once("connect", () => {
      clearTimeout(c.timer);
      if (c.state !== "connecting") return;
      c.state = "ready";
      try {
        session.setLocalWindowSize(ENVOY_H2_WINDOW);
      } catch {
        /* session already gone */
      }
      const sock = session.socket;
      if (sock?.localAddress) c.localAddress = { address: sock.localAddress, port: sock.localPort ?? 0 };
      this.drainPending();
    });
    session.on("remoteSettings", () => {
      if (c.state === "ready") this.drainPending();
    });
    session.on("error", (err) => {
      if (c.state === "connecting") this.onConnectFailure(c, "remote connection failure", connectErrorReason(err));
    });
    session.on("goaway", () => {
      if (c.state === "ready" || c.state === "connecting") c.state = "draining";
      if (c.active === 0) session.close();
      if (this.pending.length > 0) this.ensureCapacity();
    });
    session.on("close", () => this.release(c));
  }

  private onConnectFailure(c: H2Connection, reason: ResetReason, tfr: string): void {
    const { host, stats } = this.ctx;
    clearTimeout(c.timer);
    c.state = "closed";
    host.stats.cxConnectFail++;
    stats.inc("upstream_cx_connect_fail");
    this.release(c, false);
    c.session.destroy();
    c.socket.destroy();
    const stillConnecting = this.conns.some((x) => x.state === "connecting" || x.state === "ready");
    if (!stillConnecting) this.purgePending(reason, tfr);
    else this.ensureCapacity();
  }

  private release(c: H2Connection, reconnect = true): void {
    if (c.released) return;
    c.released = true;
    c.socket.destroy();
    clearTimeout(c.timer);
    c.state = "closed";
    const i = this.conns.indexOf(c);
    if (i >= 0) this.conns.splice(i, 1);
    this.ctx.resources.connections.dec();
    this.ctx.host.stats.cxActive--;
    this.ctx.stats.gauge("upstream_cx_active").sub(1);
    this.ctx.stats.inc("upstream_cx_destroy");
    if (reconnect && this.pending.length > 0) this.ensureCapacity();
  }

  /** Called by a stream when it closed. */
  streamClosed(c: H2Connection): void {
    c.active--;
    this.onStreamDone();
    if (c.state === "draining" && c.active === 0) c.session.close();
    this.drainPending();
  }

  close(): void {
    this.closed = true;
    this.purgePending("connection termination", "");
    for (const c of [...this.conns]) {
      c.session.destroy();
      c.socket.destroy();
    }
  }
}

/** The H2Stream a Node stream belongs to, for the shared event listeners below. */
const OWNER = Symbol("H2Stream");
type OwnedStream = http2.ClientHttp2Stream & { [OWNER]: H2Stream };

// One listener function per event shared by every stream (rather than closures per stream);
// `this` is the Node stream, whose H2Stream is stored under OWNER.
function onResponse(this: OwnedStream, h: http2.IncomingHttpHeaders, flags: number): void {
  this[OWNER].onResponse(h, flags);
}
function onData(this: OwnedStream, chunk: Buffer): void {
  this[OWNER].onData(chunk);
}
function onTrailers(this: OwnedStream, t: http2.IncomingHttpHeaders): void {
  this[OWNER].onTrailers(t);
}
function onEnd(this: OwnedStream): void {
  this[OWNER].onEnd();
}
function onWantTrailers(this: OwnedStream): void {
  this[OWNER].onWantTrailers();
}
function onDrain(this: OwnedStream): void {
  this[OWNER].onDrain();
}
function ignoreError(): void {}
function onClose(this: OwnedStream): void {
  this[OWNER].onClose();
}

class H2Stream implements UpstreamStream {
  private req?: http2.ClientHttp2Stream;
  private remoteEnded = false;
  private localReset = false;
  private finished = false;
  private trailers?: HeaderMap;
  /** Response trailers held until every buffered DATA chunk went out (see onTrailers). */
  private receivedTrailers?: http2.IncomingHttpHeaders;
  private sawEnd = false;
  private drainListened = false;

  constructor(
    private readonly pool: H2Pool,
    private readonly conn: H2Connection,
    private readonly cb: StreamCallbacks,
  ) {}

  get localAddress(): SocketAddress | undefined {
    return this.conn.localAddress;
  }

  sendHeaders(headers: HeaderMap, endStream: boolean): void {
    let req: http2.ClientHttp2Stream;
    try {
      req = this.conn.session.request(toNodeH2Headers(headers), endStream ? END_STREAM : WAIT_FOR_TRAILERS);
    } catch {
      this.finish();
      queueMicrotask(() => this.cb.onReset("connection termination", ""));
      return;
    }
    this.req = req;
    (req as OwnedStream)[OWNER] = this;
    req.on("response", onResponse);
    req.on("data", onData);
    req.on("trailers", onTrailers);
    req.on("end", onEnd);
    req.on("wantTrailers", onWantTrailers);
    req.on("error", ignoreError);
    req.on("close", onClose);
  }

  onResponse(h: http2.IncomingHttpHeaders, flags: number): void {
    const end = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
    if (end) this.remoteEnded = true;
    this.cb.onHeaders(fromNodeHeaders(h as Record<string, unknown>), end);
  }

  onData(chunk: Buffer): void {
    if (!this.localReset) this.cb.onData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength), false);
  }

  /**
   * Node emits 'trailers' when the frame arrives, even while the stream is paused for
   * backpressure with DATA still buffered; the trailers end the response, so they wait for
   * 'end', which Node emits after the last buffered chunk.
   */
  onTrailers(t: http2.IncomingHttpHeaders): void {
    if (this.localReset || this.remoteEnded) return;
    this.receivedTrailers = t;
  }

  // Node also emits 'end' when the peer resets the stream; once our side is done the
  // 'close' event's rstCode tells a clean end from a reset.
  onEnd(): void {
    if (this.localReset || this.remoteEnded) return;
    if (this.receivedTrailers) {
      this.remoteEnded = true;
      this.cb.onTrailers(fromNodeHeaders(this.receivedTrailers as Record<string, unknown>));
      return;
    }
    if (this.req!.writableEnded) {
      this.sawEnd = true;
      return;
    }
    this.remoteEnded = true;
    this.cb.onData(EMPTY, true);
  }

  onWantTrailers(): void {
    const t = this.trailers ? toNodeH2Headers(this.trailers) : {};
    try {
      this.req!.sendTrailers(t);
    } catch {
      /* stream already gone */
    }
  }

  onDrain(): void {
    this.cb.onWritable?.();
  }

  onClose(): void {
    this.finish();
    if (this.localReset || this.remoteEnded) return;
    const code = this.req!.rstCode;
    if (this.sawEnd && code === http2.constants.NGHTTP2_NO_ERROR) {
      this.remoteEnded = true;
      this.cb.onData(EMPTY, true);
      return;
    }
    let reason: ResetReason = "remote reset";
    if (code === http2.constants.NGHTTP2_REFUSED_STREAM) reason = "remote refused stream reset";
    else if (this.conn.session.destroyed || this.conn.session.closed || code === undefined) reason = "connection termination";
    this.cb.onReset(reason, "");
  }

  sendData(data: Uint8Array, endStream: boolean): boolean {
    const ok = writeBody(this.req, data, endStream);
    if (!ok) this.listenForDrain();
    return ok;
  }

  /**
   * 'drain' is listened to from the first write the stream refuses (Node emits it after the
   * refused write), not for every stream: most requests never fill the write buffer.
   */
  private listenForDrain(): void {
    if (this.drainListened) return;
    this.drainListened = true;
    this.req!.on("drain", onDrain);
  }

  sendTrailers(trailers: HeaderMap): void {
    this.trailers = trailers;
    if (this.req && !this.req.destroyed) this.req.end();
  }

  reset(): void {
    if (this.localReset) return;
    this.localReset = true;
    if (this.req && !this.req.destroyed) this.req.close(http2.constants.NGHTTP2_CANCEL);
    else this.finish();
  }

  readDisable(disable: boolean): void {
    if (!this.req) return;
    if (disable) this.req.pause();
    else this.req.resume();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.pool.streamClosed(this.conn);
  }
}
