/**
 * Load-balancer selection for a cluster. `load_balancing_policy` (the extensible form) takes
 * precedence and `lb_policy` is then ignored, as in Envoy (Istio sets lb_policy
 * CLUSTER_PROVIDED beside it). Policies are tried in order; Envoy uses the first type it has
 * registered, so a type unknown to Envoy is skipped, while a known Envoy policy the sidecar
 * lacks is an error rather than a different balancer. override_host accepts header sources
 * only: a Wasm filter cannot write dynamic metadata, so a metadata source could never be set.
 */
import type { LbPolicyConfig, OverrideHostPolicy } from "./model.ts";
import { Ctx, Message, enumValue, listOfMessages, msg, numberValue, str, u32, NOT_SUPPORTED } from "./fields.ts";
import { openTyped } from "./typed-config.ts";

export const ROUND_ROBIN_TYPE = "envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin";
export const LEAST_REQUEST_TYPE = "envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest";
export const RANDOM_TYPE = "envoy.extensions.load_balancing_policies.random.v3.Random";
export const OVERRIDE_HOST_TYPE = "envoy.extensions.load_balancing_policies.override_host.v3.OverrideHost";

const ENVOY_OTHER_POLICIES = new Set([
  "envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash",
  "envoy.extensions.load_balancing_policies.maglev.v3.Maglev",
  "envoy.extensions.load_balancing_policies.cluster_provided.v3.ClusterProvided",
  "envoy.extensions.load_balancing_policies.client_side_weighted_round_robin.v3.ClientSideWeightedRoundRobin",
  "envoy.extensions.load_balancing_policies.wrr_locality.v3.WrrLocality",
  "envoy.extensions.load_balancing_policies.subset.v3.Subset",
  "envoy.extensions.load_balancing_policies.pick_first.v3.PickFirst",
  "envoy.extensions.load_balancing_policies.dynamic_modules.v3.DynamicModulesLoadBalancerConfig",
  "envoy.extensions.load_balancing_policies.peak_ewma.v3.PeakEwma",
]);

const LB_POLICIES = [
  "ROUND_ROBIN", "LEAST_REQUEST", "RING_HASH", "RANDOM", undefined, "MAGLEV", "CLUSTER_PROVIDED", "LOAD_BALANCING_POLICY_CONFIG",
] as const;

export interface ClusterLb {
  lbPolicy: LbPolicyConfig;
  overrideHost?: OverrideHostPolicy;
}

export function parseClusterLb(ctx: Ctx, c: Message): ClusterLb | undefined {
  const lbPolicyPos = c.posOf("lb_policy");
  const lbPolicy = enumValue(c, "lb_policy", LB_POLICIES) ?? "ROUND_ROBIN";
  const lrc = msg(c, "least_request_lb_config", "envoy.config.cluster.v3.Cluster.LeastRequestLbConfig");
  const legacyLeastRequest = lrc ? parseLeastRequest(ctx, lrc) : { kind: "LEAST_REQUEST" as const, choiceCount: 2, activeRequestBias: 1 };
  const policy = msg(c, "load_balancing_policy", "envoy.config.cluster.v3.LoadBalancingPolicy");
  if (policy) return parseLoadBalancingPolicy(ctx, policy, true);
  switch (lbPolicy) {
    case "ROUND_ROBIN":
      return { lbPolicy: { kind: "ROUND_ROBIN" } };
    case "RANDOM":
      return { lbPolicy: { kind: "RANDOM" } };
    case "LEAST_REQUEST":
      return legacyLeastRequest ? { lbPolicy: legacyLeastRequest } : undefined;
    case "CLUSTER_PROVIDED":
    case "LOAD_BALANCING_POLICY_CONFIG":
      ctx.error(c.pathOf("lb_policy"), lbPolicyPos, `${lbPolicy} requires load_balancing_policy`);
      return undefined;
    default:
      ctx.error(c.pathOf("lb_policy"), lbPolicyPos, `${NOT_SUPPORTED}: ${lbPolicy}; use ROUND_ROBIN, LEAST_REQUEST or RANDOM`);
      return undefined;
  }
}

