/**
 * The common part of Envoy's zone-aware load balancers (load_balancer_impl.cc): which hosts
 * a pick may use. Normally the healthy hosts; when the priority's health
 * (min(100, 140 * healthy / total), Envoy's overprovisioning factor 1.4) falls below the
 * panic threshold (50%), every host, healthy or not, and `lb_healthy_panic` counts each
 * such pick. Subclasses implement the algorithm over `hostsToUse()`.
 */
import type { Host } from "../host.ts";
import type { Random } from "../random.ts";

export const OVERPROVISIONING_FACTOR = 140;
export const PANIC_THRESHOLD_PERCENT = 50;

export interface LoadBalancer {
  /** Rebuilds after membership or health changed (Envoy's priority set update callbacks). */
  refresh(hosts: readonly Host[]): void;
  /** A host for the next request, or undefined when the cluster has no hosts. */
  chooseHost(): Host | undefined;
}

export interface LbDeps {
  random: Random;
  /** Called on each pick made in panic mode (lb_healthy_panic). */
  onPanic?: () => void;
}

export function healthPercent(total: number, healthy: number): number {
  if (total === 0) return 0;
  return Math.min(100, Math.floor((OVERPROVISIONING_FACTOR * healthy) / total));
}

export abstract class BaseLoadBalancer implements LoadBalancer {
  protected active: Host[] = [];
  protected panic = false;

  constructor(protected readonly deps: LbDeps) {}

  refresh(hosts: readonly Host[]): void {
    const healthy = hosts.filter((h) => h.healthy());
    this.panic = hosts.length > 0 && healthPercent(hosts.length, healthy.length) < PANIC_THRESHOLD_PERCENT;
    this.active = this.panic ? [...hosts] : healthy;
    this.rebuild();
  }

  chooseHost(): Host | undefined {
    if (this.active.length === 0) return undefined;
    if (this.panic) this.deps.onPanic?.();
    return this.pick();
  }

  protected hostsToUse(): readonly Host[] {
    return this.active;
  }

  protected weightsEqual(): boolean {
    const w = this.active[0]?.weight;
    return this.active.every((h) => h.weight === w);
  }

  protected abstract rebuild(): void;
  protected abstract pick(): Host | undefined;
}
