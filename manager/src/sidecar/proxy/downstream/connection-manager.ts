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
import type { StreamFilterFactory } from "../../http/filter.ts";
import type { HeaderMap } from "../../http/header-map.ts";
import { StreamInfo, type XdsInfo } from "../../http/stream-info.ts";
import { httpStats, listenerHttpStats, type HttpStats } from "../../stats/builtin.ts";
import type { StatsStore } from "../../stats/types.ts";
import type { CodecStream } from "./codec.ts";
import { FilterManager, type DownstreamSink } from "./filter-manager.ts";
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

export class ConnectionManager {
  readonly stats: HttpStats;
  private readonly listenerHttp: ReturnType<typeof listenerHttpStats>;
  private readonly matcher: RouteMatcher;
  private readonly active = new Set<FilterManager>();

  constructor(private readonly opts: ConnectionManagerOptions) {
    this.stats = httpStats(opts.stats, opts.hcm.statPrefix);
    this.listenerHttp = listenerHttpStats(opts.stats, opts.listenerStatAddress, opts.hcm.statPrefix);
    this.matcher = new RouteMatcher(opts.hcm.routeConfig, { random: opts.random });
  }

  /** Resets every active stream (listener shutdown). */
  resetAll(): void {
    for (const fm of [...this.active]) fm.resetStream("listener_shutdown");
  }

  newStream(codec: CodecStream): void {
    const { hcm } = this.opts;
    const s = this.stats;
    s.downstream_rq_total.inc();
    (codec.protocol === "HTTP/2" ? s.downstream_rq_http2_total : s.downstream_rq_http1_total).inc();
    s.downstream_rq_active.add(1);

    const info = new StreamInfo();
    info.protocol = codec.protocol;
    info.connectionId = codec.connection.id;
    info.downstreamRemoteAddress = codec.connection.remote;
    info.downstreamLocalAddress = codec.connection.local;
    info.xds = { ...this.opts.xds };
    const headers = codec.headers;
    mutateRequestHeaders(headers, {
      useRemoteAddress: hcm.useRemoteAddress,
      generateRequestId: hcm.generateRequestId,
      remote: codec.connection.remote,
      local: codec.connection.local,
      uuid: this.opts.uuid,
    });
    info.requestId = headers.get("x-request-id");

    let idleTimer: NodeJS.Timeout | undefined;
    let requestTimer: NodeJS.Timeout | undefined;
    let readDisabled = 0;
    let requestComplete = codec.endStreamOnHeaders;
    const touch = () => {
      if (hcm.streamIdleTimeoutMs <= 0 || fm.destroyed) return;
      if (idleTimer) idleTimer.refresh();
      else {
        idleTimer = setTimeout(() => {
          s.downstream_rq_idle_timeout.inc();
          info.responseFlags.add("SI");
          fm.sendLocalReply({ status: 408, body: "stream timeout", details: "stream_idle_timeout" });
        }, hcm.streamIdleTimeoutMs);
        idleTimer.unref();
      }
    };

    const sink: DownstreamSink = {
      encodeHeaders: (h: HeaderMap, end: boolean) => {
        touch();
        if (!h.has("date")) h.setCopy("date", new Date().toUTCString());
        h.setCopy("server", this.opts.serverName ?? "envoy");
        const code = Number(h.get(":status") ?? "0");
        if (code >= 200 || code < 100) {
          s.chargeResponse(code);
          this.listenerHttp.chargeResponse(code);
          if (!requestComplete) s.downstream_rq_response_before_rq_complete.inc();
        }
        codec.sendHeaders(h, end);
      },
      encodeData: (d, end) => {
        touch();
        s.downstream_cx_tx_bytes_total.add(d.length);
        codec.sendData(d, end);
      },
      encodeTrailers: (t) => codec.sendTrailers(t),
      resetStream: () => {
        s.downstream_rq_tx_reset.inc();
        codec.reset();
      },
      readDisable: (disable) => {
        const before = readDisabled;
        readDisabled = Math.max(0, readDisabled + (disable ? 1 : -1));
        if (before === 0 && readDisabled > 0) codec.setReading(false);
        else if (before > 0 && readDisabled === 0) codec.setReading(true);
      },
    };

    const routerFactory = this.opts.router;
    const filters = [
      ...this.opts.filters.map((f) => f()),
      new RouterGuard(routerFactory(), s, (name) => this.opts.hasCluster(name)),
    ];
    const fm: FilterManager = new FilterManager({
      filters,
      streamInfo: info,
      streamId: nextStreamId++,
      bufferLimit: this.opts.bufferLimit,
      sink,
      resolveRoute: (h) => this.matcher.match(h),
      routeResponseMutation: (h) => {
        const route = fm.route() as MatchedRoute | undefined;
        if (route) applyHeadersToAdd(h, route.route.responseHeadersToAdd);
      },
      onStreamEnd: () => {
        this.active.delete(fm);
        if (idleTimer) clearTimeout(idleTimer);
        if (requestTimer) clearTimeout(requestTimer);
        s.downstream_rq_active.sub(1);
        s.downstream_rq_time.record(Number((process.hrtime.bigint() - info.startMonotonicNs) / 1_000_000n));
      },
      onRequestDataTooLarge: () => s.downstream_rq_too_large.inc(),
      onResponseDataTooLarge: () => s.rs_too_large.inc(),
      log: this.opts.log,
    });
    this.active.add(fm);

    if (hcm.requestTimeoutMs > 0 && !requestComplete) {
      requestTimer = setTimeout(() => {
        if (requestComplete) return;
        s.downstream_rq_timeout.inc();
        fm.sendLocalReply({ status: 408, body: "request timeout", details: "request_overall_timeout" });
      }, hcm.requestTimeoutMs);
      requestTimer.unref();
    }
    touch();
    fm.decodeHeaders(headers, codec.endStreamOnHeaders);
    if (fm.destroyed && !requestComplete) codec.setReading(true);
    codec.start({
      onData: (chunk, end) => {
        touch();
        s.downstream_cx_rx_bytes_total.add(chunk.length);
        if (end) requestComplete = true;
        fm.decodeData(chunk, end);
      },
      onTrailers: (t) => {
        touch();
        requestComplete = true;
        fm.decodeTrailers(t);
      },
      onReset: (details, connectionTermination) => {
        if (fm.destroyed) return;
        s.downstream_rq_rx_reset.inc();
        fm.onDownstreamReset(details, connectionTermination);
      },
      onWritable: () => fm.onBelowWriteBufferLowWatermark(),
      onBackpressure: () => fm.onAboveWriteBufferHighWatermark(),
    });
  }
}
