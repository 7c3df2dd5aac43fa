/**
 * The local data plane's public surface: start a sidecar from an Envoy bootstrap, and the
 * pieces it is made of for callers that assemble their own (tests, benchmarks).
 */
export { startSidecar, type Sidecar, type SidecarInput, type SidecarOptions } from "./sidecar.ts";
export { startListener, allocateConnectionId, HTTP2_PREFACE, type RunningListener } from "./downstream/listener.ts";
export { ConnectionManager, type ConnectionManagerOptions } from "./downstream/connection-manager.ts";
export { FilterManager, type DownstreamSink, type FilterManagerOptions } from "./downstream/filter-manager.ts";
export { RouteMatcher, type MatchedRoute } from "./downstream/route-matcher.ts";
export { mutateRequestHeaders } from "./downstream/request-headers.ts";
export { httpToGrpcStatus, isGrpcContentType, percentEncode, prepareLocalReply } from "./downstream/local-reply.ts";
export { createClusterManager } from "./upstream/cluster-manager.ts";
export type { ClusterManager, ClusterView, HostView } from "./upstream/types.ts";
