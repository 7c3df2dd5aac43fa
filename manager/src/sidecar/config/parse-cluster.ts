/**
 * static_resources.clusters[] -> Cluster. Types STATIC (endpoints must be IP literals),
 * STRICT_DNS and LOGICAL_DNS (exactly one endpoint, as Envoy requires). Defaults are Envoy's:
 * connect_timeout 5 s (> 0), dns_refresh_rate 5 s (>= 1 ms), per-connection buffer 1 MiB,
 * load_balancing_weight 1, override_host_status {UNKNOWN, HEALTHY, DEGRADED},
 * max_concurrent_streams 2147483647. HTTP/2 upstreams come from the
 * envoy.extensions.upstreams.http.v3.HttpProtocolOptions explicit_http_config or the
 * deprecated http2_protocol_options field; giving both is an error, as in Envoy.
 */
import type { Cluster, Endpoint } from "./model.ts";
import {
  Ctx, Message, asMessage, duration, enumOf, enumValue, list, listOfMessages, msg, str, u32, NOT_SUPPORTED,
} from "./fields.ts";
import { socketAddress } from "./address.ts";
import { openTyped, unknownType } from "./typed-config.ts";
import { parseClusterLb } from "./parse-lb-policy.ts";
import { parseCircuitBreakers, parseHealthChecks, parseOutlierDetection } from "./parse-cluster-resilience.ts";

const CLUSTER_TYPES = ["STATIC", "STRICT_DNS", "LOGICAL_DNS", "EDS", "ORIGINAL_DST"] as const;
export const HEALTH_STATUSES = ["UNKNOWN", "HEALTHY", "UNHEALTHY", "DRAINING", "TIMEOUT", "DEGRADED"] as const;
export type HealthStatusName = (typeof HEALTH_STATUSES)[number];
const HTTP_PROTOCOL_OPTIONS_KEY = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
const HTTP_PROTOCOL_OPTIONS_TYPE = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
const DEFAULT_MAX_STREAMS = 2147483647;

/** An Endpoint plus the lb_endpoints[].health_status the model has no field for. */
export interface EndpointWithHealth extends Endpoint {
  healthStatus?: HealthStatusName;
}

export function parseCluster(ctx: Ctx, m: Message): Cluster | undefined {
  const name = str(m, "name", { required: true, minLen: 1 });
  let type = enumValue(m, "type", CLUSTER_TYPES) ?? "STATIC";
  if (type === "EDS" || type === "ORIGINAL_DST") {
    ctx.error(m.pathOf("type"), m.posOf("type"), `${NOT_SUPPORTED}: cluster type ${type}; use STATIC, STRICT_DNS or LOGICAL_DNS`);
    type = "STATIC";
  }
  const connectTimeoutMs = duration(m, "connect_timeout", { gt0: true }) ?? 5000;
  const dnsRefreshRateMs = duration(m, "dns_refresh_rate", { minMs: 1 }) ?? 5000;
  const perConnectionBufferLimitBytes = u32(m, "per_connection_buffer_limit_bytes") ?? 1024 * 1024;
  const lb = parseClusterLb(ctx, m);
  const overrideHostStatuses = parseOverrideHostStatuses(ctx, m);
  const endpoints = parseLoadAssignment(ctx, m, type as Cluster["type"]);
  const protocol = parseProtocol(ctx, m);
  const healthChecks = parseHealthChecks(ctx, m);
  const outlierDetection = parseOutlierDetection(ctx, m);
  const circuitBreakers = parseCircuitBreakers(ctx, m);
  m.done();
  if (name === undefined || !lb || !endpoints || !protocol) return undefined;
  const out: Cluster = {
    name,
    type: type as Cluster["type"],
    connectTimeoutMs,
    dnsRefreshRateMs,
    lbPolicy: lb.lbPolicy,
    overrideHostStatuses,
    endpoints,
    upstreamProtocol: protocol.upstreamProtocol,
    http2MaxConcurrentStreams: protocol.maxConcurrentStreams,
    healthChecks,
    circuitBreakers,
    perConnectionBufferLimitBytes,
  };
  if (lb.overrideHost) out.overrideHost = lb.overrideHost;
  if (outlierDetection) out.outlierDetection = outlierDetection;
  return out;
}

function parseOverrideHostStatuses(ctx: Ctx, c: Message): Cluster["overrideHostStatuses"] {
  const defaults: Cluster["overrideHostStatuses"] = ["UNKNOWN", "HEALTHY", "DEGRADED"];
  const common = msg(c, "common_lb_config", "envoy.config.cluster.v3.Cluster.CommonLbConfig");
  if (!common) return defaults;
  const set = msg(common, "override_host_status", "envoy.config.core.v3.HealthStatusSet");
  common.done();
  if (!set) return defaults;
  const out: Cluster["overrideHostStatuses"] = [];
  for (const at of list(set, "statuses")) {
    const s = enumOf(ctx, at, HEALTH_STATUSES);
    if (s !== undefined && !out.includes(s)) out.push(s);
  }
  set.done();
  return out;
}

