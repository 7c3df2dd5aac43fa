/**
 * HTTP/1.1 connection pool for one host, as Envoy's Http1::ConnPoolImpl: one request per
 * connection at a time, idle connections kept alive and reused, a new connection for each
 * request that finds none idle while the cluster's max_connections allows (otherwise the
 * request waits in the pending queue). Connect failures and connect_timeout fail the request
 * with "remote connection failure" / "connection timeout"; a connection lost before the
 * response completes resets the stream with "connection termination".
 */
import http from "node:http";
import type { Socket } from "node:net";
import type { HeaderMap } from "../../../http/header-map.ts";
import type { SocketAddress } from "../../../http/stream-info.ts";
import { BasePool, type PendingRequest, type PoolContext } from "./base-pool.ts";
import { fromNodeHeaders, fromRawPairs, toNodeH1Headers } from "./headers.ts";
import { connectErrorReason, type StreamCallbacks, type UpstreamStream } from "./types.ts";
import { writeBody } from "./write-body.ts";

const EMPTY = new Uint8Array(0);

export class H1Pool extends BasePool {
  readonly agent: http.Agent;
  private sockets = new Set<Socket>();
  /** Requests dispatched that have no socket connected yet or hold one. */
  busy = 0;

  constructor(ctx: PoolContext) {
    super(ctx);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 1024 });
  }

  private idleSockets(): number {
    return Math.max(0, this.sockets.size - this.busy);
  }

  protected tryAttach(req: PendingRequest, fromQueue?: boolean): boolean {
    if (this.idleSockets() === 0 && !this.ctx.resources.connections.canCreate()) return false;
    this.busy++;
    this.ready(req, fromQueue, new H1Stream(this, req.sc));
    return true;
  }

  protected ensureCapacity(): void {
    if (!this.ctx.resources.connections.canCreate()) this.ctx.stats.inc("upstream_cx_overflow");
  }

  /** A socket the agent handed to a request; counts it once as a new connection. */
  trackSocket(sock: Socket): boolean {
    if (this.sockets.has(sock)) return false;
    const { host, stats, resources } = this.ctx;
    this.sockets.add(sock);
    resources.connections.inc();
    host.stats.cxTotal++;
    host.stats.cxActive++;
    stats.inc("upstream_cx_total");
    stats.inc("upstream_cx_http1_total");
    stats.gauge("upstream_cx_active").add(1);
    sock.once("close", () => {
      this.sockets.delete(sock);
      resources.connections.dec();
      host.stats.cxActive--;
      stats.gauge("upstream_cx_active").sub(1);
      stats.inc("upstream_cx_destroy");
      this.drainPending();
    });
    return true;
  }

  connectFailed(): void {
    this.ctx.host.stats.cxConnectFail++;
    this.ctx.stats.inc("upstream_cx_connect_fail");
  }

  connectTimedOut(): void {
    this.ctx.stats.inc("upstream_cx_connect_timeout");
  }

  streamDone(): void {
    this.busy--;
    this.onStreamDone();
    this.drainPending();
  }

  get host(): PoolContext["host"] {
    return this.ctx.host;
  }
  get connectTimeoutMs(): number {
    return this.ctx.connectTimeoutMs;
  }

  close(): void {
    this.closed = true;
    this.purgePending("connection termination", "");
    this.agent.destroy();
  }
}

class H1Stream implements UpstreamStream {
  private req?: http.ClientRequest;
  private finished = false;
  private localReset = false;
  private remoteEnded = false;
  private connected = false;
  private res?: http.IncomingMessage;
  private sock?: Socket;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly pool: H1Pool,
    private readonly cb: StreamCallbacks,
  ) {}

  get localAddress(): SocketAddress | undefined {
    const s = this.sock;
    return s?.localAddress ? { address: s.localAddress, port: s.localPort ?? 0 } : undefined;
  }

  sendHeaders(headers: HeaderMap, endStream: boolean): void {
    const a = this.pool.host.address;
    const out = toNodeH1Headers(headers);
    // A body of unknown length goes chunked, as Envoy's HTTP/1.1 codec does.
    if (!endStream && !headers.has("content-length")) out["transfer-encoding"] = "chunked";
    const req = http.request({
      agent: this.pool.agent,
      host: a.address,
      port: a.port,
      method: headers.get(":method") ?? "GET",
      path: headers.get(":path") ?? "/",
      headers: out,
    });
    this.req = req;
    req.on("socket", (sock: Socket) => {
      this.sock = sock;
      this.pool.trackSocket(sock);
      if (sock.connecting) {
        this.timer = setTimeout(() => {
          if (this.connected || this.finished) return;
          this.pool.connectTimedOut();
          this.fail("connection timeout", "", true);
          req.destroy();
        }, this.pool.connectTimeoutMs);
        sock.once("connect", () => {
          this.connected = true;
          clearTimeout(this.timer);
        });
      } else {
        this.connected = true;
      }
    });
    req.on("response", (res) => {
      this.res = res;
      const h = fromNodeHeaders(res.headers, res.statusCode ?? 502);
      const method = headers.get(":method");
      const noBody =
        method === "HEAD" || res.statusCode === 204 || res.statusCode === 304 || res.headers["content-length"] === "0";
      if (noBody) {
        this.remoteEnded = true;
        this.cb.onHeaders(h, true);
        res.resume();
        res.on("end", () => this.done());
        return;
      }
      this.cb.onHeaders(h, false);
      res.on("data", (chunk: Buffer) => {
        if (!this.localReset) this.cb.onData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength), false);
      });
      res.on("end", () => {
        if (this.localReset) return;
        this.remoteEnded = true;
        if (res.rawTrailers.length > 0) this.cb.onTrailers(fromRawPairs(res.rawTrailers));
        else this.cb.onData(EMPTY, true);
        this.done();
      });
      res.on("aborted", () => this.fail("connection termination", "", false));
      res.on("error", () => this.fail("connection termination", "", false));
    });
    req.on("drain", () => this.cb.onWritable?.());
    req.on("error", (err) => {
      if (!this.connected) {
        this.fail("remote connection failure", connectErrorReason(err), true);
      } else {
        this.fail("connection termination", "", false);
      }
    });
    req.on("close", () => {
      if (!this.remoteEnded) this.fail("connection termination", "", false);
    });
    if (endStream) req.end();
  }

  private fail(reason: "remote connection failure" | "connection timeout" | "connection termination", tfr: string, connect: boolean): void {
    if (this.finished) return;
    clearTimeout(this.timer);
    if (connect && reason === "remote connection failure") this.pool.connectFailed();
    if (connect && reason === "connection timeout") this.pool.connectFailed();
    this.done();
    if (!this.localReset && !this.remoteEnded) this.cb.onReset(reason, tfr);
  }

  private done(): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    this.pool.streamDone();
  }

  sendData(data: Uint8Array, endStream: boolean): boolean {
    return writeBody(this.req, data, endStream);
  }

  sendTrailers(trailers: HeaderMap): void {
    if (!this.req || this.req.destroyed) return;
    const t: Record<string, string> = {};
    for (const [k, v] of trailers.view()) t[k] = v;
    this.req.addTrailers(t);
    this.req.end();
  }

  reset(): void {
    if (this.localReset) return;
    this.localReset = true;
    this.req?.destroy();
    this.done();
  }

  readDisable(disable: boolean): void {
    if (!this.res) return;
    if (disable) this.res.pause();
    else this.res.resume();
  }
}
