/**
 * The DecoderFilterCallbacks members that stay inert when the router filter is driven by an
 * async client (http_call, gRPC callouts) instead of a downstream filter chain, as Envoy's
 * AsyncStreamImpl leaves them: nothing to continue or buffer, no route cache, no host override.
 */
import type { RouteDecision } from "../../http/filter.ts";
import { HeaderMap } from "../../http/header-map.ts";

export function inertDecoderCallbacks(route: RouteDecision) {
  return {
    continueDecoding: () => {},
    decodingBuffer: () => undefined,
    addDecodedTrailers: () => new HeaderMap(),
    route: () => route,
    clearRouteCache: () => {},
    setUpstreamOverrideHost: () => {},
    upstreamOverrideHost: () => undefined,
  };
}
