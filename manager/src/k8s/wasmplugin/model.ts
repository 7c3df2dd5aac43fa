/**
 * The WasmPlugin model the manager plans with: one `ExtensionPlugin` per validated WasmPlugin
 * (extensions.istio.io/v1alpha1, istio/api `extensions/v1alpha1/wasm.proto`) or Wasm
 * TrafficExtension (Istio >= 1.30, which istiod translates WasmPlugins into). Enum fields keep
 * the API's names; defaults are the API's (`phase` UNSPECIFIED_PHASE, `failStrategy`
 * FAIL_CLOSE, `imagePullPolicy` UNSPECIFIED_POLICY, `type` UNSPECIFIED_PLUGIN_TYPE, `mode`
 * UNDEFINED); an unset `priority` is null (istiod orders it after every set priority).
 */
export type PluginPhase = "UNSPECIFIED_PHASE" | "AUTHN" | "AUTHZ" | "STATS";
export type FailStrategy = "FAIL_CLOSE" | "FAIL_OPEN" | "FAIL_RELOAD";
export type PullPolicy = "UNSPECIFIED_POLICY" | "IfNotPresent" | "Always";
export type PluginType = "UNSPECIFIED_PLUGIN_TYPE" | "HTTP" | "NETWORK";
export type WorkloadMode = "UNDEFINED" | "CLIENT" | "SERVER" | "CLIENT_AND_SERVER";

export interface TrafficSelector {
  mode: WorkloadMode;
  ports: number[];
}

export interface EnvVar {
  name: string;
  valueFrom: "INLINE" | "HOST";
  value: string;
}

export interface PolicyTargetRef {
  group: string;
  kind: string;
  name: string;
}

export interface ExtensionPlugin {
  kind: "WasmPlugin" | "TrafficExtension";
  name: string;
  /** metadata.namespace, or the namespace the manifests are applied to when absent. */
  namespace: string;
  /** metadata.creationTimestamp in ms since the epoch (0 when absent). */
  createdAt: number;
  /** metadata.resourceVersion, or a digest of the spec when absent (the pull-policy key). */
  resourceVersion: string;
  url: string;
  sha256: string;
  imagePullPolicy: PullPolicy;
  imagePullSecret: string;
  /** spec.pluginConfig as given (a JSON object), or undefined. */
  pluginConfig?: Record<string, unknown>;
  pluginName: string;
  phase: PluginPhase;
  priority: number | null;
  failStrategy: FailStrategy;
  type: PluginType;
  env: EnvVar[];
  match: TrafficSelector[];
  /** spec.selector.matchLabels; undefined when there is no selector. */
  selector?: Record<string, string>;
  /** spec.targetRefs (with the deprecated targetRef merged in); empty for sidecar plugins. */
  targetRefs: PolicyTargetRef[];
  /** Where it was read from, for messages: `file:line:col`. */
  source: string;
}

/** istiod's resource name for the plugin (ECDS name, log prefix): `<namespace>.<name>`. */
export function resourceName(p: Pick<ExtensionPlugin, "namespace" | "name">): string {
  return `${p.namespace}.${p.name}`;
}

/** The Envoy filter name istiod gives it. */
export function envoyFilterName(p: Pick<ExtensionPlugin, "kind" | "namespace" | "name">): string {
  return `extensions.istio.io/${p.kind === "WasmPlugin" ? "wasmplugin" : "trafficextension"}/${resourceName(p)}`;
}