function parseLoadAssignment(ctx: Ctx, c: Message, type: Cluster["type"]): Endpoint[] | undefined {
  const la = msg(c, "load_assignment", "envoy.config.endpoint.v3.ClusterLoadAssignment");
  if (!la) {
    if (type === "LOGICAL_DNS") c.required("load_assignment", "LOGICAL_DNS clusters must have exactly one endpoint");
    return type === "LOGICAL_DNS" ? undefined : [];
  }
  str(la, "cluster_name");
  const out: EndpointWithHealth[] = [];
  let ok = true;
  let count = 0;
  let second: Message | undefined;
  for (const locality of listOfMessages(la, "endpoints", "envoy.config.endpoint.v3.LocalityLbEndpoints")) {
    const prio = u32(locality, "priority");
    if (prio !== undefined && prio !== 0) locality.unsupported("priority", "only priority 0");
    for (const at of list(locality, "lb_endpoints")) {
      const lbe = asMessage(ctx, at, "envoy.config.endpoint.v3.LbEndpoint");
      if (!lbe) {
        ok = false;
        continue;
      }
      count++;
      if (count === 2) second = lbe;
      const ep = parseLbEndpoint(lbe, type);
      if (ep) out.push(ep);
      else ok = false;
    }
    locality.done();
  }
  la.done();
  if (type === "LOGICAL_DNS" && count !== 1) {
    const where = second ?? la;
    ctx.error(second ? second.path : la.pathOf("endpoints"), where.node, `LOGICAL_DNS clusters must have exactly one endpoint (found ${count})`);
    return undefined;
  }
  return ok ? out : undefined;
}

function parseLbEndpoint(m: Message, type: Cluster["type"]): EndpointWithHealth | undefined {
  const weight = u32(m, "load_balancing_weight", { min: 1 });
  const healthStatus = enumValue(m, "health_status", HEALTH_STATUSES);
  const ep = msg(m, "endpoint", "envoy.config.endpoint.v3.Endpoint");
  m.done();
  if (!ep) {
    m.required("endpoint");
    return undefined;
  }
  const addr = socketAddress(ep, "address", {
    ipOnly: type === "STATIC",
    required: true,
    why: "STATIC clusters need IP addresses; use STRICT_DNS or LOGICAL_DNS for hostnames",
  });
  let healthCheckPort: number | undefined;
  const hc = msg(ep, "health_check_config", "envoy.config.endpoint.v3.Endpoint.HealthCheckConfig");
  if (hc) {
    healthCheckPort = u32(hc, "port_value", { max: 65535 });
    hc.done();
  }
  ep.done();
  if (!addr || (m.has("load_balancing_weight") && weight === undefined)) return undefined;
  const out: EndpointWithHealth = { address: addr.address, port: addr.portValue, loadBalancingWeight: weight ?? 1 };
  if (healthCheckPort !== undefined && healthCheckPort !== 0) out.healthCheckPort = healthCheckPort;
  if (healthStatus !== undefined) out.healthStatus = healthStatus;
  return out;
}

interface Protocol {
  upstreamProtocol: "HTTP1" | "HTTP2";
  maxConcurrentStreams: number;
}

function parseHttp2Options(m: Message): number | undefined {
  const v = u32(m, "max_concurrent_streams", { min: 1, max: 2147483647 });
  m.done();
  return m.has("max_concurrent_streams") ? v : DEFAULT_MAX_STREAMS;
}

function parseProtocol(ctx: Ctx, c: Message): Protocol | undefined {
  let result: Protocol = { upstreamProtocol: "HTTP1", maxConcurrentStreams: DEFAULT_MAX_STREAMS };
  let ok = true;
  const legacy = msg(c, "http2_protocol_options", "envoy.config.core.v3.Http2ProtocolOptions");
  if (legacy) {
    const v = parseHttp2Options(legacy);
    if (v === undefined) ok = false;
    else result = { upstreamProtocol: "HTTP2", maxConcurrentStreams: v };
  }
  const tepoAt = c.get("typed_extension_protocol_options");
  if (tepoAt) {
    if (tepoAt.node.kind !== "map") {
      ctx.error(tepoAt.path, tepoAt.node, "expected object");
      return undefined;
    }
    for (const e of tepoAt.node.entries) {
      const at = { node: e.value, path: `${tepoAt.path}.${e.key}` };
      if (e.key !== HTTP_PROTOCOL_OPTIONS_KEY) {
        ctx.error(at.path, e.keyPos, `${NOT_SUPPORTED}: protocol options ${e.key}`);
        ok = false;
        continue;
      }
      if (legacy) {
        ctx.error(at.path, e.keyPos, "http2_protocol_options and HttpProtocolOptions may not both be set");
        ok = false;
        continue;
      }
      const typed = openTyped(ctx, at);
      if (!typed) {
        ok = false;
        continue;
      }
      if (typed.type !== HTTP_PROTOCOL_OPTIONS_TYPE) {
        unknownType(ctx, typed, [HTTP_PROTOCOL_OPTIONS_TYPE]);
        ok = false;
        continue;
      }
      const explicit = msg(typed.msg, "explicit_http_config", "envoy.extensions.upstreams.http.v3.HttpProtocolOptions.ExplicitHttpConfig");
      if (!explicit && !typed.msg.has("explicit_http_config")) {
        typed.msg.required("explicit_http_config", "is required by the local sidecar (auto_config and use_downstream_protocol_config are not supported)");
        ok = false;
      }
      typed.msg.done();
      if (!explicit) continue;
      const given = ["http_protocol_options", "http2_protocol_options", "http3_protocol_options"].filter((k) => explicit.has(k));
      if (given.length !== 1) {
        ctx.error(explicit.path, explicit.node, "exactly one of http_protocol_options or http2_protocol_options is required");
        ok = false;
      }
      const h1 = msg(explicit, "http_protocol_options", "envoy.config.core.v3.Http1ProtocolOptions");
      if (h1) h1.done();
      const h2 = msg(explicit, "http2_protocol_options", "envoy.config.core.v3.Http2ProtocolOptions");
      if (h2) {
        const v = parseHttp2Options(h2);
        if (v === undefined) ok = false;
        else result = { upstreamProtocol: "HTTP2", maxConcurrentStreams: v };
      }
      explicit.unsupported("http3_protocol_options");
      explicit.done();
    }
  }
  return ok ? result : undefined;
}
