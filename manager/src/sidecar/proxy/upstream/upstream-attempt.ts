/**
 * One upstream attempt of the router (Envoy's Router::UpstreamRequest): gets a stream from
 * the host's pool, sends the request headers, body and trailers the router holds (pausing the
 * downstream while the upstream is above its write watermark), and hands the response back:
 * outlier detection sees every response code (grpc-status -> HTTP for trailers-only gRPC
 * responses) and local-origin failures (reset / connect failure -> 503, timeout -> 504);
 * host rq_success / rq_error follow Envoy (5xx = error; gRPC success deferred to the
 * trailers' grpc-status); a response that is retried is charged under `retry.` (Envoy's
 * router), not as upstream_rq_<code>; the per-try timeout starts once the request is fully sent.
 */
import { BodyBuffer } from "../../http/body-buffer.ts";
import type { DecoderFilterCallbacks, LocalReply, RouteDecision } from "../../http/filter.ts";
import type { HeaderMap } from "../../http/header-map.ts";
import type { ClusterRuntime } from "./cluster.ts";
import { grpcStatusOf, grpcToHttpStatus } from "./grpc.ts";
import type { Host } from "./host.ts";
import type { ConnPool, PoolCallbacks, ResetReason, StreamCallbacks, UpstreamStream } from "./pool/types.ts";
import type { RetryDecision, RetryState } from "./retry-state.ts";
import { resetReasonFlag, resetReplyBody, resetReplyDetails } from "./upstream-reply.ts";

const EMPTY = new Uint8Array(0);
const nowNs = (): bigint => process.hrtime.bigint();
const msSince = (ns: bigint): number => Number((nowNs() - ns) / 1_000_000n);

/** What an attempt needs from the router filter that owns it. */
export interface AttemptOwner {
  readonly cb: DecoderFilterCallbacks;
  readonly cluster: ClusterRuntime;
  readonly route: RouteDecision;
  readonly grpc: boolean;
  readonly upstreamHeaders: HeaderMap;
  readonly bodyChunks: Uint8Array[];
  readonly requestTrailers?: HeaderMap;
  readonly downstreamEnded: boolean;
  readonly requestCompleteNs?: bigint;
  responseStarted: boolean;
  readonly retry?: RetryState;
  readonly retried: boolean;
  scheduleRetry(): void;
  attemptFinished(): void;
  terminate(reply: LocalReply, resetDetails: string): void;
}

export class UpstreamAttempt implements StreamCallbacks, PoolCallbacks {
  private stream?: UpstreamStream;
  private cancelPool?: () => void;
  private sentChunks = 0;
  private endSent = false;
  private writeBlocked = false;
  private perTryTimer?: NodeJS.Timeout;
  private done = false;
  private startNs = 0n;
  private grpcDeferred = false;

  constructor(
    private readonly o: AttemptOwner,
    private readonly host: Host,
    private readonly perTryTimeoutMs: number,
  ) {}

  start(pool: ConnPool): void {
    this.startNs = nowNs();
    this.cancelPool = pool.newStream(this, this);
  }

  /** PoolCallbacks: the pool failed to provide a stream (as a reset before the response). */
  onFailure(reason: ResetReason, tfr: string): void {
    this.onReset(reason, tfr);
  }

  /** PoolCallbacks: a stream on a connection is ready for the request. */
  onReady(s: UpstreamStream): void {
    this.cancelPool = undefined;
    if (this.done) {
      s.reset();
      return;
    }
    this.stream = s;
    const info = this.o.cb.streamInfo;
    info.upstreamLocalAddress = s.localAddress;
    info.upstreamStartNs = nowNs();
    const end = this.o.downstreamEnded && this.o.bodyChunks.length === 0 && !this.o.requestTrailers;
    s.sendHeaders(this.o.upstreamHeaders, end);
    if (end) this.endSent = true;
    this.flushRequest();
    if (this.o.downstreamEnded) this.onRequestComplete();
  }

  /** Sends whatever request body / trailers the router holds and this attempt has not sent. */
  flushRequest(): void {
    const s = this.stream;
    if (!s || this.done || this.endSent) return;
    const chunks = this.o.bodyChunks;
    while (this.sentChunks < chunks.length && !this.writeBlocked) {
      const chunk = chunks[this.sentChunks++]!;
      const last = this.o.downstreamEnded && this.sentChunks === chunks.length && !this.o.requestTrailers;
      const ok = s.sendData(chunk, last);
      if (last) {
        this.endSent = true;
        return;
      }
      if (!ok) {
        this.writeBlocked = true;
        this.o.cb.readDisable(true);
      }
    }
    if (!this.writeBlocked && this.o.downstreamEnded && this.sentChunks === chunks.length) {
      if (this.o.requestTrailers) s.sendTrailers(this.o.requestTrailers);
      else s.sendData(EMPTY, true);
      this.endSent = true;
    }
  }

  onWritable(): void {
    if (!this.writeBlocked) return;
    this.writeBlocked = false;
    this.o.cb.readDisable(false);
    this.flushRequest();
  }

  /** Drops body chunks already sent (no retry buffering). */
  forgetSentBody(): void {
    this.o.bodyChunks.splice(0, this.sentChunks);
    this.sentChunks = 0;
  }

  onRequestComplete(): void {
    if (!this.stream || this.done || this.perTryTimeoutMs <= 0 || this.perTryTimer) return;
    this.perTryTimer = setTimeout(() => this.onPerTryTimeout(), this.perTryTimeoutMs);
  }

  readDisable(disable: boolean): void {
    this.stream?.readDisable(disable);
  }

