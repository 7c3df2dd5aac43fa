/**
 * The meshwasm deployment file (`meshwasm.yaml`): which filters go to which workloads of which
 * namespace, with which images, placement, configuration, rollout waves and health gate. Read as
 * kubectl reads YAML (YAML 1.1), every field checked; a mistake is one line
 * `file:line:col: field.path: what is wrong`. Relative file names are resolved against the
 * deployment file's folder. Pure: the caller hands in the text (load.ts reads files).
 *
 * ```yaml
 * apiVersion: meshwasm/v1alpha1
 * kind: PluginDeployment
 * namespace: payments
 * istioVersion: "1.28"              # default: the newest vendored CRD release
 * resourceKind: WasmPlugin          # or TrafficExtension (Istio >= 1.30)
 * selector: { app: checkout }       # or targetRefs: [...]
 * imagePullSecret: registry-creds
 * plugins:
 *   - filter: grpc-auth
 *     image: registry.example.com/meshwasm/grpc-auth:0.3.1
 *     policy: policies/checkout.yaml
 *   - filter: grpc-metrics
 *     image: registry.example.com/meshwasm/grpc-metrics@sha256:…
 *     config: metrics.json          # or pluginConfig: {…}
 * rollout:
 *   waves: [{ name: canary, workloads: [checkout-canary] }, { name: quarter, percent: 25 }, { name: all, percent: 100 }]
 *   gate: { prometheus: http://prometheus.istio-system:9090, bake: 2m, maxErrorRatio: 0.01 }
 * ```
 */
import path from "node:path";
import { UserError } from "../../errors.ts";
import { parseIstioVersion, vendoredReleases, type IstioVersion } from "../istio/versions.ts";
import type { EnvVar, FailStrategy, PluginPhase, PluginType, PolicyTargetRef, PullPolicy, TrafficSelector } from "../wasmplugin/model.ts";
import { ManifestError, parseManifests, type FieldPath } from "../wasmplugin/yaml-source.ts";
import { FieldReader } from "./fields.ts";

export const CONFIG_API_VERSION = "meshwasm/v1alpha1";
export const CONFIG_KIND = "PluginDeployment";
export type ResourceKind = "WasmPlugin" | "TrafficExtension";

export interface PluginEntry {
  /** Index in `plugins`. */
  index: number;
  /** The logical plugin name (default: the filter name): WasmPlugin name and history key. */
  name: string;
  filter: string;
  /** `REPO[:TAG][@sha256:DIGEST]`, with or without `oci://`. */
  image: string;
  /** Where the image was given: `file:line:col: plugins[i].image`, or `--image NAME`. */
  imageWhere: string;
  /** Absolute path of a grpc-auth policy (GrpcAuthPolicy YAML or gRFC A43 JSON). */
  policyFile?: string;
  /** Absolute path of a JSON or YAML configuration file. */
  configFile?: string;
  pluginConfig?: Record<string, unknown>;
  phase?: PluginPhase;
  priority?: number;
  failStrategy?: FailStrategy;
  type?: PluginType;
  pluginName?: string;
  match?: TrafficSelector[];
  env?: EnvVar[];
  selector?: Record<string, string>;
  targetRefs?: PolicyTargetRef[];
  imagePullPolicy?: PullPolicy;
  imagePullSecret?: string;
  /** `file:line:col` of the entry. */
  where: string;
}

export interface WaveSpec {
  name: string;
  /** Workloads named explicitly (Deployment, StatefulSet or DaemonSet names). */
  workloads?: string[];
  /** Cumulative share of the target workloads reached at the end of this wave. */
  percent?: number;
}

export interface GateConfig {
  prometheus: string;
  /** How long traffic is observed after a wave before it is judged. */
  bakeMs: number;
  /** Largest accepted share of server-error RPCs (OpenTelemetry's server error codes). */
  maxErrorRatio: number;
  /** Largest accepted p99 latency in milliseconds, when set. */
  maxLatencyP99Ms?: number;
  /** RPCs the wave's workloads must serve during the bake for a verdict; fewer fails the gate. */
  minRequests: number;
  /** Target labels Prometheus puts on sidecar series (kubernetes-pods job: namespace, pod). */
  namespaceLabel: string;
  podLabel: string;
}

