/**
 * grpc-balancer configuration: the plugin configuration JSON (an Istio `pluginConfig`), read once
 * in onConfigure with the SDK's ConfigReader; every error names its field path
 * (`discovery.interval_ms: expected integer in [100, 3600000], got 5`). Every field is optional
 * (`{}` is a valid configuration); README.md documents each one. Durations are integers in ms.
 */
import { ConfigObject, ConfigReader } from "../../sdk/json";
import { parseGrpcPath } from "../../sdk/grpc";
import { addressBytes } from "./address";
import { CLASS_NAME_MAX, CLUSTER_NAME_MAX } from "./table";
import { hashBytes } from "./table";

/** Output mechanism: Istio's persistent-session header, or the override_host policy's header. */
export enum OutputMode { SessionHeader = 0, OverrideHost = 1 }
export const MODE_NAMES: Array<string> = ["SESSION_HEADER", "OVERRIDE_HOST"];

/** Discovery answer formats. */
export enum DiscoveryFormat { EnvoyAdmin = 0, Endpoints = 1 }
export const FORMAT_NAMES: Array<string> = ["ENVOY_ADMIN", "ENDPOINTS"];

export const DEFAULT_SESSION_HEADER = "x-meshwasm-endpoint";
export const DEFAULT_OVERRIDE_HEADER = "x-gateway-destination-endpoint";

const NS_PER_MS: f64 = 1e6;

export class StaticEndpoint {
  constructor(public cluster: string, public address: string) {}
}

export class DiscoveryConfig {
  /** Cluster the http_call goes to (Istio's bootstrap has `prometheus_stats` -> admin). */
  cluster: string = "";
  path: string = "/clusters?format=json";
  authority: string = "envoy-admin";
  format: DiscoveryFormat = DiscoveryFormat.EnvoyAdmin;
  intervalMs: u32 = 5000;
  timeoutMs: u32 = 2000;
  maxBodyBytes: u32 = 4 << 20;
}

export class Config {
  mode: OutputMode = OutputMode.SessionHeader;
  /** Request header written (lower-case). */
  header: string = DEFAULT_SESSION_HEADER;
  /** Clusters balanced; empty: every cluster the filter sees (up to maxClusters). */
  clusters: Array<string> = [];
  staticEndpoints: Array<StaticEndpoint> = [];
  discovery: DiscoveryConfig | null = null;
  /** Share of RPCs left to Envoy's own balancer. */
  exploreShare: f64 = 0.05;
  tauNs: f64 = 10_000 * NS_PER_MS;
  defaultRttNs: f64 = 30 * NS_PER_MS;
  penaltyNs: f64 = 5_000 * NS_PER_MS;
  maxPenaltyNs: f64 = 300_000 * NS_PER_MS;
  normalizeMethods: bool = true;
  maxMethodClasses: i32 = 16;
  streamingMethods: Array<string> = [];
  slowStartWindowNs: f64 = 3_000 * NS_PER_MS;
  slowStartAggression: f64 = 1.0;
  slowStartMinWeight: f64 = 0.1;
  orcaEnabled: bool = true;
  orcaBlend: f64 = 0.5;
  orcaBlackoutNs: f64 = 10_000 * NS_PER_MS;
  orcaExpirationNs: f64 = 180_000 * NS_PER_MS;
  errorUtilizationPenalty: f64 = 1.0;
  endpointTtlNs: u64 = 60_000 * 1_000_000;
  maxEndpoints: i32 = 64;
  maxClusters: i32 = 8;
  maxVms: i32 = 16;
  tickMs: u32 = 100;
  /** 0: seeded from the clock and the VM. */
  seed: u64 = 0;
  /** Bound on each labelled metric's series. */
  maxSeries: i32 = 256;
  /** A digest of the configuration text: VMs share state only with the same configuration. */
  fingerprint: u32 = 0;
}

const FIELDS: Array<string> = ["mode", "header", "clusters", "endpoints", "discovery", "explore_share", "decay_ms",
  "default_rtt_ms", "penalty_ms", "max_penalty_ms", "normalize_methods", "max_method_classes", "streaming_methods",
  "slow_start", "orca", "endpoint_ttl_ms", "max_endpoints", "max_clusters", "max_vms", "tick_ms", "seed", "max_series"];

