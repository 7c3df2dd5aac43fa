/**
 * Outlier detection for one cluster, as Envoy's Outlier::DetectorImpl
 * (source/common/upstream/outlier_detection_impl.cc) without split local/external errors:
 *
 * - Every response code the router reports counts: a 5xx increments the consecutive-5xx
 *   counter, 502/503/504 also the consecutive-gateway-failure counter, anything else resets
 *   both. Local-origin results map to codes first: connect failure / reset -> 503,
 *   timeout -> 504. gRPC trailers-only responses arrive as grpcToHttpStatus(grpc-status).
 * - Reaching consecutive_5xx (consecutive_gateway_failure) counts
 *   ejections_detected_consecutive_5xx (..._gateway_failure) and, when the enforcing
 *   percentage draws true, ejects the host unless that would put more than
 *   max_ejection_percent of hosts in ejection (ejections_overflow); either way the counter
 *   that fired starts again from zero (Envoy's onConsecutiveErrorWorker), so a host that was
 *   not ejected is detected again after another run of failures.
 * - An ejected host carries FAILED_OUTLIER_CHECK for base_ejection_time x its ejection count
 *   (capped at max(max_ejection_time, base_ejection_time)); the interval timer unejects it and
 *   resets its counters; each interval a host spends unejected lowers its count by one.
 */
import type { OutlierDetectionConfig } from "../../config/model.ts";
import type { ClusterStats } from "./cluster-stats.ts";
import type { Host } from "./host.ts";
import { randomU32, type Random } from "./random.ts";

export type LocalOriginResult = "connect_failed" | "timeout" | "reset";

interface Monitor {
  consecutive5xx: number;
  consecutiveGatewayFailure: number;
  ejectTimeBackoff: number;
  lastEjectionMs?: number;
  lastUnejectionMs?: number;
}

export interface OutlierDeps {
  stats: ClusterStats;
  random: Random;
  now: () => number;
  /** A host was ejected or unejected: the load balancer must be rebuilt. */
  onChange: (host: Host) => void;
}

export class OutlierDetector {
  private monitors = new Map<Host, Monitor>();
  private timer?: NodeJS.Timeout;

  constructor(
    readonly config: OutlierDetectionConfig,
    private readonly deps: OutlierDeps,
  ) {
    for (const n of [
      "ejections_enforced_total",
      "ejections_overflow",
      "ejections_total",
      "ejections_consecutive_5xx",
      "ejections_enforced_consecutive_5xx",
      "ejections_detected_consecutive_5xx",
      "ejections_enforced_consecutive_gateway_failure",
      "ejections_detected_consecutive_gateway_failure",
    ])
      deps.stats.counter(`outlier_detection.${n}`);
    deps.stats.gauge("outlier_detection.ejections_active");
  }

  start(): void {
    this.timer = setInterval(() => this.onIntervalTimer(), this.config.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  addHost(host: Host): void {
    if (!this.monitors.has(host)) this.monitors.set(host, { consecutive5xx: 0, consecutiveGatewayFailure: 0, ejectTimeBackoff: 0 });
  }

  removeHost(host: Host): void {
    if (host.failedOutlierCheck) this.deps.stats.gauge("outlier_detection.ejections_active").sub(1);
    this.monitors.delete(host);
  }

  private activeEjections(): number {
    let n = 0;
    for (const h of this.monitors.keys()) if (h.failedOutlierCheck) n++;
    return n;
  }

  putResult(host: Host, result: LocalOriginResult): void {
    this.putHttpResponseCode(host, result === "timeout" ? 504 : 503);
  }

  putHttpResponseCode(host: Host, code: number): void {
    const m = this.monitors.get(host);
    if (!m) return;
    if (code >= 500 && code < 600) {
      if (code === 502 || code === 503 || code === 504) {
        if (++m.consecutiveGatewayFailure === this.config.consecutiveGatewayFailure) {
          this.onConsecutive(host, "consecutive_gateway_failure", this.config.enforcingConsecutiveGatewayFailure);
        }
      } else {
        m.consecutiveGatewayFailure = 0;
      }
      if (++m.consecutive5xx === this.config.consecutive5xx) {
        this.onConsecutive(host, "consecutive_5xx", this.config.enforcingConsecutive5xx);
      }
    } else {
      m.consecutive5xx = 0;
      m.consecutiveGatewayFailure = 0;
    }
  }

  /** Envoy's onConsecutiveErrorWorker: detect, try to eject, then reset that counter. */
  private onConsecutive(host: Host, type: "consecutive_5xx" | "consecutive_gateway_failure", enforcing: number): void {
    if (host.failedOutlierCheck) return;
    const { stats } = this.deps;
    stats.inc(`outlier_detection.ejections_detected_${type}`);
    this.ejectHost(host, type, enforcing);
    // Reset whether or not the host was ejected, so the next run of failures is detected too.
    const m = this.monitors.get(host)!;
    if (type === "consecutive_5xx") {
      stats.inc("outlier_detection.ejections_consecutive_5xx"); // deprecated; counts every detection
      m.consecutive5xx = 0;
    } else {
      m.consecutiveGatewayFailure = 0;
    }
  }

  private ejectHost(host: Host, type: "consecutive_5xx" | "consecutive_gateway_failure", enforcing: number): void {
    const { stats } = this.deps;
    const maxPercent = Math.min(100, this.config.maxEjectionPercent);
    const ejectedPercent = (100 * (this.activeEjections() + 1)) / this.monitors.size;
    if (ejectedPercent > maxPercent) {
      stats.inc("outlier_detection.ejections_overflow");
      return;
    }
    if (type === "consecutive_5xx") stats.inc("outlier_detection.ejections_total"); // deprecated
    if (randomU32(this.deps.random) % 100 >= enforcing) return;
    const m = this.monitors.get(host)!;
    host.failedOutlierCheck = true;
    m.ejectTimeBackoff++;
    m.lastEjectionMs = this.deps.now();
    stats.gauge("outlier_detection.ejections_active").add(1);
    stats.inc("outlier_detection.ejections_enforced_total");
    stats.inc(`outlier_detection.ejections_enforced_${type}`);
    this.deps.onChange(host);
  }

  /** Runs the unejection pass (Envoy's interval timer); public so tests can drive time. */
  onIntervalTimer(): void {
    const now = this.deps.now();
    const base = this.config.baseEjectionTimeMs;
    const max = Math.max(this.config.maxEjectionTimeMs, base);
    for (const [host, m] of this.monitors) {
      if (!host.failedOutlierCheck) {
        if (m.ejectTimeBackoff > 0) m.ejectTimeBackoff--;
        continue;
      }
      const ejectTime = Math.min(base * m.ejectTimeBackoff, max);
      if (now - (m.lastEjectionMs ?? now) >= ejectTime) {
        host.failedOutlierCheck = false;
        m.consecutive5xx = 0;
        m.consecutiveGatewayFailure = 0;
        m.lastUnejectionMs = now;
        this.deps.stats.gauge("outlier_detection.ejections_active").sub(1);
        this.deps.onChange(host);
      }
    }
  }
}
