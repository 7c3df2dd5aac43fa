/**
 * Deployment file + resolved images + compiled configurations -> WasmPlugin (or Wasm
 * TrafficExtension) objects, pure and deterministic: the same inputs always give the same
 * objects, in the same key order (output.ts writes them), with no server-set fields
 * (no status, resourceVersion, uid, timestamps), so the output fits GitOps (kubectl apply -f,
 * Argo CD, Flux) and diffs only when something changed.
 *
 * Each plugin gets `url: oci://<registry>/<repository>@sha256:<manifest digest>` and the same
 * digest in `sha256` (istio-agent compares it with the manifest digest before pulling any
 * layer), its placement (filter-defaults.ts unless the file says otherwise), its targeting (the
 * plugin's own selector or targetRefs, else the file's), and `pluginConfig` as compiled. Labels
 * name the manager, filter and plugin; annotations the image version and the digest of the
 * configuration, for `status`. TrafficExtension (Istio >= 1.30) nests the module fields under
 * `wasm` and calls the unspecified phase `UNSPECIFIED`.
 */
import { createHash } from "node:crypto";
import { structJson } from "../wasmplugin/plan.ts";
import type { DeployConfig, PluginEntry, ResourceKind } from "./config.ts";
import { filterDefaults } from "./filter-defaults.ts";

export const GROUP_VERSION = "extensions.istio.io/v1alpha1";
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGER = "meshwasm";
export const FILTER_LABEL = "app.kubernetes.io/name";
export const PLUGIN_LABEL = "meshwasm.io/plugin";
export const WORKLOAD_LABEL = "meshwasm.io/workload";
export const VERSION_ANNOTATION = "meshwasm.io/version";
export const CONFIG_ANNOTATION = "meshwasm.io/config-sha256";
export const REVISION_ANNOTATION = "meshwasm.io/revision";

export interface ResolvedImage {
  /** `registry/repository` without tag or digest. */
  repository: string;
  /** Manifest digest, hex. */
  digest: string;
  /** org.opencontainers.image.version of the image, when it has one. */
  version?: string;
}

export interface PluginInputs {
  image: ResolvedImage;
  /** The compiled pluginConfig (a JSON object), or undefined for none. */
  pluginConfig?: Record<string, unknown>;
}

export interface ExtensionObject {
  apiVersion: string;
  kind: ResourceKind;
  metadata: { name: string; namespace: string; labels: Record<string, string>; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
}

export interface RenderedPlugin {
  entry: PluginEntry;
  object: ExtensionObject;
  filter: string;
  version?: string;
  digest: string;
  /** sha256 of the configuration bytes Envoy hands the plugin ("" when there is none). */
  configSha256: string;
}

/** Keys of a JSON value sorted at every level (a Struct has no order; this fixes one). */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = sortKeys((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

/** sha256 of the configuration as Envoy receives it (istiod's JSON of the Struct). */
export function configDigest(pluginConfig: Record<string, unknown> | undefined): string {
  if (pluginConfig === undefined || Object.keys(pluginConfig).length === 0) return "";
  return createHash("sha256").update(structJson(pluginConfig)).digest("hex");
}

function targeting(config: DeployConfig, entry: PluginEntry): Record<string, unknown> {
  if (entry.selector !== undefined || entry.targetRefs !== undefined) {
    return {
      ...(entry.selector !== undefined ? { selector: { matchLabels: sortKeys(entry.selector) } } : {}),
      ...(entry.targetRefs !== undefined ? { targetRefs: entry.targetRefs.map(targetRef) } : {}),
    };
  }
  return {
    ...(config.selector !== undefined ? { selector: { matchLabels: sortKeys(config.selector) } } : {}),
    ...(config.targetRefs !== undefined ? { targetRefs: config.targetRefs.map(targetRef) } : {}),
  };
}

function targetRef(r: { group: string; kind: string; name: string }): Record<string, string> {
  return { ...(r.group ? { group: r.group } : {}), kind: r.kind, name: r.name };
}

export function renderPlugin(config: DeployConfig, entry: PluginEntry, inputs: PluginInputs): RenderedPlugin {
  const defaults = filterDefaults(entry.filter, config.istioVersion);
  const phase = entry.phase ?? defaults.phase;
  const priority = entry.priority ?? defaults.priority;
  const failStrategy = entry.failStrategy ?? defaults.failStrategy;
  const pullPolicy = entry.imagePullPolicy ?? config.imagePullPolicy;
  const pullSecret = entry.imagePullSecret ?? config.imagePullSecret;
  const url = `oci://${inputs.image.repository}@sha256:${inputs.image.digest}`;
  const module: Record<string, unknown> = {
    url,
    sha256: inputs.image.digest,
    ...(pullPolicy ? { imagePullPolicy: pullPolicy } : {}),
    ...(pullSecret ? { imagePullSecret: pullSecret } : {}),
    ...(entry.pluginName ? { pluginName: entry.pluginName } : {}),
    failStrategy,
    ...(entry.type ? { type: entry.type } : {}),
    ...(entry.env?.length ? { vmConfig: { env: entry.env.map((e) => ({ name: e.name, valueFrom: e.valueFrom, ...(e.valueFrom === "INLINE" ? { value: e.value } : {}) })) } } : {}),
    ...(inputs.pluginConfig !== undefined ? { pluginConfig: sortKeys(inputs.pluginConfig) } : {}),
  };
  const match = entry.match?.length ? { match: entry.match.map((m) => ({ mode: m.mode, ...(m.ports.length ? { ports: m.ports.map((n) => ({ number: n })) } : {}) })) } : {};
  const spec: Record<string, unknown> =
    config.kind === "WasmPlugin"
      ? { ...targeting(config, entry), ...pick(module, ["url", "sha256", "imagePullPolicy", "imagePullSecret", "pluginName"]), phase, ...(priority !== undefined ? { priority } : {}), ...pick(module, ["failStrategy", "type"]), ...match, ...pick(module, ["vmConfig", "pluginConfig"]) }
      : { ...targeting(config, entry), phase: phase === "UNSPECIFIED_PHASE" ? "UNSPECIFIED" : phase, ...(priority !== undefined ? { priority } : {}), ...match, wasm: module };
  const configSha256 = configDigest(inputs.pluginConfig);
  const annotations: Record<string, string> = {
    ...(configSha256 ? { [CONFIG_ANNOTATION]: configSha256 } : {}),
    ...(inputs.image.version ? { [VERSION_ANNOTATION]: inputs.image.version } : {}),
  };
  return {
    entry,
    object: {
      apiVersion: GROUP_VERSION,
      kind: config.kind,
      metadata: {
        name: entry.name,
        namespace: config.namespace,
        labels: { [FILTER_LABEL]: entry.filter, [MANAGED_BY_LABEL]: MANAGER, [PLUGIN_LABEL]: entry.name },
        ...(Object.keys(annotations).length ? { annotations } : {}),
      },
      spec,
    },
    filter: entry.filter,
    ...(inputs.image.version ? { version: inputs.image.version } : {}),
    digest: inputs.image.digest,
    configSha256,
  };
}

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/** Every plugin of the file, ordered by name (stable output). */
export function renderAll(config: DeployConfig, inputs: Map<string, PluginInputs>): RenderedPlugin[] {
  return config.plugins
    .map((entry) => renderPlugin(config, entry, inputs.get(entry.name)!))
    .sort((a, b) => (a.object.metadata.name < b.object.metadata.name ? -1 : 1));
}