function parseLoadBalancingPolicy(ctx: Ctx, m: Message, allowOverrideHost: boolean): ClusterLb | undefined {
  const policies = listOfMessages(m, "policies", "envoy.config.cluster.v3.LoadBalancingPolicy.Policy");
  m.done();
  for (const p of policies) {
    const tec = msg(p, "typed_extension_config", "envoy.config.core.v3.TypedExtensionConfig");
    p.done();
    if (!tec) {
      p.required("typed_extension_config");
      return undefined;
    }
    str(tec, "name", { required: true, minLen: 1 });
    const tcAt = tec.get("typed_config");
    tec.done();
    if (!tcAt) {
      tec.required("typed_config");
      return undefined;
    }
    const typed = openTyped(ctx, tcAt);
    if (!typed) return undefined;
    switch (typed.type) {
      case ROUND_ROBIN_TYPE:
        typed.msg.done();
        return { lbPolicy: { kind: "ROUND_ROBIN" } };
      case RANDOM_TYPE:
        typed.msg.done();
        return { lbPolicy: { kind: "RANDOM" } };
      case LEAST_REQUEST_TYPE: {
        const lr = parseLeastRequest(ctx, typed.msg);
        return lr ? { lbPolicy: lr } : undefined;
      }
      case OVERRIDE_HOST_TYPE: {
        if (!allowOverrideHost) {
          ctx.error(typed.typeAt.path, typed.typeAt.node, "override_host cannot be nested inside another override_host policy");
          return undefined;
        }
        const oh = parseOverrideHost(ctx, typed.msg);
        return oh ? { lbPolicy: oh.fallback, overrideHost: oh } : undefined;
      }
      default:
        if (ENVOY_OTHER_POLICIES.has(typed.type)) {
          ctx.error(typed.typeAt.path, typed.typeAt.node, `${NOT_SUPPORTED}: load balancing policy ${typed.type}`);
          return undefined;
        }
      // Unknown to Envoy too: Envoy skips it and tries the next policy.
    }
  }
  ctx.error(m.pathOf("policies"), m.has("policies") ? m.posOf("policies") : m.node, "no supported load balancing policy (round_robin, least_request, random or override_host)");
  return undefined;
}

/** LeastRequest (cluster least_request_lb_config or the extension): choice_count >= 2, bias >= 0. */
function parseLeastRequest(ctx: Ctx, m: Message): LbPolicyConfig | undefined {
  const choiceCount = u32(m, "choice_count", { min: 2 }) ?? (m.has("choice_count") ? undefined : 2);
  let activeRequestBias = 1;
  let ok = choiceCount !== undefined;
  const bias = msg(m, "active_request_bias", "envoy.config.core.v3.RuntimeDouble");
  if (bias) {
    const at = bias.get("default_value");
    const v = at ? numberValue(ctx, at) : 0;
    str(bias, "runtime_key");
    if (v === undefined) ok = false;
    else if (v < 0 || !Number.isFinite(v)) {
      ctx.error(bias.pathOf("default_value"), bias.posOf("default_value"), "active_request_bias must be >= 0");
      ok = false;
    } else activeRequestBias = v;
    bias.done();
  }
  m.done();
  if (!ok) return undefined;
  return { kind: "LEAST_REQUEST", choiceCount: choiceCount!, activeRequestBias };
}

function parseOverrideHost(ctx: Ctx, m: Message): OverrideHostPolicy | undefined {
  let ok = true;
  const headers: string[] = [];
  const sources = listOfMessages(m, "override_host_sources", "envoy.extensions.load_balancing_policies.override_host.v3.OverrideHost.OverrideHostSource");
  if (sources.length === 0) {
    ctx.error(m.pathOf("override_host_sources"), m.has("override_host_sources") ? m.posOf("override_host_sources") : m.node, "at least one override host source is required");
    ok = false;
  }
  for (const s of sources) {
    if (s.has("metadata")) {
      s.unsupported("metadata", "Wasm filters cannot write dynamic metadata; use a header source");
      ok = false;
    }
    const header = str(s, "header", { minLen: 1 });
    if (header !== undefined) headers.push(header.toLowerCase());
    else if (!s.has("metadata") && ok) {
      s.required("header");
      ok = false;
    }
    s.done();
  }
  const fb = msg(m, "fallback_policy", "envoy.config.cluster.v3.LoadBalancingPolicy");
  const fallback = fb ? parseLoadBalancingPolicy(ctx, fb, false) : undefined;
  if (!fb) m.required("fallback_policy");
  m.done();
  if (!ok || !fallback) return undefined;
  return { headers, fallback: fallback.lbPolicy };
}