  onHeaders(h: HeaderMap, end: boolean): void {
    if (this.done) return;
    const { o, host } = this;
    const { cluster } = o;
    o.cb.streamInfo.upstreamFirstByteNs = nowNs();
    const status = Number(h.get(":status") ?? "0");
    const grpcStatus = o.grpc ? grpcStatusOf(h) : undefined;
    cluster.outlier?.putHttpResponseCode(host, grpcStatus !== undefined ? grpcToHttpStatus(grpcStatus) : status);
    if (o.retry) {
      const d = o.retry.decide(o.retry.wouldRetryFromHeaders(h), true);
      if (d === "retry") {
        cluster.stats.chargeRetriedResponseCode(status);
        host.stats.rqError++;
        this.finishAttempt();
        this.stream?.reset();
        o.scheduleRetry();
        return;
      }
      this.flagRetryOutcome(d);
    }
    clearTimeout(this.perTryTimer);
    cluster.stats.chargeResponseCode(status);
    if (o.grpc && grpcStatus === undefined && !end && status === 200) this.grpcDeferred = true;
    else if ((grpcStatus !== undefined ? grpcToHttpStatus(grpcStatus) : status) >= 500) host.stats.rqError++;
    else host.stats.rqSuccess++;
    if (o.requestCompleteNs !== undefined) h.setCopy("x-envoy-upstream-service-time", String(msSince(o.requestCompleteNs)));
    o.cb.streamInfo.responseCode = status;
    o.responseStarted = true;
    // As Envoy's router (onUpstreamComplete before encoding the end): encoding the end may destroy
    // the downstream stream synchronously, and an attempt not yet complete would then be cancelled,
    // sending RST_STREAM on a finished upstream stream.
    if (end) this.complete();
    o.cb.encodeHeaders(h, end);
  }

  onData(data: Uint8Array, end: boolean): void {
    if (this.done) return;
    if (end) this.complete();
    this.o.cb.encodeData(new BodyBuffer(data), end);
  }

  onTrailers(t: HeaderMap): void {
    if (this.done) return;
    if (this.grpcDeferred) {
      const gs = grpcStatusOf(t);
      if (gs !== undefined && grpcToHttpStatus(gs) < 500) this.host.stats.rqSuccess++;
      else this.host.stats.rqError++;
    }
    this.complete();
    this.o.cb.encodeTrailers(t);
  }

  onReset(reason: ResetReason, tfr: string): void {
    if (this.done) return;
    const { o, host } = this;
    const { cluster } = o;
    this.finishAttempt();
    this.cancelPool = undefined;
    if (reason !== "overflow") {
      host.stats.rqError++;
      cluster.outlier?.putResult(host, "reset");
    }
    if (reason === "remote reset" || reason === "remote refused stream reset") cluster.stats.inc("upstream_rq_rx_reset");
    if (tfr) o.cb.streamInfo.upstreamTransportFailureReason = tfr;
    if (o.responseStarted) {
      const details = `upstream_reset_after_response_started{${reason}}`.replace(/\s/g, "_");
      o.cb.streamInfo.responseFlags.add(resetReasonFlag(reason));
      o.terminate({ status: 503, details }, details);
      return;
    }
    if (o.retry && reason !== "overflow") {
      const d = o.retry.decide(o.retry.wouldRetryFromReset(reason), false);
      if (d === "retry") {
        o.scheduleRetry();
        return;
      }
      this.flagRetryOutcome(d);
    }
    cluster.stats.chargeResponseCode(503);
    const details = resetReplyDetails(reason, tfr);
    o.terminate({ status: 503, body: resetReplyBody(reason, tfr, o.retried), details, flag: resetReasonFlag(reason) }, details);
  }

  private onPerTryTimeout(): void {
    if (this.done) return;
    const { o, host } = this;
    const { cluster } = o;
    cluster.stats.inc("upstream_rq_per_try_timeout");
    host.stats.rqTimeout++;
    cluster.outlier?.putResult(host, "timeout");
    this.finishAttempt();
    this.stream?.reset();
    if (o.retry) {
      const d = o.retry.decide(o.retry.wouldRetryFromReset("per_try_timeout"), false);
      if (d === "retry") {
        o.scheduleRetry();
        return;
      }
      this.flagRetryOutcome(d);
    }
    cluster.stats.chargeResponseCode(504);
    o.terminate(
      { status: 504, body: "upstream request timeout", details: "upstream_per_try_timeout", flag: "UT" },
      "upstream_per_try_timeout",
    );
  }

  /** The route timeout fired while this attempt was in flight. */
  onTimeout(_perTry: boolean): void {
    if (this.done) return;
    this.host.stats.rqTimeout++;
    this.o.cluster.outlier?.putResult(this.host, "timeout");
    this.cancel();
  }

  /** Cancels the attempt (downstream reset, timeout): resets the stream or leaves the pool queue. */
  cancel(): void {
    if (this.done) return;
    this.finishAttempt();
    if (this.stream) {
      this.o.cluster.stats.inc("upstream_rq_tx_reset");
      this.stream.reset();
    } else {
      this.cancelPool?.();
    }
  }

  private flagRetryOutcome(d: RetryDecision): void {
    if (d === "limit_exceeded") this.o.cb.streamInfo.responseFlags.add("URX");
    else if (d === "overflow") this.o.cb.streamInfo.responseFlags.add("UO");
  }

  private complete(): void {
    if (this.done) return;
    this.finishAttempt();
    this.o.cluster.stats.chargeResponseTime(msSince(this.startNs));
    if (!this.o.downstreamEnded || !this.endSent) this.stream?.reset();
    this.o.attemptFinished();
  }

  private finishAttempt(): void {
    this.done = true;
    clearTimeout(this.perTryTimer);
  }
}
