/** RANDOM as Envoy's RandomLoadBalancer: a uniformly random usable host (weights ignored). */
import type { Host } from "../host.ts";
import { randomU32 } from "../random.ts";
import { BaseLoadBalancer } from "./load-balancer.ts";

export class RandomLoadBalancer extends BaseLoadBalancer {
  protected rebuild(): void {}
  protected pick(): Host | undefined {
    const hosts = this.hostsToUse();
    return hosts[randomU32(this.deps.random) % hosts.length];
  }
}
