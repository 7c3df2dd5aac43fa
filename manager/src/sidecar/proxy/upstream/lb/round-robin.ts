/**
 * ROUND_ROBIN as Envoy's RoundRobinLoadBalancer: with equal weights a plain rotation over
 * the usable hosts (starting at a random index, as Envoy seeds each worker); with unequal
 * weights an EDF scheduler where each host is picked in proportion to its weight (Envoy
 * builds it with a random number of initial picks so workers do not start in lockstep).
 */
import type { Host } from "../host.ts";
import { randomU32 } from "../random.ts";
import { EdfScheduler } from "./edf-scheduler.ts";
import { BaseLoadBalancer } from "./load-balancer.ts";

export class RoundRobinLoadBalancer extends BaseLoadBalancer {
  private rrIndex = -1;
  private scheduler?: EdfScheduler<Host>;

  protected rebuild(): void {
    const hosts = this.hostsToUse();
    if (this.rrIndex < 0) this.rrIndex = randomU32(this.deps.random);
    this.scheduler = undefined;
    if (hosts.length > 1 && !this.weightsEqual()) {
      const s = new EdfScheduler<Host>();
      for (const h of hosts) s.add(h.weight, h);
      const picks = randomU32(this.deps.random) % hosts.length;
      for (let i = 0; i < picks; i++) s.pickAndAdd((h) => h.weight);
      this.scheduler = s;
    }
  }

  protected pick(): Host | undefined {
    if (this.scheduler) return this.scheduler.pickAndAdd((h) => h.weight);
    const hosts = this.hostsToUse();
    const h = hosts[this.rrIndex % hosts.length];
    this.rrIndex = (this.rrIndex + 1) % 0x1_0000_0000;
    return h;
  }
}
