/**
 * The HTTP connection manager of one listener (Envoy's ConnectionManagerImpl /
 * ActiveStream, source/common/http/conn_manager_impl.cc): one ActiveStream per request.
 *
 * Per stream: StreamInfo (protocol, addresses, connection id, request id, xds facts),
 * request header mutations (request-headers.ts), a FilterManager over a fresh filter chain,
 * route resolution with the listener's RouteMatcher (cached per stream until
 * clearRouteCache), the stream idle timeout (408 "stream timeout", details
 * stream_idle_timeout, flag SI, or a reset once the response started) and request_timeout
 * (408 "request timeout", request_overall_timeout). Response headers get `date` when absent
 * and `server: envoy` (server_header_transformation OVERWRITE). Stats under
 * `http.<stat_prefix>.` and `listener.<address>.http.<stat_prefix>.` as Envoy names them.
 */
import type { HttpConnectionManager as HcmConfig } from "../../config/model.ts";
import type { RouteDecision, StreamFilter, StreamFilterFactory } from "../../http/filter.ts";
import type { HeaderMap } from "../../http/header-map.ts";
import { StreamInfo, type XdsInfo } from "../../http/stream-info.ts";
import { httpStats, listenerHttpStats, type HttpStats } from "../../stats/builtin.ts";
import type { StatsStore } from "../../stats/types.ts";
import type { CodecStream, RequestEvents } from "./codec.ts";
import { FilterManager, type DownstreamSink, type FilterManagerOptions } from "./filter-manager.ts";
import { mutateRequestHeaders } from "./request-headers.ts";
import { RouteMatcher, type MatchedRoute } from "./route-matcher.ts";
import { applyHeadersToAdd, RouterGuard } from "./router-guard.ts";

export interface ConnectionManagerOptions {
  hcm: HcmConfig;
  /** Filters before the router, in chain order. */
  filters: StreamFilterFactory[];
  /** The terminal router filter. */
  router: StreamFilterFactory;
  stats: StatsStore;
  /** Listener stat address ("127.0.0.1_10000"). */
  listenerStatAddress: string;
  bufferLimit: number;
  hasCluster(name: string): boolean;
  xds: XdsInfo;
  /** Random source for weighted clusters. */
  random?: () => number;
  uuid?: () => string;
  serverName?: string;
  log?(line: string): void;
}

let nextStreamId = 1n;

let dateSecond = -1;
let dateValue = "";

/**
 * The `date` response header value (RFC 7231 IMF-fixdate, one-second resolution), formatted
 * once per second as Envoy's cached date provider does rather than once per response.
 */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateValue = new Date(now).toUTCString();
  }
  return dateValue;
}

export class ConnectionManager {
  readonly stats: HttpStats;
  readonly listenerHttp: ReturnType<typeof listenerHttpStats>;
  readonly matcher: RouteMatcher;
  readonly active = new Set<FilterManager>();
  /** opts.hasCluster, as the router guard of every stream calls it. */
  readonly hasCluster: (name: string) => boolean;
  /** The listener's xds facts, shared (read-only) by the StreamInfo of every stream. */
  readonly xds: XdsInfo;

  constructor(readonly opts: ConnectionManagerOptions) {
    this.stats = httpStats(opts.stats, opts.hcm.statPrefix);
    this.listenerHttp = listenerHttpStats(opts.stats, opts.listenerStatAddress, opts.hcm.statPrefix);
    this.matcher = new RouteMatcher(opts.hcm.routeConfig, { random: opts.random });
    this.hasCluster = (name) => opts.hasCluster(name);
    this.xds = Object.freeze({ ...opts.xds });
  }

  /** Resets every active stream (listener shutdown). */
  resetAll(): void {
    for (const fm of [...this.active]) fm.resetStream("listener_shutdown");
  }

  newStream(codec: CodecStream): void {
    const s = this.stats;
    s.downstream_rq_total.inc();
    (codec.protocol === "HTTP/2" ? s.downstream_rq_http2_total : s.downstream_rq_http1_total).inc();
    s.downstream_rq_active.add(1);
    new ActiveStream(this, codec).start();
  }
}

/**
 * One request in the connection manager (Envoy's ActiveStream): its StreamInfo and timers.
 * It is at once the options of its FilterManager, the filter manager's downstream sink, and
 * the receiver of the codec's request events, so a stream costs one object rather than a
 * closure per callback.
 */
class ActiveStream implements FilterManagerOptions, DownstreamSink, RequestEvents {
  readonly filters: StreamFilter[];
  readonly streamInfo = new StreamInfo();
  readonly streamId = nextStreamId++;
  readonly bufferLimit: number;
  readonly sink: DownstreamSink = this;
  readonly log?: (line: string) => void;
  private readonly hcm: HcmConfig;
  private readonly s: HttpStats;
  private readonly fm: FilterManager;
  private idleTimer?: NodeJS.Timeout;
  private requestTimer?: NodeJS.Timeout;
  private readDisabled = 0;
  private requestComplete: boolean;

