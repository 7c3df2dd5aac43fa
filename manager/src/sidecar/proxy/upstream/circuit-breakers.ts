/**
 * Per-cluster circuit breakers (Envoy Upstream::ResourceManagerImpl, DEFAULT priority):
 * counters of open connections, pending requests, active requests and active retries, each
 * checked against its threshold with `canCreate()` before the resource is taken.
 */
import type { CircuitBreakerThresholds } from "../../config/model.ts";

export class Resource {
  count = 0;
  constructor(readonly max: number) {}
  canCreate(): boolean {
    return this.count < this.max;
  }
  inc(): void {
    this.count++;
  }
  dec(): void {
    if (this.count > 0) this.count--;
  }
}

export class ResourceManager {
  readonly connections: Resource;
  readonly pendingRequests: Resource;
  readonly requests: Resource;
  readonly retries: Resource;
  constructor(readonly thresholds: CircuitBreakerThresholds) {
    this.connections = new Resource(thresholds.maxConnections);
    this.pendingRequests = new Resource(thresholds.maxPendingRequests);
    this.requests = new Resource(thresholds.maxRequests);
    this.retries = new Resource(thresholds.maxRetries);
  }
}

export const DEFAULT_THRESHOLDS: CircuitBreakerThresholds = {
  priority: "DEFAULT",
  maxConnections: 1024,
  maxPendingRequests: 1024,
  maxRequests: 1024,
  maxRetries: 3,
};

/** The DEFAULT-priority thresholds of a cluster (Envoy's defaults when absent). */
export function defaultPriorityThresholds(list: CircuitBreakerThresholds[]): CircuitBreakerThresholds {
  return list.find((t) => t.priority === "DEFAULT") ?? DEFAULT_THRESHOLDS;
}