export interface RolloutConfig {
  waves: WaveSpec[];
  gate?: GateConfig;
  /** Revisions kept per plugin (default 10). */
  historyLimit: number;
}

export interface DeployConfig {
  file: string;
  dir: string;
  namespace: string;
  istioVersion: IstioVersion;
  kind: ResourceKind;
  selector?: Record<string, string>;
  targetRefs?: PolicyTargetRef[];
  imagePullSecret?: string;
  imagePullPolicy?: PullPolicy;
  plugins: PluginEntry[];
  rollout?: RolloutConfig;
}

const TOP_KEYS = ["apiVersion", "kind", "namespace", "istioVersion", "resourceKind", "selector", "targetRefs", "imagePullSecret", "imagePullPolicy", "plugins", "rollout"];
const PLUGIN_KEYS = ["name", "filter", "image", "policy", "config", "pluginConfig", "phase", "priority", "failStrategy", "type", "pluginName", "match", "env",
  "selector", "targetRefs", "imagePullPolicy", "imagePullSecret"];
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const PHASES: readonly PluginPhase[] = ["UNSPECIFIED_PHASE", "AUTHN", "AUTHZ", "STATS"];
const STRATEGIES: readonly FailStrategy[] = ["FAIL_CLOSE", "FAIL_OPEN", "FAIL_RELOAD"];
const PULL: readonly PullPolicy[] = ["UNSPECIFIED_POLICY", "IfNotPresent", "Always"];
const TYPES: readonly PluginType[] = ["UNSPECIFIED_PLUGIN_TYPE", "HTTP", "NETWORK"];
const MODES: readonly TrafficSelector["mode"][] = ["UNDEFINED", "CLIENT", "SERVER", "CLIENT_AND_SERVER"];
export const DEFAULT_HISTORY_LIMIT = 10;
/** Longest plugin name: leaves room for `-<workload>` and `meshwasm-history-`. */
export const MAX_PLUGIN_NAME = 40;

/** The newest vendored Istio release (the default target). */
export function defaultIstioVersion(): string {
  const releases = vendoredReleases();
  return /^v(1\.\d+)\./.exec(releases[releases.length - 1]!)![1]!;
}

export function readDeployConfig(text: string, file: string, overrides: { namespace?: string; istioVersion?: string; kind?: ResourceKind } = {}): DeployConfig {
  let docs;
  try {
    docs = parseManifests(text, file);
  } catch (e) {
    if (e instanceof ManifestError) throw new UserError(e.message, { cause: e });
    throw e;
  }
  if (docs.length !== 1) throw new UserError(`${file}: expected one YAML document, found ${docs.length}`);
  const r = new FieldReader(docs[0]!);
  r.object([], true);
  r.keys([], TOP_KEYS);
  if (r.get(["apiVersion"]) !== CONFIG_API_VERSION) r.fail(["apiVersion"], `expected ${JSON.stringify(CONFIG_API_VERSION)}`);
  if (r.get(["kind"]) !== CONFIG_KIND) r.fail(["kind"], `expected ${JSON.stringify(CONFIG_KIND)}`);
  const dir = path.dirname(path.resolve(file));
  const namespace = overrides.namespace ?? r.string(["namespace"], { required: true, pattern: DNS_LABEL, patternText: "a namespace name (RFC 1123 label)" })!;
  if (!DNS_LABEL.test(namespace) || namespace.length > 63) throw new UserError(`--namespace: ${JSON.stringify(namespace)} is not a valid namespace name`);
  const versionText = overrides.istioVersion ?? (r.get(["istioVersion"]) === undefined ? defaultIstioVersion() : String(r.get(["istioVersion"])));
  const istioVersion: IstioVersion = parseIstioVersion(versionText, overrides.istioVersion ? "--istio-version" : `${r.where(["istioVersion"])}: istioVersion`);
  const kind = overrides.kind ?? r.enumOf(["resourceKind"], ["WasmPlugin", "TrafficExtension"] as const) ?? "WasmPlugin";
  const selector = r.stringMap(["selector"]);
  const targetRefs = readTargetRefs(r, ["targetRefs"]);
  const list = r.list(["plugins"], true)!;
  if (list.length === 0) r.fail(["plugins"], "at least one plugin is required");
  const plugins = list.map((_, i) => readPlugin(r, i, dir));
  const seen = new Map<string, number>();
  for (const p of plugins) {
    const first = seen.get(p.name);
    if (first !== undefined) r.fail(["plugins", p.index, "name"], `plugin name ${JSON.stringify(p.name)} is already used by plugins[${first}]`);
    seen.set(p.name, p.index);
  }
  return {
    file,
    dir,
    namespace,
    istioVersion,
    kind,
    ...(selector ? { selector } : {}),
    ...(targetRefs ? { targetRefs } : {}),
    ...opt("imagePullSecret", r.string(["imagePullSecret"])),
    ...opt("imagePullPolicy", r.enumOf(["imagePullPolicy"], PULL)),
    plugins,
    ...opt("rollout", readRollout(r)),
  };
}

