/**
 * Wraps the terminal router filter with the route handling Envoy's router performs at the
 * start of decodeHeaders (source/common/router/router.cc):
 * - no route: local 404 with an empty body, details "route_not_found", flag NR, stat
 *   `http.<prefix>.no_route`;
 * - direct_response: a local reply with the configured status and body, details
 *   "direct_response", stat `rq_direct_response`, route response_headers_to_add applied;
 * - unknown cluster: local 503, details "cluster_not_found", stat `no_cluster`;
 * - otherwise the route's prefix_rewrite / host_rewrite_literal and request_headers_to_add
 *   are applied and the router takes over. (response_headers_to_add are applied by the
 *   filter manager to whatever this filter encodes.)
 * Everything else is delegated to the router unchanged.
 */
import type { BodyBuffer } from "../../http/body-buffer.ts";
import {
  HeadersStatus,
  type DecoderFilterCallbacks,
  type EncoderFilterCallbacks,
  type StreamFilter,
} from "../../http/filter.ts";
import type { HeaderMap } from "../../http/header-map.ts";
import type { Counter } from "../../stats/types.ts";
import type { MatchedRoute } from "./route-matcher.ts";

export interface RouterGuardStats {
  no_route: Counter;
  no_cluster: Counter;
  rq_direct_response: Counter;
}

/** Applies a route's headers_to_add (append: add; otherwise replace). */
export function applyHeadersToAdd(headers: HeaderMap, adds: Array<{ key: string; value: string; append: boolean }>): void {
  for (const { key, value, append } of adds) {
    if (append) headers.add(key, value);
    else headers.setCopy(key, value);
  }
}

export class RouterGuard implements StreamFilter {
  private cb!: DecoderFilterCallbacks;
  constructor(
    private readonly inner: StreamFilter,
    private readonly stats: RouterGuardStats,
    private readonly hasCluster: (name: string) => boolean,
  ) {}

  setDecoderFilterCallbacks(cb: DecoderFilterCallbacks): void {
    this.cb = cb;
    this.inner.setDecoderFilterCallbacks(cb);
  }
  setEncoderFilterCallbacks(cb: EncoderFilterCallbacks): void {
    this.inner.setEncoderFilterCallbacks(cb);
  }

  decodeHeaders(headers: HeaderMap, endStream: boolean): HeadersStatus {
    const route = this.cb.route() as MatchedRoute | undefined;
    if (!route) {
      this.stats.no_route.inc();
      this.cb.sendLocalReply({ status: 404, details: "route_not_found", flag: "NR" });
      return HeadersStatus.StopIteration;
    }
    if (route.directResponse) {
      this.stats.rq_direct_response.inc();
      this.cb.sendLocalReply({
        status: route.directResponse.status,
        body: route.directResponse.body,
        details: "direct_response",
      });
      return HeadersStatus.StopIteration;
    }
    if (!route.clusterName || !this.hasCluster(route.clusterName)) {
      this.stats.no_cluster.inc();
      this.cb.sendLocalReply({ status: 503, details: "cluster_not_found" });
      return HeadersStatus.StopIteration;
    }
    const action = route.route.route;
    if (action?.prefixRewrite !== undefined && route.route.match.prefix !== undefined) {
      const path = headers.get(":path") ?? "/";
      headers.setCopy(":path", action.prefixRewrite + path.slice(route.route.match.prefix.length));
    }
    if (action?.hostRewriteLiteral !== undefined) headers.setCopy(":authority", action.hostRewriteLiteral);
    applyHeadersToAdd(headers, route.route.requestHeadersToAdd);
    return this.inner.decodeHeaders(headers, endStream);
  }

  decodeData(data: BodyBuffer, endStream: boolean) {
    return this.inner.decodeData(data, endStream);
  }
  decodeTrailers(trailers: HeaderMap) {
    return this.inner.decodeTrailers(trailers);
  }
  encodeHeaders(headers: HeaderMap, endStream: boolean) {
    return this.inner.encodeHeaders(headers, endStream);
  }
  encodeData(data: BodyBuffer, endStream: boolean) {
    return this.inner.encodeData(data, endStream);
  }
  encodeTrailers(trailers: HeaderMap) {
    return this.inner.encodeTrailers(trailers);
  }
  onStreamComplete(): void {
    this.inner.onStreamComplete();
  }
  onDestroy(): void {
    this.inner.onDestroy();
  }
}
