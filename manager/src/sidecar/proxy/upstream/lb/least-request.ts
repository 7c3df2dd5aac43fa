/**
 * LEAST_REQUEST as Envoy's LeastRequestLoadBalancer: with equal weights, sample
 * `choice_count` hosts at random (with replacement, default 2) and keep the one with the
 * fewest active requests (P2C); with unequal weights, an EDF scheduler whose weights are
 * `weight / (active + 1)^active_request_bias`, recomputed for the picked host at each pick.
 */
import type { Host } from "../host.ts";
import { randomU32 } from "../random.ts";
import { EdfScheduler } from "./edf-scheduler.ts";
import { BaseLoadBalancer, type LbDeps } from "./load-balancer.ts";

export class LeastRequestLoadBalancer extends BaseLoadBalancer {
  private scheduler?: EdfScheduler<Host>;

  constructor(
    deps: LbDeps,
    private readonly choiceCount = 2,
    private readonly activeRequestBias = 1.0,
  ) {
    super(deps);
  }

  private effectiveWeight = (h: Host): number => {
    const active = h.stats.rqActive + 1;
    return this.activeRequestBias === 1.0 ? h.weight / active : h.weight / Math.pow(active, this.activeRequestBias);
  };

  protected rebuild(): void {
    const hosts = this.hostsToUse();
    this.scheduler = undefined;
    if (hosts.length > 1 && !this.weightsEqual()) {
      const s = new EdfScheduler<Host>();
      for (const h of hosts) s.add(this.effectiveWeight(h), h);
      this.scheduler = s;
    }
  }

  protected pick(): Host | undefined {
    if (this.scheduler) return this.scheduler.pickAndAdd(this.effectiveWeight);
    const hosts = this.hostsToUse();
    let candidate: Host | undefined;
    for (let i = 0; i < this.choiceCount; i++) {
      const sampled = hosts[randomU32(this.deps.random) % hosts.length]!;
      if (!candidate || sampled.stats.rqActive < candidate.stats.rqActive) candidate = sampled;
    }
    return candidate;
  }
}
