/** Builds the load balancer a cluster's lb_policy (or override_host fallback_policy) names. */
import type { LbPolicyConfig } from "../../../config/model.ts";
import { LeastRequestLoadBalancer } from "./least-request.ts";
import type { LbDeps, LoadBalancer } from "./load-balancer.ts";
import { RandomLoadBalancer } from "./random-lb.ts";
import { RoundRobinLoadBalancer } from "./round-robin.ts";

export function createLoadBalancer(policy: LbPolicyConfig, deps: LbDeps): LoadBalancer {
  switch (policy.kind) {
    case "ROUND_ROBIN":
      return new RoundRobinLoadBalancer(deps);
    case "LEAST_REQUEST":
      return new LeastRequestLoadBalancer(deps, Math.max(2, policy.choiceCount || 2), policy.activeRequestBias);
    case "RANDOM":
      return new RandomLoadBalancer(deps);
  }
}
