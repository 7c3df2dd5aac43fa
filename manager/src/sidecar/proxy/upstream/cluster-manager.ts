/**
 * createClusterManager: the upstream half of the sidecar (Envoy's ClusterManagerImpl as the
 * data plane sees it). Owns one ClusterRuntime per configured cluster; start() resolves DNS
 * and waits for initial health checks (Envoy's cluster warming); the router and
 * stateful-session filter factories; http_call dispatch (async-client.ts); and the
 * /clusters view of every host.
 */
import type { Cluster, RouterFilterConfig, StatefulSessionFilterConfig } from "../../config/model.ts";
import type { StreamFilterFactory } from "../../http/filter.ts";
import type { HttpCallCallbacks, HttpCallRequest } from "../../host/api.ts";
import type { StatsStore } from "../../stats/types.ts";
import { dispatchHttpCall } from "./async-client.ts";
import { ClusterRuntime } from "./cluster.ts";
import type { Random } from "./random.ts";
import { RouterFilter, type RouterDeps } from "./router-filter.ts";
import { statefulSessionFilterFactory } from "./stateful-session-filter.ts";
import type { ClusterManager, ClusterView, HostView } from "./types.ts";

export interface ClusterManagerDeps {
  stats: StatsStore;
  /** Floats in [0, 1); default Math.random. */
  random?: Random;
  /** Monotonic ms; default performance.now(). */
  now?: () => number;
  /** DNS resolution for STRICT_DNS / LOGICAL_DNS (default node:dns lookup, all addresses). */
  resolve?: (hostname: string) => Promise<string[]>;
}

export interface UpstreamClusterManager extends ClusterManager {
  /** The run-time cluster (tests and admin use it). */
  cluster(name: string): ClusterRuntime | undefined;
}

export function createClusterManager(clusters: Cluster[], deps: ClusterManagerDeps): UpstreamClusterManager {
  const random = deps.random ?? Math.random;
  const now = deps.now ?? (() => performance.now());
  const runtimes = new Map<string, ClusterRuntime>();
  for (const c of clusters) runtimes.set(c.name, new ClusterRuntime(c, { stats: deps.stats, random, now, resolve: deps.resolve }));
  const routerDeps: RouterDeps = { cluster: (n) => runtimes.get(n), random };

  const view = (rt: ClusterRuntime): ClusterView => {
    const t = rt.resources.thresholds;
    return {
      name: rt.name,
      addedViaApi: false,
      circuitBreakers: {
        maxConnections: t.maxConnections,
        maxPendingRequests: t.maxPendingRequests,
        maxRequests: t.maxRequests,
        maxRetries: t.maxRetries,
      },
      hosts: (): HostView[] =>
        rt.hosts().map((h) => ({
          address: { ...h.address },
          hostname: h.hostname,
          weight: h.weight,
          healthFlags: h.healthFlags(),
          ...h.stats,
        })),
    };
  };

  return {
    async start() {
      await Promise.all([...runtimes.values()].map((r) => r.start()));
    },
    async stop() {
      await Promise.all([...runtimes.values()].map((r) => r.stop()));
    },
    clusters: () => [...runtimes.values()].map(view),
    cluster: (name) => runtimes.get(name),
    routerFilterFactory(_config: RouterFilterConfig): StreamFilterFactory {
      return () => new RouterFilter(routerDeps);
    },
    statefulSessionFilterFactory(config: StatefulSessionFilterConfig): StreamFilterFactory {
      return statefulSessionFilterFactory(config);
    },
    hasCluster: (name) => runtimes.has(name),
    httpCall(request: HttpCallRequest, callbacks: HttpCallCallbacks) {
      return dispatchHttpCall(routerDeps, request, callbacks);
    },
  };
}
