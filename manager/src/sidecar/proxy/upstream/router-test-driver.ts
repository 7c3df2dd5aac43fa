/**
 * Test support: drives one StreamFilter chain (e.g. stateful session + router) with a minimal
 * DecoderFilterCallbacks / EncoderFilterCallbacks, collecting what reaches the downstream.
 * Encode-path filters run in reverse order on the response headers, as the filter manager
 * would. Also builds Cluster configs with Envoy's defaults.
 */
import { BodyBuffer } from "../../http/body-buffer.ts";
import type {
  DecoderFilterCallbacks,
  EncoderFilterCallbacks,
  LocalReply,
  RouteDecision,
  StreamFilter,
} from "../../http/filter.ts";
import { HeaderMap, type HeaderPair } from "../../http/header-map.ts";
import { StreamInfo, type SocketAddress } from "../../http/stream-info.ts";
import type { Cluster } from "../../config/model.ts";

export interface DriverResult {
  headers?: HeaderMap;
  body: Uint8Array;
  trailers?: HeaderMap;
  reset?: string;
  localReply?: LocalReply;
  info: StreamInfo;
}

export function clusterConfig(name: string, ports: number[], o: Partial<Cluster> = {}): Cluster {
  return {
    name,
    type: "STATIC",
    connectTimeoutMs: 1000,
    dnsRefreshRateMs: 5000,
    lbPolicy: { kind: "ROUND_ROBIN" },
    overrideHostStatuses: ["UNKNOWN", "HEALTHY", "DEGRADED"],
    endpoints: ports.map((port) => ({ address: "127.0.0.1", port, loadBalancingWeight: 1 })),
    upstreamProtocol: "HTTP2",
    http2MaxConcurrentStreams: 2147483647,
    healthChecks: [],
    circuitBreakers: [],
    perConnectionBufferLimitBytes: 1 << 20,
    ...o,
  };
}

let streamIds = 1n;

/** Runs one request through `filters` (the last is the router); resolves when the stream ends. */
export function drive(
  filters: StreamFilter[],
  route: RouteDecision,
  request: { headers: HeaderPair[]; body?: Uint8Array; trailers?: HeaderPair[] },
  opts: { bufferLimit?: number; onStart?: (api: { reset(): void }) => void } = {},
): Promise<DriverResult> {
  return new Promise((resolve) => {
    const info = new StreamInfo();
    const res: DriverResult = { body: new Uint8Array(0), info };
    const body = new BodyBuffer();
    let override: { host: SocketAddress; strict: boolean } | undefined;
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      res.body = body.slice();
      setImmediate(() => resolve(res));
    };
    const runEncodeHeaders = (h: HeaderMap, e: boolean): void => {
      for (let i = filters.length - 2; i >= 0; i--) filters[i]!.encodeHeaders(h, e);
      res.headers = h;
      info.responseHeaders = h;
      if (e) end();
    };
    const common = {
      streamInfo: info,
      streamId: streamIds++,
      sendLocalReply(reply: LocalReply): boolean {
        if (res.headers) return false;
        res.localReply = reply;
        info.responseCodeDetails = reply.details;
        if (reply.flag) info.responseFlags.add(reply.flag);
        const h = new HeaderMap([[":status", String(reply.status)]]);
        if (reply.body !== undefined) body.append(typeof reply.body === "string" ? new TextEncoder().encode(reply.body) : reply.body);
        runEncodeHeaders(h, false);
        end();
        return true;
      },
      resetStream(details: string) {
        res.reset = details;
        info.responseCodeDetails = details;
        end();
      },
    };
    const dcb: DecoderFilterCallbacks = {
      ...common,
      continueDecoding: () => {},
      decodingBuffer: () => undefined,
      addDecodedTrailers: () => new HeaderMap(),
      route: () => route,
      clearRouteCache: () => {},
      setUpstreamOverrideHost: (host, strict) => (override = { host, strict }),
      upstreamOverrideHost: () => override,
      encodeHeaders: runEncodeHeaders,
      encodeData(d, e) {
        body.append(d.slice());
        if (e) end();
      },
      encodeTrailers(t) {
        res.trailers = t;
        end();
      },
      readDisable: () => {},
      onDownstreamWatermark: () => {},
      bufferLimit: opts.bufferLimit ?? 1 << 20,
    };
    const ecb: EncoderFilterCallbacks = {
      ...common,
      continueEncoding: () => {},
      encodingBuffer: () => undefined,
      addEncodedTrailers: () => new HeaderMap(),
    };
    for (const f of filters) {
      f.setDecoderFilterCallbacks(dcb);
      f.setEncoderFilterCallbacks(ecb);
    }
    const headers = new HeaderMap(request.headers);
    info.requestHeaders = headers;
    const hasBody = (request.body?.length ?? 0) > 0;
    const hasTrailers = (request.trailers?.length ?? 0) > 0;
    for (const f of filters) f.decodeHeaders(headers, !hasBody && !hasTrailers);
    if (hasBody) filters[filters.length - 1]!.decodeData(new BodyBuffer(request.body), !hasTrailers);
    if (hasTrailers) filters[filters.length - 1]!.decodeTrailers(new HeaderMap(request.trailers));
    opts.onStart?.({
      reset: () => {
        for (const f of filters) f.onDestroy();
        res.reset = "downstream_reset";
        end();
      },
    });
  }).then((r) => {
    for (const f of filters) f.onDestroy();
    return r as DriverResult;
  });
}

export function route(cluster: string, o: Partial<RouteDecision> = {}): RouteDecision {
  return { routeName: "r", virtualHostName: "vh", clusterName: cluster, timeoutMs: 15000, ...o };
}
