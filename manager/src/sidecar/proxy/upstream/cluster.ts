/**
 * One upstream cluster at run time (Envoy ClusterImplBase + its thread-local view): the host
 * set and cross-priority host map, membership from STATIC endpoints or DNS (STRICT_DNS: every
 * address of every endpoint, re-resolved each dns_refresh_rate; LOGICAL_DNS: the first address
 * only), the load balancer, the override-host paths, one connection pool per host, circuit
 * breakers, active health checking and outlier detection. Membership gauges
 * (membership_total / membership_healthy) follow every change.
 */
import { lookup } from "node:dns/promises";
import type { Cluster as ClusterConfig } from "../../config/model.ts";
import type { HeaderMap } from "../../http/header-map.ts";
import type { SocketAddress } from "../../http/stream-info.ts";
import type { StatsStore } from "../../stats/types.ts";
import { defaultPriorityThresholds, ResourceManager } from "./circuit-breakers.ts";
import { ClusterStats } from "./cluster-stats.ts";
import { HealthChecker } from "./health-check.ts";
import { Host } from "./host.ts";
import { createLoadBalancer } from "./lb/create-load-balancer.ts";
import type { LoadBalancer } from "./lb/load-balancer.ts";
import { OverrideHostState, selectStatefulSessionHost, selectedHostsFromHeaders } from "./lb/override-host.ts";
import { OutlierDetector } from "./outlier-detection.ts";
import type { PoolContext } from "./pool/base-pool.ts";
import { H1Pool } from "./pool/h1-pool.ts";
import { H2Pool } from "./pool/h2-pool.ts";
import type { ConnPool } from "./pool/types.ts";
import type { Random } from "./random.ts";

export interface ClusterDeps {
  stats: StatsStore;
  random: Random;
  now: () => number;
  /** DNS resolution (tests may inject); default node:dns lookup with all: true. */
  resolve?: (hostname: string) => Promise<string[]>;
}

/** What the router keeps across attempts for host selection. */
export interface HostSelectionContext {
  requestHeaders?: HeaderMap;
  overrideHost?: { host: SocketAddress; strict: boolean };
  /** override_host policy state, created on first use. */
  overrideState?: OverrideHostState;
}

export type HostChoice = { host: Host } | { host: undefined; reason: "no_healthy_upstream" };

async function defaultResolve(hostname: string): Promise<string[]> {
  const all = await lookup(hostname, { all: true });
  return all.map((a) => a.address);
}

