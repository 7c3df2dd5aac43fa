/**
 * grpc-balancer: performance-aware per-RPC backend selection (README.md). Wiring: the root parses
 * the configuration once (config.ts; a bad one is rejected with one log line naming the field),
 * builds the VM's endpoint view (endpoints.ts) and the fold into shared data (shared.ts), defines
 * the metrics (stats.ts), folds on every tick, runs the discovery http_call when it holds the
 * lease, and creates one BalancedStream (filter.ts) per HTTP stream.
 */
import { RootContext, HttpContextBase, registerRootContext } from "../../sdk/context";
import { BufferType, MapType } from "../../sdk/abi/imports";
import { getBuffer, getBufferBytes, getCurrentTimeNanoseconds, getHeaderMapValue, getPropertyString, httpCall,
         incrementMetric, logDebug, logError, logInfo, logWarn } from "../../sdk/hostcalls";
import { HeaderPair } from "../../sdk/pairs";
import { ConfigReader } from "../../sdk/json";
import { Config, DiscoveryFormat, MODE_NAMES, parseConfig } from "./config";
import { discoveryError, parseEndpointsAnswer, parseEnvoyAdmin, DiscoveryResult } from "./discovery";
import { Balancer } from "./endpoints";
import { BalancedStream } from "./filter";
import { FoldOutcome, Folder, nextVmId } from "./shared";
import { Stats } from "./stats";
export * from "../../sdk/abi/exports";

export class BalancerRoot extends RootContext {
  config: Config | null = null;
  balancer: Balancer | null = null;
  stats: Stats | null = null;
  /** The request header written (the session or override header), UTF-8. */
  headerKey: ArrayBuffer = new ArrayBuffer(0);
  private folder: Folder | null = null;
  private readonly outcome: FoldOutcome = new FoldOutcome();
  private prefix: string = "grpc-balancer: ";
  /** Shared-data key of the table: plugin name and configuration digest. */
  private key: string = "";
  private discoveryToken: u32 = 0;

  onConfigure(configSize: u32): bool {
    const name = getPropertyString(["plugin_name"]);
    const pluginName = name === null || name.length == 0 ? "grpc-balancer" : name;
    this.prefix = pluginName + ": ";
    const bytes = getBuffer(BufferType.PluginConfiguration, configSize);
    const reader = new ConfigReader();
    const cfg = parseConfig(bytes === null ? new ArrayBuffer(0) : bytes, reader);
    if (cfg === null) {
      logError(this.prefix + "invalid configuration: " + reader.summary());
      return false;
    }
    this.key = "grpc_balancer/" + pluginName + "/" + (<u64>cfg.fingerprint).toString(16);
    const now = getCurrentTimeNanoseconds();
    const b = new Balancer(cfg, cfg.seed != 0 ? cfg.seed : now ^ 0x5bd1e995);
    const stats = new Stats(cfg.maxEndpoints, cfg.maxClusters, cfg.maxSeries);
    if (!stats.define()) logWarn(this.prefix + "the host refused to define a metric");
    this.config = cfg;
    this.balancer = b;
    this.stats = stats;
    this.headerKey = String.UTF8.encode(cfg.header);
    // No shared data or calls here: Envoy runs onConfigure on a canary VM it then discards. The
    // VM joins the shared table at its first tick.
    this.setTickPeriod(cfg.tickMs);
    logInfo(this.prefix + "configured: mode " + MODE_NAMES[<i32>cfg.mode] + ", header " + cfg.header + ", explore " +
      cfg.exploreShare.toString() + ", " + cfg.staticEndpoints.length.toString() + " static endpoint(s)" +
      (cfg.discovery === null ? "" : ", discovery through " + cfg.discovery!.cluster));
    return true;
  }

  onTick(): void { this.tick(getCurrentTimeNanoseconds()); }

  private tick(now: u64): void {
    const b = this.balancer;
    const stats = this.stats;
    if (b === null || stats === null) return;
    let folder = this.folder;
    if (folder === null) {
      const vmId = nextVmId(this.key + "/vm", now);
      b.rng.mix(vmId); // VMs with the same seed draw different sequences
      folder = new Folder(b, this.key, vmId);
      this.folder = folder;
    }
    const out = this.outcome;
    folder.fold(now, out);
    if (out.conflicts > 0) incrementMetric(stats.foldConflicts, out.conflicts);
    if (!out.ok) { logDebug(this.prefix + "fold did not complete; retrying at the next tick"); return; }
    stats.publish(b, now);
    if (out.discover) this.discover();
  }

  /** Starts the discovery http_call (this VM holds the lease for this interval). */
  private discover(): void {
    const cfg = this.config!;
    const d = cfg.discovery;
    if (d === null || this.discoveryToken != 0) return;
    const headers = [new HeaderPair(":method", "GET"), new HeaderPair(":path", d.path), new HeaderPair(":authority", d.authority)];
    const token = httpCall(d.cluster, headers, null, [], d.timeoutMs);
    if (token == 0) {
      incrementMetric(this.stats!.discoveryError, 1);
      logWarn(this.prefix + "discovery: the host refused the call to cluster " + d.cluster);
      return;
    }
    this.discoveryToken = token;
  }

  onHttpCallResponse(token: u32, numHeaders: u32, bodySize: u32, numTrailers: u32): void {
    if (token != this.discoveryToken) return;
    this.discoveryToken = 0;
    const cfg = this.config!;
    const d = cfg.discovery!;
    const stats = this.stats!;
    const status: string | null = numHeaders == 0 ? null : getHeaderMapValue(MapType.HttpCallResponseHeaders, ":status");
    if (status === null || status != "200") {
      incrementMetric(stats.discoveryError, 1);
      logWarn(this.prefix + "discovery: " + (status === null ? "the call failed" : "status " + status) + " from cluster " + d.cluster);
      return;
    }
    if (bodySize > d.maxBodyBytes) {
      incrementMetric(stats.discoveryError, 1);
      logWarn(this.prefix + "discovery: answer of " + bodySize.toString() + " bytes exceeds max_body_bytes");
      return;
    }
    const body = getBufferBytes(BufferType.HttpCallResponseBody, 0, bodySize);
    const bytes = body === null ? new ArrayBuffer(0) : body;
    const result: DiscoveryResult | null = d.format == DiscoveryFormat.Endpoints
      ? parseEndpointsAnswer(bytes)
      : parseEnvoyAdmin(bytes, this.knownClusters());
    if (result === null) {
      incrementMetric(stats.discoveryError, 1);
      logWarn(this.prefix + "discovery: " + discoveryError());
      return;
    }
    incrementMetric(stats.discoveryOk, 1);
    this.folder!.discovered = result;
  }

  /** Names of the clusters in the table and in the allowlist. */
  private knownClusters(): Array<string> {
    const b = this.balancer!;
    const out = new Array<string>();
    const t = b.local;
    for (let k = 0; k < b.dims.clusters; k++) {
      if (t.clusterUsed(k)) out.push(String.UTF8.decodeUnsafe(t.clusterNamePtr(k), <usize>t.clusterNameLen(k)));
    }
    const allow = this.config!.clusters;
    for (let i = 0; i < allow.length; i++) if (!out.includes(allow[i])) out.push(allow[i]);
    return out;
  }

  createHttpContext(contextId: u32): HttpContextBase | null {
    return this.balancer === null ? null : new BalancedStream(contextId, this);
  }
}

registerRootContext((contextId: u32): RootContext => new BalancerRoot(contextId));
