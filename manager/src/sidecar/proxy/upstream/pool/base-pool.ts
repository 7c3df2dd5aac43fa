/**
 * What Envoy's ConnPoolImplBase does for both HTTP/1.1 and HTTP/2 pools: the pending-request
 * queue bounded by max_pending_requests, the max_requests check (both overflow with
 * upstream_rq_pending_overflow and reset reason "overflow"), and the request accounting an
 * attached stream carries (host rq_total/rq_active, cluster upstream_rq_total/active) until
 * it completes or resets. Subclasses supply connections through `tryAttach` / `ensureCapacity`.
 */
import type { ClusterStats } from "../cluster-stats.ts";
import type { ResourceManager } from "../circuit-breakers.ts";
import type { Host } from "../host.ts";
import type { ConnPool, PoolCallbacks, ResetReason, StreamCallbacks, UpstreamStream } from "./types.ts";

export interface PoolContext {
  host: Host;
  stats: ClusterStats;
  resources: ResourceManager;
  connectTimeoutMs: number;
  /** http2_protocol_options.max_concurrent_streams (HTTP/2 only). */
  maxConcurrentStreams: number;
  /** The cluster's per_connection_buffer_limit_bytes (HTTP/2: a request stream's send buffer watermark). */
  bufferLimit?: number;
}

export interface PendingRequest {
  sc: StreamCallbacks;
  pc: PoolCallbacks;
}

/** The cancel function of a request that is not queued (nothing to cancel). */
const NOTHING_TO_CANCEL = (): void => {};

export abstract class BasePool implements ConnPool {
  protected pending: PendingRequest[] = [];
  activeStreams = 0;
  protected closed = false;

  constructor(protected readonly ctx: PoolContext) {}

  newStream(sc: StreamCallbacks, pc: PoolCallbacks): () => void {
    const { resources, stats } = this.ctx;
    if (this.closed || !resources.requests.canCreate()) {
      stats.inc("upstream_rq_pending_overflow");
      pc.onFailure("overflow", "");
      return NOTHING_TO_CANCEL;
    }
    const req: PendingRequest = { sc, pc };
    if (this.pending.length === 0 && this.tryAttach(req)) return NOTHING_TO_CANCEL;
    if (!resources.pendingRequests.canCreate()) {
      stats.inc("upstream_rq_pending_overflow");
      pc.onFailure("overflow", "");
      return NOTHING_TO_CANCEL;
    }
    this.pending.push(req);
    resources.pendingRequests.inc();
    stats.inc("upstream_rq_pending_total");
    stats.gauge("upstream_rq_pending_active").add(1);
    this.ensureCapacity();
    return () => {
      if (this.removePending(req)) stats.inc("upstream_rq_cancelled");
    };
  }

  protected removePending(req: PendingRequest): boolean {
    const i = this.pending.indexOf(req);
    if (i < 0) return false;
    this.pending.splice(i, 1);
    this.ctx.resources.pendingRequests.dec();
    this.ctx.stats.gauge("upstream_rq_pending_active").sub(1);
    return true;
  }

  /** Attaches pending requests to connections with capacity, in order. */
  protected drainPending(): void {
    while (this.pending.length > 0) {
      const req = this.pending[0]!;
      if (!this.ctx.resources.requests.canCreate()) break;
      if (!this.tryAttach(req, true)) break;
    }
    if (this.pending.length > 0) this.ensureCapacity();
  }

  /** Fails every pending request (connection failure with no other connection coming). */
  protected purgePending(reason: ResetReason, transportFailureReason: string): void {
    const list = [...this.pending];
    for (const req of list) {
      this.removePending(req);
      req.pc.onFailure(reason, transportFailureReason);
    }
  }

  /** Counts a stream attached to a connection (Envoy's ActiveClient::newStream accounting). */
  protected onStreamAttached(): void {
    const { host, stats, resources } = this.ctx;
    this.activeStreams++;
    host.stats.rqTotal++;
    host.stats.rqActive++;
    stats.inc("upstream_rq_total");
    stats.gauge("upstream_rq_active").add(1);
    resources.requests.inc();
  }

  protected onStreamDone(): void {
    const { host, stats, resources } = this.ctx;
    this.activeStreams--;
    host.stats.rqActive--;
    stats.gauge("upstream_rq_active").sub(1);
    resources.requests.dec();
  }

  /** Attaches `req` if a connection has capacity now; `fromQueue` = it is pending[0]. */
  protected abstract tryAttach(req: PendingRequest, fromQueue?: boolean): boolean;
  /** Opens connections so pending requests can be served (subject to max_connections). */
  protected abstract ensureCapacity(): void;
  abstract close(): void;

  /** Helper for subclasses: take `req` out of the queue (if queued) and hand it its stream. */
  protected ready(req: PendingRequest, fromQueue: boolean | undefined, stream: UpstreamStream): void {
    if (fromQueue) this.removePending(req);
    this.onStreamAttached();
    req.pc.onReady(stream);
  }
}