/** Parses `bytes`; null when invalid, with every problem in `reader` (reader.summary()). */
export function parseConfig(bytes: ArrayBuffer, reader: ConfigReader): Config | null {
  const root = reader.readBytes(bytes);
  if (root === null) return null;
  root.unknownFields(FIELDS);
  const c = new Config();
  c.fingerprint = hashBytes(0, changetype<usize>(bytes), bytes.byteLength);
  c.mode = <OutputMode>root.optionalEnum("mode", MODE_NAMES, <i32>OutputMode.SessionHeader);
  c.header = root.optionalString("header", c.mode == OutputMode.OverrideHost ? DEFAULT_OVERRIDE_HEADER : DEFAULT_SESSION_HEADER);
  if (!isHeaderName(c.header)) root.fail("header", "expected a lower-case header name");
  readClusters(root, c);
  readEndpoints(root, c);
  readDiscovery(root, c);
  c.exploreShare = root.optionalF64("explore_share", c.exploreShare, 0, 1);
  c.tauNs = <f64>root.optionalInteger("decay_ms", 10_000, 1, 3_600_000) * NS_PER_MS;
  c.defaultRttNs = root.optionalF64("default_rtt_ms", 30, 0.001, 3_600_000) * NS_PER_MS;
  c.penaltyNs = <f64>root.optionalInteger("penalty_ms", 5_000, 0, 3_600_000) * NS_PER_MS;
  c.maxPenaltyNs = <f64>root.optionalInteger("max_penalty_ms", 300_000, 0, 3_600_000) * NS_PER_MS;
  if (c.penaltyNs > c.maxPenaltyNs) root.fail("penalty_ms", "must not exceed max_penalty_ms");
  c.normalizeMethods = root.optionalBool("normalize_methods", true);
  c.maxMethodClasses = <i32>root.optionalInteger("max_method_classes", 16, 1, 256);
  readStreamingMethods(root, c);
  readSlowStart(root, c);
  readOrca(root, c);
  c.endpointTtlNs = <u64>root.optionalInteger("endpoint_ttl_ms", 60_000, 1_000, 86_400_000) * 1_000_000;
  c.maxEndpoints = <i32>root.optionalInteger("max_endpoints", 64, 2, 1024);
  c.maxClusters = <i32>root.optionalInteger("max_clusters", 8, 1, 256);
  c.maxVms = <i32>root.optionalInteger("max_vms", 16, 1, 256);
  c.tickMs = <u32>root.optionalInteger("tick_ms", 100, 10, 60_000);
  c.seed = <u64>root.optionalInteger("seed", 0, 0, 9007199254740991);
  c.maxSeries = <i32>root.optionalInteger("max_series", 256, 1, 10_000);
  if (c.staticEndpoints.length > c.maxEndpoints) root.fail("endpoints", "more endpoints than max_endpoints");
  if (c.clusters.length > c.maxClusters) root.fail("clusters", "more clusters than max_clusters");
  return reader.ok() ? c : null;
}

function readClusters(root: ConfigObject, c: Config): void {
  const list = root.optionalArray("clusters");
  for (let i = 0; list !== null && i < list.length; i++) {
    const before = list.reader.errorCount();
    const name = list.string(i);
    if (list.reader.errorCount() != before) continue;
    if (String.UTF8.byteLength(name) > CLUSTER_NAME_MAX) list.fail(i, "longer than " + CLUSTER_NAME_MAX.toString() + " bytes");
    else c.clusters.push(name);
  }
}

