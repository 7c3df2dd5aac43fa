/**
 * Where istiod puts WasmPlugins in a proxy's HTTP filter chain (pure; istio/istio
 * `pilot/pkg/model/push_context.go` WasmPluginsByListenerInfo, `pilot/pkg/model/extensions.go`
 * matchTrafficSelectors / matchMode, `pilot/pkg/networking/core/listener_builder.go`):
 *
 * - Candidates: plugins of the proxy's namespace, then of the root namespace (mesh-wide), each
 *   list in istiod's config order (creationTimestamp, then name, then namespace).
 * - A plugin applies when its `selector.matchLabels` are all among the workload's labels (no
 *   selector: every workload); plugins with `targetRefs` are for gateways and waypoints, never
 *   for a sidecar; only HTTP (or unspecified) plugins go into the HTTP chain.
 * - `match`: no entries, or a listener of undefined class on port 0, always match; otherwise one
 *   entry must match: mode UNDEFINED / CLIENT_AND_SERVER any listener, CLIENT an outbound or
 *   gateway listener, SERVER an inbound one; and its `ports` empty or holding the listener port.
 * - Order: phase AUTHN, AUTHZ, STATS, then unspecified; within a phase a stable sort by priority,
 *   highest first, an unset priority counting as math.MinInt32.
 *
 * `envoyPluginConfig` is the ECDS resource istiod makes of a plugin (extensions.go): name
 * `<ns>.<name>`, root_id = pluginName, no vm_id, `pluginConfig` as a JSON StringValue (absent when
 * empty), `vmConfig.env` as key_values (INLINE) and host_env_keys (HOST), failStrategy as
 * Envoy's failure_policy.
 */
import type { ExtensionPlugin, PluginPhase, WorkloadMode } from "./model.ts";
import { resourceName } from "./model.ts";

export const DEFAULT_ROOT_NAMESPACE = "istio-system";

/** Istio's ListenerClass. */
export type ListenerClass = "SIDECAR_INBOUND" | "SIDECAR_OUTBOUND" | "GATEWAY" | "UNDEFINED";

export interface Workload {
  namespace: string;
  labels: Record<string, string>;
  /** meshConfig.rootNamespace; default istio-system. */
  rootNamespace?: string;
}

export interface ListenerInfo {
  class: ListenerClass;
  port: number;
}

export const PHASE_ORDER: readonly PluginPhase[] = ["AUTHN", "AUTHZ", "STATS", "UNSPECIFIED_PHASE"];
const MIN_INT32 = -(2 ** 31);

/** Why a plugin does not apply to a workload (null when it does). */
export function workloadMismatch(p: ExtensionPlugin, w: Workload): string | null {
  const root = w.rootNamespace ?? DEFAULT_ROOT_NAMESPACE;
  if (p.namespace !== w.namespace && p.namespace !== root) return `namespace ${p.namespace} is neither the workload's (${w.namespace}) nor the root namespace (${root})`;
  if (p.targetRefs.length > 0) return "it has targetRefs (gateways and waypoints only)";
  if (p.type === "NETWORK") return "type NETWORK (the local sidecar runs HTTP plugins only)";
  for (const [k, v] of Object.entries(p.selector ?? {})) {
    if (w.labels[k] !== v) return `selector ${k}=${v} does not match the workload labels`;
  }
  return null;
}

function matchMode(mode: WorkloadMode, cls: ListenerClass): boolean {
  switch (mode) {
    case "UNDEFINED":
    case "CLIENT_AND_SERVER":
      return true;
    case "CLIENT":
      return cls === "GATEWAY" || cls === "SIDECAR_OUTBOUND";
    case "SERVER":
      return cls === "SIDECAR_INBOUND";
  }
}

/** istiod's matchTrafficSelectors. */
export function matchesListener(p: ExtensionPlugin, l: ListenerInfo): boolean {
  if ((l.class === "UNDEFINED" && l.port === 0) || p.match.length === 0) return true;
  return p.match.some((m) => matchMode(m.mode, l.class) && (m.ports.length === 0 || m.ports.includes(l.port)));
}

/** istiod's config order: creationTimestamp, then name, then namespace. */
export function configOrder(a: ExtensionPlugin, b: ExtensionPlugin): number {
  if (a.createdAt !== b.createdAt) return a.createdAt - b.createdAt;
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0;
}

/** The plugins of one workload's listener, in filter-chain order (all before the router). */
export function planFilterChain(plugins: readonly ExtensionPlugin[], w: Workload, l: ListenerInfo): ExtensionPlugin[] {
  const root = w.rootNamespace ?? DEFAULT_ROOT_NAMESPACE;
  const namespaces = w.namespace === root ? [w.namespace] : [w.namespace, root];
  const byPhase = new Map<PluginPhase, ExtensionPlugin[]>();
  for (const ns of namespaces) {
    for (const p of plugins.filter((x) => x.namespace === ns).sort(configOrder)) {
      if (workloadMismatch(p, w) !== null || !matchesListener(p, l)) continue;
      const list = byPhase.get(p.phase) ?? [];
      list.push(p);
      byPhase.set(p.phase, list);
    }
  }
  const out: ExtensionPlugin[] = [];
  for (const phase of PHASE_ORDER) {
    const list = byPhase.get(phase) ?? [];
    // Array.prototype.sort is stable (ES2019), as Go's sort.SliceStable.
    list.sort((a, b) => (b.priority ?? MIN_INT32) - (a.priority ?? MIN_INT32));
    out.push(...list);
  }
  return out;
}

/** JSON with object keys sorted, compact (protojson of a google.protobuf.Struct). */
export function structJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(structJson).join(",")}]`;
  if (value && typeof value === "object") {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${structJson((value as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

export interface EnvoyWasmPlugin {
  name: string;
  rootId: string;
  vmId: string;
  /** The plugin configuration bytes Envoy hands the plugin (the StringValue's text). */
  configuration: Uint8Array;
  /** vm_config.environment_variables.key_values (INLINE). */
  keyValues: Record<string, string>;
  /** vm_config.environment_variables.host_env_keys (HOST). */
  hostEnvKeys: string[];
  failurePolicy: "FAIL_CLOSED" | "FAIL_OPEN" | "FAIL_RELOAD";
}

const FAILURE_POLICY = { FAIL_CLOSE: "FAIL_CLOSED", FAIL_OPEN: "FAIL_OPEN", FAIL_RELOAD: "FAIL_RELOAD" } as const;

export function envoyPluginConfig(p: ExtensionPlugin): EnvoyWasmPlugin {
  const hasConfig = p.pluginConfig !== undefined && Object.keys(p.pluginConfig).length > 0;
  const keyValues: Record<string, string> = {};
  const hostEnvKeys: string[] = [];
  for (const e of p.env) {
    if (e.valueFrom === "HOST") hostEnvKeys.push(e.name);
    else keyValues[e.name] = e.value;
  }
  return {
    name: resourceName(p),
    rootId: p.pluginName,
    vmId: "",
    configuration: hasConfig ? new TextEncoder().encode(structJson(p.pluginConfig)) : new Uint8Array(0),
    keyValues,
    hostEnvKeys,
    failurePolicy: FAILURE_POLICY[p.failStrategy],
  };
}