export class ClusterRuntime {
  readonly stats: ClusterStats;
  readonly resources: ResourceManager;
  private hostList: Host[] = [];
  readonly hostMap = new Map<string, Host>();
  private readonly lb: LoadBalancer;
  private readonly pools = new Map<Host, ConnPool>();
  readonly outlier?: OutlierDetector;
  private readonly hc?: HealthChecker;
  private dnsTimer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    readonly config: ClusterConfig,
    private readonly deps: ClusterDeps,
  ) {
    this.stats = new ClusterStats(deps.stats, config.name);
    this.stats.defineDefaults();
    this.resources = new ResourceManager(defaultPriorityThresholds(config.circuitBreakers));
    const policy = config.overrideHost ? config.overrideHost.fallback : config.lbPolicy;
    this.lb = createLoadBalancer(policy, { random: deps.random, onPanic: () => this.stats.inc("lb_healthy_panic") });
    if (config.outlierDetection) {
      this.outlier = new OutlierDetector(config.outlierDetection, {
        stats: this.stats,
        random: deps.random,
        now: deps.now,
        onChange: () => this.refresh(),
      });
    }
    const hcConfig = config.healthChecks[0];
    if (hcConfig) {
      this.hc = new HealthChecker(hcConfig, {
        stats: this.stats,
        clusterName: config.name,
        http2: config.upstreamProtocol === "HTTP2",
        hadTraffic: () => this.stats.counter("upstream_cx_total").value() > 0n,
        onChange: () => this.refresh(),
      });
    }
  }

  get name(): string {
    return this.config.name;
  }

  hosts(): readonly Host[] {
    return this.hostList;
  }

  async start(): Promise<void> {
    if (this.config.type === "STATIC") {
      this.setHosts(this.config.endpoints.map((e) => new Host({ address: e.address, port: e.port }, "", e.loadBalancingWeight, e.healthCheckPort)));
    } else {
      await this.resolveOnce();
      this.scheduleDns();
    }
    this.outlier?.start();
    if (this.hc) {
      this.hc.start(this.hostList);
      this.hcStarted = true;
      await this.hc.initialized;
    }
  }

  private scheduleDns(): void {
    if (this.stopped) return;
    this.dnsTimer = setTimeout(() => {
      void this.resolveOnce().finally(() => this.scheduleDns());
    }, this.config.dnsRefreshRateMs);
    this.dnsTimer.unref();
  }

  private async resolveOnce(): Promise<void> {
    const resolve = this.deps.resolve ?? defaultResolve;
    const next: Host[] = [];
    this.stats.inc("update_attempt");
    let failed = false;
    for (const e of this.config.endpoints) {
      let addresses: string[];
      try {
        addresses = await resolve(e.address);
      } catch {
        failed = true;
        continue;
      }
      if (this.config.type === "LOGICAL_DNS") addresses = addresses.slice(0, 1);
      for (const a of addresses) next.push(new Host({ address: a, port: e.port }, e.address, e.loadBalancingWeight, e.healthCheckPort));
      if (this.config.type === "LOGICAL_DNS") break;
    }
    if (this.stopped) return;
    if (failed && next.length === 0) {
      this.stats.inc("update_failure");
      return;
    }
    this.stats.inc("update_success");
    this.updateHosts(next);
  }

  private setHosts(hosts: Host[]): void {
    this.updateHosts(hosts);
  }

  /** Envoy's updateDynamicHostList: keep existing hosts (and their state), add new, drop gone. */
  private updateHosts(next: Host[]): void {
    const nextKeys = new Map(next.map((h) => [h.key, h]));
    const final: Host[] = [];
    const added: Host[] = [];
    for (const h of next) {
      const existing = this.hostMap.get(h.key);
      if (existing) {
        existing.weight = h.weight;
        final.push(existing);
      } else {
        if (this.hc) HealthChecker.markNew(h);
        final.push(h);
        added.push(h);
      }
    }
    const removed: Host[] = [];
    for (const h of this.hostList) {
      if (nextKeys.has(h.key)) continue;
      // With active health checking a removed host stays until it fails its checks.
      if (this.hc && !h.failedActiveHc) final.push(h);
      else removed.push(h);
    }
    const seen = new Set<string>();
    this.hostList = final.filter((h) => (seen.has(h.key) ? false : (seen.add(h.key), true)));
    this.hostMap.clear();
    for (const h of this.hostList) this.hostMap.set(h.key, h);
    for (const h of added) this.outlier?.addHost(h);
    for (const h of removed) {
      this.outlier?.removeHost(h);
      this.hc?.remove(h);
      this.pools.get(h)?.close();
      this.pools.delete(h);
    }
    if (this.hc && this.hcStarted) for (const h of added) this.hc.add(h);
    if (added.length > 0 || removed.length > 0) this.stats.inc("membership_change");
    this.refresh();
  }

  private hcStarted = false;

  /** Rebuilds the load balancer and membership gauges after membership or health changed. */
  refresh(): void {
    this.lb.refresh(this.hostList);
    this.stats.gauge("membership_total").set(this.hostList.length);
    this.stats.gauge("membership_healthy").set(this.hostList.filter((h) => h.healthy()).length);
  }

  chooseHost(ctx: HostSelectionContext): HostChoice {
    const session = selectStatefulSessionHost(ctx.overrideHost, this.hostMap, this.config.overrideHostStatuses);
    if (session.kind === "host") return { host: session.host };
    if (session.kind === "strict_miss") return { host: undefined, reason: "no_healthy_upstream" };
    if (this.config.overrideHost) {
      ctx.overrideState ??= new OverrideHostState(selectedHostsFromHeaders(ctx.requestHeaders, this.config.overrideHost.headers));
      if (!ctx.overrideState.empty) {
        const h = ctx.overrideState.choose(this.hostMap);
        if (h) return { host: h };
      }
    }
    const h = this.lb.chooseHost();
    if (!h) {
      this.stats.inc("upstream_cx_none_healthy");
      return { host: undefined, reason: "no_healthy_upstream" };
    }
    return { host: h };
  }

  pool(host: Host): ConnPool {
    let p = this.pools.get(host);
    if (!p) {
      const ctx: PoolContext = {
        host,
        stats: this.stats,
        resources: this.resources,
        connectTimeoutMs: this.config.connectTimeoutMs,
        maxConcurrentStreams: this.config.http2MaxConcurrentStreams,
        bufferLimit: this.config.perConnectionBufferLimitBytes,
      };
      p = this.config.upstreamProtocol === "HTTP2" ? new H2Pool(ctx) : new H1Pool(ctx);
      this.pools.set(host, p);
    }
    return p;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.dnsTimer);
    this.outlier?.stop();
    this.hc?.stop();
    for (const p of this.pools.values()) p.close();
    this.pools.clear();
  }
}
