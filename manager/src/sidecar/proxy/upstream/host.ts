/**
 * One upstream endpoint (Envoy Upstream::HostImpl): its address, configured hostname, weight,
 * health flags and the per-host stats /clusters prints. A host is healthy for load balancing
 * unless it carries FAILED_ACTIVE_HC or FAILED_OUTLIER_CHECK (Envoy's coarseHealth), and its
 * health status (for override_host_status) is UNHEALTHY then, otherwise the EDS status, which
 * for statically configured endpoints is UNKNOWN (Envoy's HostImpl::healthStatus).
 */
import type { SocketAddress } from "../../http/stream-info.ts";
import type { HostStats } from "./types.ts";

export type HostHealthStatus = "UNKNOWN" | "HEALTHY" | "UNHEALTHY" | "DRAINING" | "TIMEOUT" | "DEGRADED";

export type { HostStats } from "./types.ts";

/** "ip:port", bracketing IPv6 literals as Envoy's Address::Ip::asString does. */
export function addressKey(a: SocketAddress): string {
  return a.address.includes(":") ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

/** Parses "ip:port" or "[v6]:port"; undefined when malformed. */
export function parseAddressKey(text: string): SocketAddress | undefined {
  const s = text.trim();
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(s) ?? /^([^:\[\]]+):(\d{1,5})$/.exec(s);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port > 65535) return undefined;
  return { address: m[1]!, port };
}

export class Host {
  readonly key: string;
  failedActiveHc = false;
  pendingActiveHc = false;
  failedOutlierCheck = false;
  readonly stats: HostStats = {
    rqActive: 0,
    rqTotal: 0,
    rqError: 0,
    rqSuccess: 0,
    rqTimeout: 0,
    cxActive: 0,
    cxTotal: 0,
    cxConnectFail: 0,
  };

  constructor(
    readonly address: SocketAddress,
    readonly hostname: string,
    public weight: number,
    readonly healthCheckPort?: number,
  ) {
    this.key = addressKey(address);
  }

  healthy(): boolean {
    return !this.failedActiveHc && !this.failedOutlierCheck;
  }

  healthStatus(): HostHealthStatus {
    return this.healthy() ? "UNKNOWN" : "UNHEALTHY";
  }

  /** Envoy's /clusters health_flags rendering. */
  healthFlags(): string[] {
    const flags: string[] = [];
    if (this.failedActiveHc) flags.push("/failed_active_hc");
    if (this.failedOutlierCheck) flags.push("/failed_outlier_check");
    if (this.pendingActiveHc) flags.push("/pending_active_hc");
    return flags.length === 0 ? ["healthy"] : flags;
  }
}