function readEndpoints(root: ConfigObject, c: Config): void {
  const list = root.optionalArray("endpoints");
  for (let i = 0; list !== null && i < list.length; i++) {
    const o = list.object(i);
    if (o === null) continue;
    o.unknownFields(["cluster", "address"]);
    const cluster = o.optionalString("cluster", "");
    const before = o.reader.errorCount();
    const address = o.requiredString("address");
    if (o.reader.errorCount() != before) continue;
    if (addressBytes(address) === null) o.fail("address", "expected \"ip:port\" or \"[ipv6]:port\"");
    else if (String.UTF8.byteLength(cluster) > CLUSTER_NAME_MAX) o.fail("cluster", "longer than " + CLUSTER_NAME_MAX.toString() + " bytes");
    else c.staticEndpoints.push(new StaticEndpoint(cluster, address));
  }
}

function readDiscovery(root: ConfigObject, c: Config): void {
  const o = root.optionalObject("discovery");
  if (o === null) return;
  o.unknownFields(["cluster", "path", "authority", "format", "interval_ms", "timeout_ms", "max_body_bytes"]);
  const d = new DiscoveryConfig();
  d.cluster = o.requiredString("cluster");
  d.path = o.optionalString("path", d.path);
  if (!d.path.startsWith("/")) o.fail("path", "expected a path starting with \"/\"");
  d.authority = o.optionalString("authority", d.authority);
  d.format = <DiscoveryFormat>o.optionalEnum("format", FORMAT_NAMES, <i32>DiscoveryFormat.EnvoyAdmin);
  d.intervalMs = <u32>o.optionalInteger("interval_ms", 5000, 100, 3_600_000);
  d.timeoutMs = <u32>o.optionalInteger("timeout_ms", 2000, 10, 600_000);
  d.maxBodyBytes = <u32>o.optionalInteger("max_body_bytes", 4 << 20, 1024, 64 << 20);
  c.discovery = d;
}

function readStreamingMethods(root: ConfigObject, c: Config): void {
  const list = root.optionalArray("streaming_methods");
  for (let i = 0; list !== null && i < list.length; i++) {
    const before = list.reader.errorCount();
    const name = list.string(i);
    if (list.reader.errorCount() != before) continue;
    if (parseGrpcPath("/" + name) === null) list.fail(i, "expected \"package.Service/Method\"");
    else if (String.UTF8.byteLength(name) + 1 > CLASS_NAME_MAX) list.fail(i, "longer than " + (CLASS_NAME_MAX - 1).toString() + " bytes");
    else c.streamingMethods.push(name);
  }
  if (c.streamingMethods.length >= c.maxMethodClasses && c.normalizeMethods) {
    root.fail("streaming_methods", "more methods than max_method_classes - 1");
  }
}

function readSlowStart(root: ConfigObject, c: Config): void {
  const o = root.optionalObject("slow_start");
  if (o === null) return;
  o.unknownFields(["window_ms", "aggression", "min_weight"]);
  c.slowStartWindowNs = <f64>o.optionalInteger("window_ms", 3_000, 0, 3_600_000) * NS_PER_MS;
  c.slowStartAggression = o.optionalF64("aggression", 1.0, 0.01, 100);
  c.slowStartMinWeight = o.optionalF64("min_weight", 0.1, 0.001, 1.0);
}

function readOrca(root: ConfigObject, c: Config): void {
  const o = root.optionalObject("orca");
  if (o === null) return;
  o.unknownFields(["enabled", "blend", "blackout_ms", "expiration_ms", "error_utilization_penalty"]);
  c.orcaEnabled = o.optionalBool("enabled", true);
  c.orcaBlend = o.optionalF64("blend", 0.5, 0, 1);
  c.orcaBlackoutNs = <f64>o.optionalInteger("blackout_ms", 10_000, 0, 3_600_000) * NS_PER_MS;
  c.orcaExpirationNs = <f64>o.optionalInteger("expiration_ms", 180_000, 1_000, 86_400_000) * NS_PER_MS;
  c.errorUtilizationPenalty = o.optionalF64("error_utilization_penalty", 1.0, 0, 1000);
}

/** A lower-case RFC 9110 token (no pseudo-headers). */
function isHeaderName(s: string): bool {
  if (s.length == 0) return false;
  for (let i = 0, n = s.length; i < n; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39)) continue;
    if ("!#$%&'*+-.^_`|~".indexOf(String.fromCharCode(c)) < 0) return false;
  }
  return true;
}
