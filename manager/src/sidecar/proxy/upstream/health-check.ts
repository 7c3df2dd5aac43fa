/**
 * Active health checking for one cluster, as Envoy's HealthCheckerImplBase
 * (source/common/upstream/health_checker_base_impl.cc):
 *
 * - Hosts start with FAILED_ACTIVE_HC (Envoy initializes hosts of a health-checked cluster as
 *   unhealthy); the first check runs at once, and the cluster finishes initializing when every
 *   initial host has had one result.
 * - Success: the first result ever, or `healthy_threshold` consecutive successes, clears
 *   FAILED_ACTIVE_HC. Failure: an ACTIVE failure (NOT_SERVING, non-200, grpc-status != 0)
 *   sets it at once; a NETWORK failure (timeout, connect error, reset) after
 *   `unhealthy_threshold` consecutive ones.
 * - Next check after `no_traffic_interval` while the cluster never opened a data-plane
 *   connection, else `interval` (healthy) / `unhealthy_interval`, or the edge intervals
 *   while a transition is pending.
 * - Stats: health_check.attempt / success / failure / network_failure, gauge healthy.
 */
import type { HealthCheckConfig } from "../../config/model.ts";
import type { ClusterStats } from "./cluster-stats.ts";
import type { Host } from "./host.ts";
import { HealthProbeClient, type ProbeResult } from "./health-probe.ts";

export interface HealthCheckDeps {
  stats: ClusterStats;
  clusterName: string;
  http2: boolean;
  /** Whether the cluster has carried traffic (Envoy: upstream_cx_total used). */
  hadTraffic: () => boolean;
  /** A host's FAILED_ACTIVE_HC flag changed. */
  onChange: (host: Host) => void;
}

type Transition = "unchanged" | "changed" | "pending";

class Session {
  private numHealthy = 0;
  private numUnhealthy = 0;
  private firstCheck = true;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private readonly client: HealthProbeClient;

  constructor(
    private readonly parent: HealthChecker,
    readonly host: Host,
    private readonly onFirstResult: () => void,
  ) {
    const cfg = parent.config;
    this.client = new HealthProbeClient({
      address: { address: host.address.address, port: host.healthCheckPort ?? host.address.port },
      authority: cfg.grpcAuthority ?? parent.deps.clusterName,
      timeoutMs: cfg.timeoutMs,
      grpcService: cfg.grpcServiceName !== undefined || cfg.httpPath === undefined ? (cfg.grpcServiceName ?? "") : undefined,
      httpPath: cfg.httpPath,
      http2: parent.deps.http2,
    });
  }

  start(): void {
    void this.runCheck();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.client.close();
  }

  private async runCheck(): Promise<void> {
    if (this.stopped) return;
    this.parent.deps.stats.inc("health_check.attempt");
    const result: ProbeResult = await this.client.probe();
    if (this.stopped) return;
    const wasFirst = this.firstCheck;
    const [transition, healthyNow] = result === "success" ? this.handleSuccess() : this.handleFailure(result);
    if (wasFirst) this.onFirstResult();
    this.schedule(healthyNow, transition);
  }

  private handleSuccess(): [Transition, boolean] {
    const { host } = this;
    const { stats } = this.parent.deps;
    this.numUnhealthy = 0;
    let t: Transition = "unchanged";
    if (host.failedActiveHc) {
      if (this.firstCheck || ++this.numHealthy === this.parent.config.healthyThreshold) {
        host.failedActiveHc = false;
        host.pendingActiveHc = false;
        t = "changed";
      } else {
        t = "pending";
      }
    }
    stats.inc("health_check.success");
    this.firstCheck = false;
    if (t === "changed") this.parent.changed(host);
    return [t, true];
  }

  private handleFailure(result: ProbeResult): [Transition, boolean] {
    const { host } = this;
    const { stats } = this.parent.deps;
    this.numHealthy = 0;
    let t: Transition = "unchanged";
    if (!host.failedActiveHc) {
      if (result === "active_failure" || ++this.numUnhealthy === this.parent.config.unhealthyThreshold) {
        host.failedActiveHc = true;
        t = "changed";
      } else {
        t = "pending";
      }
    }
    host.pendingActiveHc = false;
    stats.inc("health_check.failure");
    if (result === "network_failure") stats.inc("health_check.network_failure");
    this.firstCheck = false;
    if (t === "changed") this.parent.changed(host);
    return [t, false];
  }

  private schedule(healthy: boolean, t: Transition): void {
    const c = this.parent.config;
    let ms: number;
    if (!this.parent.deps.hadTraffic()) ms = c.noTrafficIntervalMs;
    else if (!healthy) ms = t === "pending" ? (c.unhealthyEdgeIntervalMs ?? c.unhealthyIntervalMs ?? c.intervalMs) : (c.unhealthyIntervalMs ?? c.intervalMs);
    else ms = t === "pending" ? (c.healthyEdgeIntervalMs ?? c.intervalMs) : c.intervalMs;
    this.timer = setTimeout(() => void this.runCheck(), ms);
  }
}

export class HealthChecker {
  private sessions = new Map<Host, Session>();
  private pendingInitial = 0;
  private initialDone!: () => void;
  /** Resolves when every host present at start() had its first result. */
  readonly initialized: Promise<void>;

  constructor(
    readonly config: HealthCheckConfig,
    readonly deps: HealthCheckDeps,
  ) {
    this.initialized = new Promise((r) => (this.initialDone = r));
    for (const n of ["attempt", "success", "failure", "network_failure", "passive_failure", "verify_cluster"])
      deps.stats.counter(`health_check.${n}`);
    deps.stats.gauge("health_check.healthy");
  }

  /** Marks hosts as not yet checked (FAILED_ACTIVE_HC), as Envoy does for new hosts. */
  static markNew(host: Host): void {
    host.failedActiveHc = true;
  }

  start(hosts: readonly Host[]): void {
    this.pendingInitial = hosts.length;
    if (hosts.length === 0) this.initialDone();
    for (const h of hosts) this.add(h, true);
  }

  add(host: Host, initial = false): void {
    if (this.sessions.has(host)) return;
    const s = new Session(this, host, () => {
      if (initial && --this.pendingInitial === 0) this.initialDone();
    });
    this.sessions.set(host, s);
    s.start();
  }

  remove(host: Host): void {
    this.sessions.get(host)?.stop();
    this.sessions.delete(host);
    this.refreshGauge();
  }

  changed(host: Host): void {
    this.refreshGauge();
    this.deps.onChange(host);
  }

  private refreshGauge(): void {
    let n = 0;
    for (const h of this.sessions.keys()) if (!h.failedActiveHc) n++;
    this.deps.stats.gauge("health_check.healthy").set(n);
  }

  stop(): void {
    for (const s of this.sessions.values()) s.stop();
    this.sessions.clear();
    this.initialDone();
  }
}
