/**
 * Where each meshwasm filter goes by default (issue 12 §1; reference istio-wasmplugin.md
 * takeaways): grpc-auth in AUTHZ, failing closed (a security filter must not let traffic through
 * when it cannot run); grpc-metrics in STATS and grpc-balancer unspecified (after STATS), both
 * FAIL_RELOAD where the target Istio has it (>= 1.27: a VM that traps is rebuilt, where
 * FAIL_OPEN would silently skip the filter until the next update) and FAIL_OPEN before.
 * Priorities order them among other plugins of the same phase (highest first). Any other filter
 * gets the API's defaults (unspecified phase, FAIL_CLOSE) unless the deployment file says
 * otherwise.
 */
import { recoverableFailStrategy, type IstioVersion } from "../istio/versions.ts";
import type { FailStrategy, PluginPhase } from "../wasmplugin/model.ts";

export interface Placement {
  phase: PluginPhase;
  priority?: number;
  failStrategy: FailStrategy;
}

export function filterDefaults(filter: string, target: IstioVersion): Placement {
  switch (filter) {
    case "grpc-auth":
      return { phase: "AUTHZ", priority: 1000, failStrategy: "FAIL_CLOSE" };
    case "grpc-metrics":
      return { phase: "STATS", priority: 1000, failStrategy: recoverableFailStrategy(target) };
    case "grpc-balancer":
      return { phase: "UNSPECIFIED_PHASE", priority: 1000, failStrategy: recoverableFailStrategy(target) };
    default:
      return { phase: "UNSPECIFIED_PHASE", failStrategy: "FAIL_CLOSE" };
  }
}
