/**
 * The terminal router filter (Envoy envoy.filters.http.router, source/common/router/router.cc).
 *
 * decodeHeaders: direct_response -> local reply; unknown cluster -> 503 cluster_not_found;
 * no host -> 503 "no healthy upstream" (UH). Otherwise one upstream attempt at a time
 * (upstream-attempt.ts) with request headers, body and trailers streamed through, the body
 * kept for retries while it fits the buffer limit (else retries are abandoned,
 * retry_or_shadow_abandoned). Request headers gain x-envoy-expected-rq-timeout-ms (per-try
 * timeout if set, else the route timeout; Envoy's default with envoy headers not suppressed).
 * Responses gain x-envoy-upstream-service-time (ms since the downstream request completed).
 *
 * Timeouts: the route timeout starts when the downstream request is complete and covers the
 * whole response: 504 "upstream request timeout" (UT, upstream_response_timeout) or a stream
 * reset once headers went downstream. per_try_timeout per attempt (upstream_per_try_timeout),
 * retried like a reset. grpc-timeout, when route.grpcTimeoutHeaderMaxMs is set, bounds the
 * stream (capped by the max unless 0): 408 / DEADLINE_EXCEEDED "downstream duration
 * timeout" (DT, max_duration_timeout), as Envoy's connection manager enforces it.
 * Retries follow retry-state.ts, only before response headers went downstream.
 */
import { BodyBuffer } from "../../http/body-buffer.ts";
import {
  DataStatus,
  HeadersStatus,
  PassThroughFilter,
  TrailersStatus,
  type DecoderFilterCallbacks,
  type RouteDecision,
} from "../../http/filter.ts";
import type { HeaderMap } from "../../http/header-map.ts";
import type { ClusterRuntime, HostSelectionContext } from "./cluster.ts";
import { grpcTimeoutMs, isGrpcRequest } from "./grpc.ts";
import type { Random } from "./random.ts";
import { RetryState } from "./retry-state.ts";
import { UpstreamAttempt, type AttemptOwner } from "./upstream-attempt.ts";

export interface RouterDeps {
  cluster(name: string): ClusterRuntime | undefined;
  random: Random;
}

const nowNs = (): bigint => process.hrtime.bigint();

export class RouterFilter extends PassThroughFilter implements AttemptOwner {
  cb!: DecoderFilterCallbacks;
  cluster!: ClusterRuntime;
  route!: RouteDecision;
  grpc = false;
  upstreamHeaders!: HeaderMap;
  bodyChunks: Uint8Array[] = [];
  bodyBytes = 0;
  requestTrailers?: HeaderMap;
  downstreamEnded = false;
  requestCompleteNs?: bigint;
  responseStarted = false;
  retry?: RetryState;
  private retryBuffering = false;
  private attempt?: UpstreamAttempt;
  private attemptCount = 0;
  private selection!: HostSelectionContext;
  private globalTimer?: NodeJS.Timeout;
  private durationTimer?: NodeJS.Timeout;
  private backoffTimer?: NodeJS.Timeout;
  finished = false;

  constructor(private readonly deps: RouterDeps) {
    super();
  }

  override setDecoderFilterCallbacks(cb: DecoderFilterCallbacks): void {
    this.cb = cb;
  }

  override decodeHeaders(headers: HeaderMap, endStream: boolean): HeadersStatus {
    const route = this.cb.route();
    if (!route) {
      this.finish();
      this.cb.sendLocalReply({ status: 404, details: "route_not_found", flag: "NR" });
      return HeadersStatus.StopIteration;
    }
    this.route = route;
    if (route.directResponse) {
      this.finish();
      this.cb.sendLocalReply({ status: route.directResponse.status, body: route.directResponse.body, details: "direct_response" });
      return HeadersStatus.StopIteration;
    }
    const cluster = route.clusterName !== undefined ? this.deps.cluster(route.clusterName) : undefined;
    if (!cluster) {
      this.finish();
      this.cb.sendLocalReply({ status: 503, details: "cluster_not_found" });
      return HeadersStatus.StopIteration;
    }
    this.cluster = cluster;
    this.cb.streamInfo.clusterName = cluster.name;
    this.grpc = isGrpcRequest(headers);
    this.downstreamEnded = endStream;
    const policy = route.retryPolicy;
    if (policy && policy.retryOn.length > 0) {
      this.retry = new RetryState(policy, { random: this.deps.random, resources: cluster.resources, stats: cluster.stats });
      this.retryBuffering = true;
    }
    const perTry = policy?.perTryTimeoutMs ?? 0;
    const expected = perTry > 0 ? perTry : route.timeoutMs;
    this.upstreamHeaders = headers.clone();
    if (expected > 0) this.upstreamHeaders.setCopy("x-envoy-expected-rq-timeout-ms", String(expected));
    this.selection = { requestHeaders: headers, overrideHost: this.cb.upstreamOverrideHost() };
    this.cb.onDownstreamWatermark(this);
    this.startDurationTimer(headers);
    if (endStream) this.onRequestComplete();
    this.startAttempt();
    return HeadersStatus.StopIteration;
  }

