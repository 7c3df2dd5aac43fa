/**
 * A cluster's health_checks, outlier_detection and circuit_breakers with Envoy's defaults.
 * Health checks: timeout, interval, unhealthy_threshold and healthy_threshold are required;
 * unhealthy_interval defaults to interval, unhealthy_edge_interval to unhealthy_interval,
 * healthy_edge_interval to interval, no_traffic_interval to 60 s; exactly one of
 * grpc_health_check / http_health_check (tcp and custom are not supported).
 * Circuit breakers are reported for both priorities.
 * Outlier detection: consecutive 5xx / gateway-failure ejection only (Envoy's success-rate
 * and failure-percentage detectors are not implemented). Circuit breakers default to
 * 1024 connections / pending / requests and 3 retries per priority.
 */
import type { CircuitBreakerThresholds, HealthCheckConfig, OutlierDetectionConfig } from "./model.ts";
import { Ctx, Message, duration, enumValue, intValue, listOfMessages, msg, str, u32, NOT_SUPPORTED } from "./fields.ts";

export function parseHealthChecks(ctx: Ctx, c: Message): HealthCheckConfig[] {
  const out: HealthCheckConfig[] = [];
  for (const h of listOfMessages(c, "health_checks", "envoy.config.core.v3.HealthCheck")) {
    const hc = parseHealthCheck(ctx, h);
    if (hc) out.push(hc);
  }
  return out;
}

function requiredU32(m: Message, name: string): number | undefined {
  const at = m.get(name);
  if (!at) {
    m.required(name);
    return undefined;
  }
  return intValue(m.ctx, at, { min: 0, max: 4294967295 });
}

function parseHealthCheck(ctx: Ctx, m: Message): HealthCheckConfig | undefined {
  const timeoutMs = duration(m, "timeout", { required: true, gt0: true });
  const intervalMs = duration(m, "interval", { required: true, gt0: true });
  const unhealthyThreshold = requiredU32(m, "unhealthy_threshold");
  const healthyThreshold = requiredU32(m, "healthy_threshold");
  const noTrafficIntervalMs = duration(m, "no_traffic_interval", { gt0: true }) ?? 60_000;
  const unhealthyInterval = duration(m, "unhealthy_interval", { gt0: true });
  const unhealthyEdgeInterval = duration(m, "unhealthy_edge_interval", { gt0: true });
  const healthyEdgeInterval = duration(m, "healthy_edge_interval", { gt0: true });
  const kinds = ["grpc_health_check", "http_health_check", "tcp_health_check", "custom_health_check"].filter((k) => m.has(k));
  if (kinds.length === 0) m.required("grpc_health_check", "one of grpc_health_check or http_health_check is required");
  if (kinds.length > 1) ctx.error(m.pathOf(kinds[1]!), m.posOf(kinds[1]!), `only one of ${kinds.join(", ")} may be set`);
  m.unsupported("tcp_health_check");
  m.unsupported("custom_health_check");
  let grpc: { serviceName?: string; authority?: string } | undefined;
  const g = msg(m, "grpc_health_check", "envoy.config.core.v3.HealthCheck.GrpcHealthCheck");
  if (g) {
    grpc = {};
    const s = str(g, "service_name");
    if (s !== undefined) grpc.serviceName = s;
    const a = str(g, "authority");
    if (a !== undefined) grpc.authority = a;
    g.done();
  }
  let httpPath: string | undefined;
  const h = msg(m, "http_health_check", "envoy.config.core.v3.HealthCheck.HttpHealthCheck");
  if (h) {
    httpPath = str(h, "path", { required: true, minLen: 1 });
    h.done();
  }
  m.done();
  if (
    timeoutMs === undefined || intervalMs === undefined || unhealthyThreshold === undefined ||
    healthyThreshold === undefined || kinds.length !== 1 || (!grpc && httpPath === undefined)
  ) {
    return undefined;
  }
  const unhealthyIntervalMs = unhealthyInterval ?? intervalMs;
  const out: HealthCheckConfig = {
    timeoutMs,
    intervalMs,
    unhealthyThreshold,
    healthyThreshold,
    noTrafficIntervalMs,
    unhealthyIntervalMs,
    unhealthyEdgeIntervalMs: unhealthyEdgeInterval ?? unhealthyIntervalMs,
    healthyEdgeIntervalMs: healthyEdgeInterval ?? intervalMs,
  };
  if (grpc) {
    out.grpcServiceName = grpc.serviceName ?? "";
    if (grpc.authority !== undefined) out.grpcAuthority = grpc.authority;
  }
  if (httpPath !== undefined) out.httpPath = httpPath;
  return out;
}

