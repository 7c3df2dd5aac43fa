/**
 * Host overrides that bypass the cluster's balancing algorithm.
 *
 * - Stateful session (LoadBalancerContextBase::selectOverrideHost): the address a filter set
 *   with setUpstreamOverrideHost is used when it is in the cluster's host map and its health
 *   status is one of common_lb_config.override_host_status; otherwise, with `strict`, no host
 *   (the router answers 503 no healthy upstream), without it the normal algorithm.
 * - override_host LB policy (extensions/load_balancing_policies/override_host): every
 *   configured header's first value is split on "," into `IP:port` addresses, concatenated in
 *   source order. Each attempt consumes addresses until one is in the host map (no health
 *   check, as Envoy's "TODO validate health"); when none is left, the fallback policy picks.
 */
import type { HeaderMap } from "../../../http/header-map.ts";
import type { SocketAddress } from "../../../http/stream-info.ts";
import { addressKey, parseAddressKey, type Host, type HostHealthStatus } from "../host.ts";

export function selectedHostsFromHeaders(headers: HeaderMap | undefined, names: readonly string[]): string[] {
  const out: string[] = [];
  if (!headers) return out;
  for (const name of names) {
    const value = headers.get(name);
    if (value === undefined) continue;
    for (const part of value.split(",")) {
      const s = part.trim();
      if (s.length > 0) out.push(s);
    }
  }
  return out;
}

/** Per-request override_host state (Envoy's OverrideHostFilterState). */
export class OverrideHostState {
  private next = 0;
  constructor(readonly hosts: readonly string[]) {}
  get empty(): boolean {
    return this.hosts.length === 0;
  }
  /** Consumes addresses until one names a host of the cluster; undefined = use the fallback. */
  choose(hostMap: ReadonlyMap<string, Host>): Host | undefined {
    while (this.next < this.hosts.length) {
      const text = this.hosts[this.next++]!;
      const parsed = parseAddressKey(text);
      const host = parsed ? hostMap.get(addressKey(parsed)) : undefined;
      if (host) return host;
    }
    return undefined;
  }
}

export type StatefulSessionChoice = { kind: "host"; host: Host } | { kind: "strict_miss" } | { kind: "none" };

export function selectStatefulSessionHost(
  override: { host: SocketAddress; strict: boolean } | undefined,
  hostMap: ReadonlyMap<string, Host>,
  allowed: readonly HostHealthStatus[],
): StatefulSessionChoice {
  if (!override) return { kind: "none" };
  const host = hostMap.get(addressKey(override.host));
  if (host && allowed.includes(host.healthStatus())) return { kind: "host", host };
  return override.strict ? { kind: "strict_miss" } : { kind: "none" };
}
