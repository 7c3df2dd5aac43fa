/**
 * The contract between the downstream side of the sidecar (listeners, connection manager,
 * filter manager), the upstream side (clusters, pools, load balancers, health checking,
 * outlier detection, the router and stateful-session filters) and the admin endpoints.
 */
import type { StreamFilterFactory } from "../../http/filter.ts";
import type { SocketAddress } from "../../http/stream-info.ts";
import type { HttpCallDispatcher } from "../../host/api.ts";
import type { RouterFilterConfig, StatefulSessionFilterConfig } from "../../config/model.ts";

/** Per-host request and connection counts (Envoy's HostStats), as /clusters prints them. */
export interface HostStats {
  rqActive: number;
  rqTotal: number;
  rqError: number;
  rqSuccess: number;
  rqTimeout: number;
  cxActive: number;
  cxTotal: number;
  cxConnectFail: number;
}

/** A host's state as /clusters shows it. */
export interface HostView extends HostStats {
  address: SocketAddress;
  /** The endpoint's configured hostname (DNS clusters). */
  hostname: string;
  weight: number;
  /** Envoy health flags: "healthy" or any of "/failed_active_hc", "/failed_outlier_check", "/pending_active_hc". */
  healthFlags: string[];
}

export interface ClusterView {
  name: string;
  hosts(): HostView[];
  /** Circuit breaker thresholds (for /clusters "default_priority::max_connections::..." lines). */
  circuitBreakers: { maxConnections: number; maxPendingRequests: number; maxRequests: number; maxRetries: number };
  addedViaApi: false;
}

export interface ClusterManager extends HttpCallDispatcher {
  /** Resolves DNS, starts health checking. Resolves once initial membership is known. */
  start(): Promise<void>;
  /** Closes every pool and timer. */
  stop(): Promise<void>;
  clusters(): ClusterView[];
  /** The terminal router filter for a listener's filter chain. */
  routerFilterFactory(config: RouterFilterConfig): StreamFilterFactory;
  /** envoy.filters.http.stateful_session with header-based session state. */
  statefulSessionFilterFactory(config: StatefulSessionFilterConfig): StreamFilterFactory;
}
