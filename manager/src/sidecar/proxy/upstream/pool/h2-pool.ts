/**
 * HTTP/2 connection pool for one host, as Envoy's Http2::ConnPoolImpl: cleartext HTTP/2 with
 * prior knowledge (h2c), streams multiplexed on a connection up to
 * min(max_concurrent_streams, the peer's SETTINGS_MAX_CONCURRENT_STREAMS), a further
 * connection opened when pending streams exceed the capacity of connections being set up
 * (bounded by the cluster's max_connections, else upstream_cx_overflow). A connection that
 * fails to connect (or exceeds connect_timeout) counts upstream_cx_connect_fail and fails the
 * pending streams no other connecting connection could take; GOAWAY drains a connection
 * (no new streams, open ones finish); a closed connection resets its remaining streams with
 * "connection termination". Each connection runs the sidecar's own HTTP/2 client codec
 * (http/h2/client-connection.ts), as Envoy runs its own codec rather than a generic client.
 */
import net from "node:net";
import { ENVOY_H2_WINDOW } from "../../../http/http2-options.ts";
import { H2ClientConnection } from "../../../http/h2/client-connection.ts";
import type { H2ResetReason, H2Stream as CodecStream, H2StreamHandler } from "../../../http/h2/stream.ts";
import { ErrorCode } from "../../../http/h2/frames.ts";
import type { HeaderMap } from "../../../http/header-map.ts";
import type { SocketAddress } from "../../../http/stream-info.ts";
import { BasePool, type PendingRequest, type PoolContext } from "./base-pool.ts";
import { fromRawPairs, toH2HeaderList } from "./headers.ts";
import { connectErrorReason, type ResetReason, type StreamCallbacks, type UpstreamStream } from "./types.ts";

interface H2Connection {
  codec: H2ClientConnection;
  state: "connecting" | "ready" | "draining" | "closed";
  active: number;
  timer?: NodeJS.Timeout;
  localAddress?: SocketAddress;
  /** The host's "address:port", the :authority of a request that has none. */
  authority: string;
  released: boolean;
}

export class H2Pool extends BasePool {
  private conns: H2Connection[] = [];

  constructor(ctx: PoolContext) {
    super(ctx);
  }

  private capacity(c: H2Connection): number {
    return Math.min(this.ctx.maxConcurrentStreams, c.codec.remoteMaxConcurrentStreams);
  }

  protected tryAttach(req: PendingRequest, fromQueue?: boolean): boolean {
    const c = this.conns.find((x) => x.state === "ready" && x.active < this.capacity(x) && x.codec.canOpenStream());
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
    const socket = net.connect({ host: a.address, port: a.port });
    const authority = `${a.address.includes(":") ? `[${a.address}]` : a.address}:${a.port}`;
    const c = { state: "connecting", active: 0, released: false, authority } as H2Connection;
    c.codec = new H2ClientConnection(
      socket,
      {
        onConnect: () => {
          clearTimeout(c.timer);
          if (c.state !== "connecting") return;
          c.state = "ready";
          if (socket.localAddress) c.localAddress = { address: socket.localAddress, port: socket.localPort ?? 0 };
          this.drainPending();
        },
        onRemoteSettings: () => {
          if (c.state === "ready") this.drainPending();
        },
        onGoaway: () => {
          if (c.state === "ready" || c.state === "connecting") c.state = "draining";
          if (this.pending.length > 0) this.ensureCapacity();
        },
        onProtocolError: () => stats.inc("upstream_cx_protocol_error"),
        onClose: (connectError) => {
          if (c.state === "connecting") this.onConnectFailure(c, "remote connection failure", connectErrorReason(connectError));
          else this.release(c);
        },
      },
      { localWindow: ENVOY_H2_WINDOW - 1, stats: stats.http2(), bufferLimit: this.ctx.bufferLimit },
    );
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
  }

  private onConnectFailure(c: H2Connection, reason: ResetReason, tfr: string): void {
    const { host, stats } = this.ctx;
    clearTimeout(c.timer);
    c.state = "closed";
    host.stats.cxConnectFail++;
    stats.inc("upstream_cx_connect_fail");
    this.release(c, false);
    c.codec.destroy();
    const stillConnecting = this.conns.some((x) => x.state === "connecting" || x.state === "ready");
    if (!stillConnecting) this.purgePending(reason, tfr);
    else this.ensureCapacity();
  }

  private release(c: H2Connection, reconnect = true): void {
    if (c.released) return;
    c.released = true;
    c.codec.destroy();
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
    this.drainPending();
  }

  close(): void {
    this.closed = true;
    this.purgePending("connection termination", "");
    for (const c of [...this.conns]) c.codec.destroy();
  }
}

class H2Stream implements UpstreamStream, H2StreamHandler {
  private stream?: CodecStream;
  private localReset = false;
  private finished = false;

  constructor(
    private readonly pool: H2Pool,
    private readonly conn: H2Connection,
    private readonly cb: StreamCallbacks,
  ) {}

  get localAddress(): SocketAddress | undefined {
    return this.conn.localAddress;
  }

  sendHeaders(headers: HeaderMap, endStream: boolean): void {
    try {
      this.stream = this.conn.codec.request(toH2HeaderList(headers, this.conn.authority), endStream, this);
    } catch {
      this.finish();
      queueMicrotask(() => this.cb.onReset("connection termination", ""));
    }
  }

  sendData(data: Uint8Array, endStream: boolean): boolean {
    return this.stream ? this.stream.write(data, endStream) : true;
  }

  sendTrailers(trailers: HeaderMap): void {
    this.stream?.sendTrailers(toH2HeaderList(trailers));
  }

  reset(): void {
    if (this.localReset) return;
    this.localReset = true;
    if (this.stream) this.stream.reset(ErrorCode.CANCEL);
    else this.finish();
  }

  readDisable(disable: boolean): void {
    if (disable) this.stream?.pause();
    else this.stream?.resume();
  }

  // H2StreamHandler: the codec's callbacks, passed on unless this side reset the stream.

  onHeaders(headers: string[], endStream: boolean): void {
    if (!this.localReset) this.cb.onHeaders(fromRawPairs(headers), endStream);
  }

  onData(chunk: Buffer, endStream: boolean): void {
    if (!this.localReset) this.cb.onData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength), endStream);
  }

  onTrailers(trailers: string[]): void {
    if (!this.localReset) this.cb.onTrailers(fromRawPairs(trailers));
  }

  onReset(reason: H2ResetReason): void {
    if (!this.localReset) this.cb.onReset(reason, "");
  }

  onWritable(): void {
    if (!this.localReset) this.cb.onWritable?.();
  }

  onClosed(): void {
    this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.pool.streamClosed(this.conn);
  }
}