export function parseOutlierDetection(ctx: Ctx, c: Message): OutlierDetectionConfig | undefined {
  const m = msg(c, "outlier_detection", "envoy.config.cluster.v3.OutlierDetection");
  if (!m) return undefined;
  const pct = (name: string, def: number): number => u32(m, name, { max: 100 }) ?? def;
  const out: OutlierDetectionConfig = {
    consecutive5xx: u32(m, "consecutive_5xx") ?? 5,
    consecutiveGatewayFailure: u32(m, "consecutive_gateway_failure") ?? 5,
    enforcingConsecutive5xx: pct("enforcing_consecutive_5xx", 100),
    enforcingConsecutiveGatewayFailure: pct("enforcing_consecutive_gateway_failure", 0),
    intervalMs: duration(m, "interval", { gt0: true }) ?? 10_000,
    baseEjectionTimeMs: duration(m, "base_ejection_time", { gt0: true }) ?? 30_000,
    maxEjectionTimeMs: duration(m, "max_ejection_time", { gt0: true }) ?? 300_000,
    maxEjectionPercent: pct("max_ejection_percent", 10),
  };
  // Envoy enables success-rate ejection by default (enforcing_success_rate 100); the sidecar does
  // not implement it, so turning it off explicitly is accepted and anything else is rejected.
  const esr = u32(m, "enforcing_success_rate", { max: 100 });
  if (esr !== undefined && esr !== 0) {
    ctx.error(m.pathOf("enforcing_success_rate"), m.posOf("enforcing_success_rate"), `${NOT_SUPPORTED}: success-rate ejection (set 0 to disable)`);
  }
  if (out.maxEjectionTimeMs < out.baseEjectionTimeMs && m.has("max_ejection_time")) {
    ctx.error(m.pathOf("max_ejection_time"), m.posOf("max_ejection_time"), "max_ejection_time must be greater than or equal to base_ejection_time");
  }
  m.done();
  return out;
}

const PRIORITIES = ["DEFAULT", "HIGH"] as const;

/** Always both priorities, DEFAULT then HIGH, as Envoy applies defaults to each. */
export function parseCircuitBreakers(ctx: Ctx, c: Message): CircuitBreakerThresholds[] {
  const cb = msg(c, "circuit_breakers", "envoy.config.cluster.v3.CircuitBreakers");
  const out: CircuitBreakerThresholds[] = [];
  const withDefaults = (): CircuitBreakerThresholds[] =>
    PRIORITIES.map(
      (priority) =>
        out.find((o) => o.priority === priority) ?? { priority, maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 },
    );
  if (!cb) return withDefaults();
  for (const t of listOfMessages(cb, "thresholds", "envoy.config.cluster.v3.CircuitBreakers.Thresholds")) {
    const priority = enumValue(t, "priority", PRIORITIES) ?? "DEFAULT";
    const entry: CircuitBreakerThresholds = {
      priority,
      maxConnections: u32(t, "max_connections") ?? 1024,
      maxPendingRequests: u32(t, "max_pending_requests") ?? 1024,
      maxRequests: u32(t, "max_requests") ?? 1024,
      maxRetries: u32(t, "max_retries") ?? 3,
    };
    t.done();
    if (out.some((o) => o.priority === priority)) {
      ctx.error(t.path, t.node, `thresholds for priority ${priority} given twice`);
      continue;
    }
    out.push(entry);
  }
  cb.done();
  return withDefaults();
}