function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function readTargetRefs(r: FieldReader, at: FieldPath): PolicyTargetRef[] | undefined {
  const list = r.list(at);
  if (!list) return undefined;
  return list.map((_, i) => {
    r.object([...at, i], true);
    r.keys([...at, i], ["group", "kind", "name"]);
    return { group: r.string([...at, i, "group"]) ?? "", kind: r.string([...at, i, "kind"], { required: true })!, name: r.string([...at, i, "name"], { required: true })! };
  });
}

function readPlugin(r: FieldReader, i: number, dir: string): PluginEntry {
  const at: FieldPath = ["plugins", i];
  r.object(at, true);
  r.keys(at, PLUGIN_KEYS);
  const filter = r.string([...at, "filter"], { required: true, pattern: DNS_LABEL, patternText: "a filter name (lower-case letters, digits and '-')" })!;
  const name = r.string([...at, "name"], { pattern: DNS_LABEL, patternText: "a plugin name (lower-case letters, digits and '-')" }) ?? filter;
  if (name.length > MAX_PLUGIN_NAME) r.fail([...at, r.get([...at, "name"]) === undefined ? "filter" : "name"], `plugin name ${JSON.stringify(name)} is longer than ${MAX_PLUGIN_NAME} characters`);
  const image = r.string([...at, "image"], { required: true })!;
  const sources = ["policy", "config", "pluginConfig"].filter((k) => r.get([...at, k]) !== undefined);
  if (sources.length > 1) r.fail([...at, sources[1]!], `only one of policy, config and pluginConfig may be set (also ${sources[0]})`, true);
  const policy = r.string([...at, "policy"]);
  if (policy !== undefined && filter !== "grpc-auth") r.fail([...at, "policy"], `a policy is compiled for the grpc-auth filter only; use config or pluginConfig for ${filter}`, true);
  const config = r.string([...at, "config"]);
  const pluginConfig = r.object([...at, "pluginConfig"]);
  const matchList = r.list([...at, "match"]);
  const match = matchList?.map((_, j) => {
    const m: FieldPath = [...at, "match", j];
    r.object(m, true);
    r.keys(m, ["mode", "ports"]);
    const ports = (r.list([...m, "ports"]) ?? []).map((__, k) => r.integer([...m, "ports", k], 1, 65535) ?? r.fail([...m, "ports", k], "Required value"));
    return { mode: r.enumOf([...m, "mode"], MODES) ?? "UNDEFINED", ports };
  });
  const envList = r.list([...at, "env"]);
  const env = envList?.map((_, j) => {
    const e: FieldPath = [...at, "env", j];
    r.object(e, true);
    r.keys(e, ["name", "valueFrom", "value"]);
    return { name: r.string([...e, "name"], { required: true })!, valueFrom: r.enumOf([...e, "valueFrom"], ["INLINE", "HOST"] as const) ?? "INLINE", value: r.string([...e, "value"]) ?? "" };
  });
  return {
    index: i,
    name,
    filter,
    image,
    imageWhere: `${r.where([...at, "image"])}: plugins[${i}].image`,
    ...opt("policyFile", policy === undefined ? undefined : path.resolve(dir, policy)),
    ...opt("configFile", config === undefined ? undefined : path.resolve(dir, config)),
    ...opt("pluginConfig", pluginConfig),
    ...opt("phase", r.enumOf([...at, "phase"], PHASES)),
    ...opt("priority", r.integer([...at, "priority"], -(2 ** 31), 2 ** 31 - 1)),
    ...opt("failStrategy", r.enumOf([...at, "failStrategy"], STRATEGIES)),
    ...opt("type", r.enumOf([...at, "type"], TYPES)),
    ...opt("pluginName", r.string([...at, "pluginName"])),
    ...opt("match", match),
    ...opt("env", env),
    ...opt("selector", r.stringMap([...at, "selector"])),
    ...opt("targetRefs", readTargetRefs(r, [...at, "targetRefs"])),
    ...opt("imagePullPolicy", r.enumOf([...at, "imagePullPolicy"], PULL)),
    ...opt("imagePullSecret", r.string([...at, "imagePullSecret"])),
    where: r.where(at),
  };
}

