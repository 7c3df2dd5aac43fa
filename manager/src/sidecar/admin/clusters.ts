/**
 * `/clusters` as Envoy's ClustersHandler writes it (source/server/admin/clusters_handler.cc).
 * Text: per cluster `observability_name`, the `default_priority` and `high_priority`
 * circuit-breaker lines, `added_via_api`, then per host its stats sorted by name
 * (`cx_active`, `cx_connect_fail`, `cx_total`, `rq_active`, `rq_error`, `rq_success`,
 * `rq_timeout`, `rq_total`), `hostname`, `health_flags`, `weight`, `region`, `zone`,
 * `sub_zone`, `canary`, `priority`, `success_rate`, `local_origin_success_rate`.
 * JSON: envoy.admin.v3.Clusters in proto3 JSON, as Envoy prints it: fields in field-number
 * order, default values omitted (a zero stat has no `value`, a counter has no `type`,
 * `added_via_api: false` is absent), uint64 stat values as strings.
 */
import type { ClusterView, HostView } from "../proxy/upstream/types.ts";

/** Envoy's default thresholds for the high priority (ClusterView only carries the default ones). */
const HIGH_PRIORITY = { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 };

/** Address::asString(): "127.0.0.1:8080", "[::1]:8080". */
export function hostAddressString(h: HostView): string {
  const a = h.address.address;
  return a.includes(":") ? `[${a}]:${h.address.port}` : `${a}:${h.address.port}`;
}

/** HostUtility::healthFlagsToString: "healthy" or the concatenated "/failed_..." flags. */
export function healthFlagsString(h: HostView): string {
  const flags = h.healthFlags.filter((f) => f !== "healthy");
  return flags.length === 0 ? "healthy" : flags.join("");
}

/** HostStats in Envoy's declaration order: counters, then gauges. */
function hostStats(h: HostView): Array<{ name: string; value: number; gauge: boolean }> {
  return [
    { name: "cx_connect_fail", value: h.cxConnectFail, gauge: false },
    { name: "cx_total", value: h.cxTotal, gauge: false },
    { name: "rq_error", value: h.rqError, gauge: false },
    { name: "rq_success", value: h.rqSuccess, gauge: false },
    { name: "rq_timeout", value: h.rqTimeout, gauge: false },
    { name: "rq_total", value: h.rqTotal, gauge: false },
    { name: "cx_active", value: h.cxActive, gauge: true },
    { name: "rq_active", value: h.rqActive, gauge: true },
  ];
}

const byName = (clusters: ClusterView[]): ClusterView[] =>
  [...clusters].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

export function renderClustersText(clusters: ClusterView[]): string {
  let out = "";
  for (const c of byName(clusters)) {
    const n = c.name;
    out += `${n}::observability_name::${n}\n`;
    for (const [prio, cb] of [["default", c.circuitBreakers], ["high", HIGH_PRIORITY]] as const) {
      out += `${n}::${prio}_priority::max_connections::${cb.maxConnections}\n`;
      out += `${n}::${prio}_priority::max_pending_requests::${cb.maxPendingRequests}\n`;
      out += `${n}::${prio}_priority::max_requests::${cb.maxRequests}\n`;
      out += `${n}::${prio}_priority::max_retries::${cb.maxRetries}\n`;
    }
    out += `${n}::added_via_api::${c.addedViaApi}\n`;
    for (const h of c.hosts()) {
      const p = `${n}::${hostAddressString(h)}::`;
      const stats = hostStats(h).sort((a, b) => (a.name < b.name ? -1 : 1));
      for (const s of stats) out += `${p}${s.name}::${s.value}\n`;
      out += `${p}hostname::${h.hostname}\n`;
      out += `${p}health_flags::${healthFlagsString(h)}\n`;
      out += `${p}weight::${h.weight}\n`;
      out += `${p}region::\n${p}zone::\n${p}sub_zone::\n`;
      out += `${p}canary::false\n${p}priority::0\n`;
      out += `${p}success_rate::-1\n${p}local_origin_success_rate::-1\n`;
    }
  }
  return out;
}

function thresholds(cb: ClusterView["circuitBreakers"], priority?: "HIGH"): Record<string, unknown> {
  return {
    ...(priority ? { priority } : {}),
    max_connections: cb.maxConnections,
    max_pending_requests: cb.maxPendingRequests,
    max_requests: cb.maxRequests,
    max_retries: cb.maxRetries,
  };
}

function hostStatus(h: HostView): Record<string, unknown> {
  const health: Record<string, unknown> = {};
  if (h.healthFlags.includes("/failed_active_hc")) health["failed_active_health_check"] = true;
  if (h.healthFlags.includes("/failed_outlier_check")) health["failed_outlier_check"] = true;
  health["eds_health_status"] = "HEALTHY";
  if (h.healthFlags.includes("/pending_active_hc")) health["pending_active_hc"] = true;
  return {
    address: { socket_address: { address: h.address.address, port_value: h.address.port } },
    stats: hostStats(h).map((s) => ({
      ...(s.gauge ? { type: "GAUGE" } : {}),
      ...(s.value !== 0 ? { value: String(s.value) } : {}),
      name: s.name,
    })),
    health_status: health,
    ...(h.weight !== 0 ? { weight: h.weight } : {}),
    ...(h.hostname !== "" ? { hostname: h.hostname } : {}),
    locality: {},
  };
}

export function renderClustersJson(clusters: ClusterView[]): string {
  const cluster_statuses = byName(clusters).map((c) => {
    const hosts = c.hosts();
    return {
      name: c.name,
      ...(c.addedViaApi ? { added_via_api: true } : {}),
      ...(hosts.length > 0 ? { host_statuses: hosts.map(hostStatus) } : {}),
      circuit_breakers: { thresholds: [thresholds(c.circuitBreakers), thresholds(HIGH_PRIORITY, "HIGH")] },
      observability_name: c.name,
    };
  });
  return JSON.stringify(cluster_statuses.length > 0 ? { cluster_statuses } : {}, null, 1);
}