  override decodeData(data: BodyBuffer, endStream: boolean): DataStatus {
    if (this.finished) return DataStatus.StopIterationNoBuffer;
    const chunk = data.toUint8Array();
    if (this.retryBuffering && this.bodyBytes + chunk.length > this.cb.bufferLimit) {
      this.cluster.stats.inc("retry_or_shadow_abandoned");
      this.retryBuffering = false;
      this.retry?.release();
      this.retry = undefined;
    }
    if (chunk.length > 0) {
      this.bodyChunks.push(chunk);
      this.bodyBytes += chunk.length;
    }
    if (endStream) this.downstreamEnded = true;
    this.attempt?.flushRequest();
    this.dropSentBody();
    if (endStream) this.onRequestComplete();
    return DataStatus.StopIterationNoBuffer;
  }

  override decodeTrailers(trailers: HeaderMap): TrailersStatus {
    if (this.finished) return TrailersStatus.StopIteration;
    this.requestTrailers = trailers;
    this.downstreamEnded = true;
    this.attempt?.flushRequest();
    this.dropSentBody();
    this.onRequestComplete();
    return TrailersStatus.StopIteration;
  }

  /** Without retries the body is not kept once the current attempt sent it. */
  private dropSentBody(): void {
    if (this.retryBuffering || !this.attempt) return;
    this.attempt.forgetSentBody();
  }

  override onDestroy(): void {
    if (!this.finished && this.attempt) this.attempt.cancel();
    this.finish();
  }

  private onRequestComplete(): void {
    if (this.requestCompleteNs !== undefined) return;
    this.requestCompleteNs = nowNs();
    if (this.route.timeoutMs > 0) {
      this.globalTimer = setTimeout(() => this.onGlobalTimeout(), this.route.timeoutMs);
    }
    this.attempt?.onRequestComplete();
  }

  private startDurationTimer(headers: HeaderMap): void {
    const max = this.route.grpcTimeoutHeaderMaxMs;
    if (max === undefined || !this.grpc) return;
    const t = grpcTimeoutMs(headers);
    if (t === undefined) return;
    const ms = max > 0 ? Math.min(t, max) : t;
    this.durationTimer = setTimeout(() => {
      if (this.finished) return;
      this.attempt?.cancel();
      this.cb.streamInfo.responseFlags.add("DT");
      this.terminate(
        { status: 408, body: "downstream duration timeout", details: "max_duration_timeout", grpcStatus: 4, flag: "DT" },
        "max_duration_timeout",
      );
    }, ms);
  }

  startAttempt(): void {
    if (this.finished) return;
    this.attemptCount++;
    this.cb.streamInfo.upstreamRequestAttemptCount = this.attemptCount;
    const choice = this.cluster.chooseHost(this.selection);
    if (!choice.host) {
      this.cluster.stats.chargeResponseCode(503);
      this.terminate({ status: 503, body: "no healthy upstream", details: "no_healthy_upstream", flag: "UH" }, "no_healthy_upstream");
      return;
    }
    const host = choice.host;
    this.cb.streamInfo.upstreamHost = { ...host.address };
    this.attempt = new UpstreamAttempt(this, host, this.route.retryPolicy?.perTryTimeoutMs ?? 0);
    this.attempt.start(this.cluster.pool(host));
  }

  /** Downstream watermark callbacks: the downstream is over its write buffer's high watermark. */
  above(): void {
    this.attempt?.readDisable(true);
  }

  /** Downstream watermark callbacks: the downstream is below its low watermark again. */
  below(): void {
    this.attempt?.readDisable(false);
  }

  get retried(): boolean {
    return this.attemptCount > 1;
  }

  /** The attempt failed and the retry policy allows another one. */
  scheduleRetry(): void {
    this.attempt = undefined;
    const ms = this.retry!.nextBackoffMs();
    this.backoffTimer = setTimeout(() => this.startAttempt(), ms);
  }

  attemptFinished(): void {
    this.attempt = undefined;
    this.finish();
  }

  /** Local reply if nothing went downstream yet, else a stream reset. */
  terminate(reply: Parameters<DecoderFilterCallbacks["sendLocalReply"]>[0], resetDetails: string): void {
    if (this.finished) return;
    this.finish();
    if (reply.flag) this.cb.streamInfo.responseFlags.add(reply.flag);
    if (this.responseStarted || !this.cb.sendLocalReply(reply)) this.cb.resetStream(resetDetails);
  }

  private onGlobalTimeout(): void {
    if (this.finished) return;
    this.cluster.stats.inc("upstream_rq_timeout");
    this.attempt?.onTimeout(false);
    if (!this.responseStarted) this.cluster.stats.chargeResponseCode(504);
    this.terminate(
      { status: 504, body: "upstream request timeout", details: "upstream_response_timeout", flag: "UT" },
      "upstream_response_timeout",
    );
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.globalTimer);
    clearTimeout(this.durationTimer);
    clearTimeout(this.backoffTimer);
    this.retry?.release();
  }
}