  constructor(
    private readonly cm: ConnectionManager,
    private readonly codec: CodecStream,
  ) {
    const { opts } = cm;
    this.hcm = opts.hcm;
    this.s = cm.stats;
    this.bufferLimit = opts.bufferLimit;
    this.log = opts.log;
    this.requestComplete = codec.endStreamOnHeaders;

    const info = this.streamInfo;
    info.protocol = codec.protocol;
    info.connectionId = codec.connection.id;
    info.downstreamRemoteAddress = codec.connection.remote;
    info.downstreamLocalAddress = codec.connection.local;
    info.downstreamSsl = codec.connection.ssl;
    info.xds = cm.xds;
    mutateRequestHeaders(codec.headers, {
      secure: codec.connection.ssl !== undefined,
      useRemoteAddress: this.hcm.useRemoteAddress,
      generateRequestId: this.hcm.generateRequestId,
      remote: codec.connection.remote,
      local: codec.connection.local,
      uuid: opts.uuid,
    });
    info.requestId = codec.headers.get("x-request-id");

    this.filters = opts.filters.map((f) => f());
    this.filters.push(new RouterGuard(opts.router(), this.s, cm.hasCluster));
    this.fm = new FilterManager(this);
  }

  /** Starts the request timer, decodes the request headers and starts reading the body. */
  start(): void {
    const { fm, codec, hcm } = this;
    this.cm.active.add(fm);
    if (hcm.requestTimeoutMs > 0 && !this.requestComplete) {
      this.requestTimer = setTimeout(() => this.onRequestTimeout(), hcm.requestTimeoutMs);
      this.requestTimer.unref();
    }
    this.touch();
    fm.decodeHeaders(codec.headers, codec.endStreamOnHeaders);
    if (fm.destroyed && !this.requestComplete) codec.setReading(true);
    codec.start(this);
  }

  /** Restarts the stream idle timeout. */
  private touch(): void {
    if (this.hcm.streamIdleTimeoutMs <= 0 || this.fm.destroyed) return;
    if (this.idleTimer) this.idleTimer.refresh();
    else {
      this.idleTimer = setTimeout(() => this.onIdleTimeout(), this.hcm.streamIdleTimeoutMs);
      this.idleTimer.unref();
    }
  }

  private onIdleTimeout(): void {
    this.s.downstream_rq_idle_timeout.inc();
    this.streamInfo.responseFlags.add("SI");
    this.fm.sendLocalReply({ status: 408, body: "stream timeout", details: "stream_idle_timeout" });
  }

  private onRequestTimeout(): void {
    if (this.requestComplete) return;
    this.s.downstream_rq_timeout.inc();
    this.fm.sendLocalReply({ status: 408, body: "request timeout", details: "request_overall_timeout" });
  }

  // ---- FilterManagerOptions ----

  resolveRoute(h: HeaderMap): RouteDecision | undefined {
    return this.cm.matcher.match(h);
  }

  routeResponseMutation(h: HeaderMap): void {
    const route = this.fm.route() as MatchedRoute | undefined;
    if (route) applyHeadersToAdd(h, route.route.responseHeadersToAdd);
  }

  onStreamEnd(): void {
    this.cm.active.delete(this.fm);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.requestTimer) clearTimeout(this.requestTimer);
    this.s.downstream_rq_active.sub(1);
    this.s.downstream_rq_time.record(Number((process.hrtime.bigint() - this.streamInfo.startMonotonicNs) / 1_000_000n));
  }

  onRequestDataTooLarge(): void {
    this.s.downstream_rq_too_large.inc();
  }

  onResponseDataTooLarge(): void {
    this.s.rs_too_large.inc();
  }

  // ---- DownstreamSink ----

  encodeHeaders(h: HeaderMap, end: boolean): void {
    this.touch();
    if (!h.has("date")) h.setCopy("date", httpDate());
    h.setCopy("server", this.cm.opts.serverName ?? "envoy");
    const code = Number(h.get(":status") ?? "0");
    if (code >= 200 || code < 100) {
      this.s.chargeResponse(code);
      this.cm.listenerHttp.chargeResponse(code);
      if (!this.requestComplete) this.s.downstream_rq_response_before_rq_complete.inc();
    }
    this.codec.sendHeaders(h, end);
  }

  encodeData(d: Uint8Array, end: boolean): void {
    this.touch();
    this.s.downstream_cx_tx_bytes_total.add(d.length);
    this.codec.sendData(d, end);
  }

  encodeTrailers(t: HeaderMap): void {
    this.codec.sendTrailers(t);
  }

  resetStream(): void {
    this.s.downstream_rq_tx_reset.inc();
    this.codec.reset();
  }

  readDisable(disable: boolean): void {
    const before = this.readDisabled;
    this.readDisabled = Math.max(0, this.readDisabled + (disable ? 1 : -1));
    if (before === 0 && this.readDisabled > 0) this.codec.setReading(false);
    else if (before > 0 && this.readDisabled === 0) this.codec.setReading(true);
  }

  // ---- RequestEvents ----

  onData(chunk: Uint8Array, end: boolean): void {
    this.touch();
    this.s.downstream_cx_rx_bytes_total.add(chunk.length);
    if (end) this.requestComplete = true;
    this.fm.decodeData(chunk, end);
  }

  onTrailers(t: HeaderMap): void {
    this.touch();
    this.requestComplete = true;
    this.fm.decodeTrailers(t);
  }

  onReset(details: string, connectionTermination: boolean): void {
    if (this.fm.destroyed) return;
    this.s.downstream_rq_rx_reset.inc();
    this.fm.onDownstreamReset(details, connectionTermination);
  }

  onWritable(): void {
    this.fm.onBelowWriteBufferLowWatermark();
  }

  onBackpressure(): void {
    this.fm.onAboveWriteBufferHighWatermark();
  }
}