function readRollout(r: FieldReader): RolloutConfig | undefined {
  const at: FieldPath = ["rollout"];
  if (!r.object(at)) return undefined;
  r.keys(at, ["waves", "gate", "historyLimit"]);
  const waves = (r.list([...at, "waves"]) ?? []).map((_, i): WaveSpec => {
    const w: FieldPath = [...at, "waves", i];
    r.object(w, true);
    r.keys(w, ["name", "workloads", "percent"]);
    const name = r.string([...w, "name"], { pattern: DNS_LABEL, patternText: "a wave name (lower-case letters, digits and '-')" }) ?? `wave-${i + 1}`;
    const workloads = r.list([...w, "workloads"])?.map((__, k) => r.string([...w, "workloads", k], { required: true, pattern: DNS_LABEL, patternText: "a workload name" })!);
    const percent = r.number([...w, "percent"], 1, 100);
    if ((workloads === undefined) === (percent === undefined)) r.fail(w, "a wave names its workloads or gives a percent (exactly one of them)");
    return { name, ...opt("workloads", workloads), ...opt("percent", percent) };
  });
  waves.forEach((w, i) => {
    const earlier = waves.slice(0, i).map((x) => x.percent ?? 0);
    if (w.percent !== undefined && earlier.some((p) => p >= w.percent!)) r.fail([...at, "waves", i, "percent"], `percent must grow from wave to wave (an earlier wave already reaches ${Math.max(...earlier)}%)`);
    if (waves.findIndex((x) => x.name === w.name) !== i) r.fail([...at, "waves", i, "name"], `wave name ${JSON.stringify(w.name)} is used twice`);
  });
  if (waves.length > 0) {
    const last = waves[waves.length - 1]!;
    if (last.percent !== 100) r.fail([...at, "waves", waves.length - 1], "the last wave must reach every workload (percent: 100)");
  }
  let gate: GateConfig | undefined;
  const g: FieldPath = [...at, "gate"];
  if (r.object(g)) {
    r.keys(g, ["prometheus", "bake", "maxErrorRatio", "maxLatencyP99Ms", "minRequests", "namespaceLabel", "podLabel"]);
    const prometheus = r.string([...g, "prometheus"], { required: true, pattern: /^https?:\/\/[^\s/]+/, patternText: "an http(s):// URL" })!;
    gate = {
      prometheus: prometheus.replace(/\/+$/, ""),
      bakeMs: r.duration([...g, "bake"], 1000, 3_600_000) ?? 120_000,
      maxErrorRatio: r.number([...g, "maxErrorRatio"], 0, 1) ?? 0.01,
      ...opt("maxLatencyP99Ms", r.number([...g, "maxLatencyP99Ms"], 0, 3_600_000)),
      minRequests: r.integer([...g, "minRequests"], 0, 1e9) ?? 1,
      namespaceLabel: r.string([...g, "namespaceLabel"]) ?? "namespace",
      podLabel: r.string([...g, "podLabel"]) ?? "pod",
    };
  }
  return { waves, ...opt("gate", gate), historyLimit: r.integer([...at, "historyLimit"], 1, 100) ?? DEFAULT_HISTORY_LIMIT };
}
