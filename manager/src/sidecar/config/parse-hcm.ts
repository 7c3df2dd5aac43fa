/**
 * envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager, with an
 * inline route_config (RDS and scoped routes are not supported). Defaults are Envoy's:
 * codec_type AUTO, generate_request_id true, use_remote_address false,
 * stream_idle_timeout 5 min, request_timeout 0 (disabled).
 */
import type { HttpConnectionManager } from "./model.ts";
import { Ctx, Message, bool, duration, enumValue, msg, str } from "./fields.ts";
import { parseRouteConfiguration } from "./parse-routes.ts";
import { parseHttpFilters } from "./parse-http-filters.ts";

export const HCM_TYPE = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";

const CODEC_TYPES = ["AUTO", "HTTP1", "HTTP2", "HTTP3"] as const;

export function parseHttpConnectionManager(ctx: Ctx, m: Message): HttpConnectionManager | undefined {
  const statPrefix = str(m, "stat_prefix", { required: true, minLen: 1 });
  let codecType = enumValue(m, "codec_type", CODEC_TYPES) ?? "AUTO";
  if (codecType === "HTTP3") {
    ctx.error(m.pathOf("codec_type"), m.posOf("codec_type"), "not supported by the local sidecar: HTTP3");
    codecType = "AUTO";
  }
  const generateRequestId = bool(m, "generate_request_id") ?? true;
  const useRemoteAddress = bool(m, "use_remote_address") ?? false;
  const streamIdleTimeoutMs = duration(m, "stream_idle_timeout") ?? 300_000;
  const requestTimeoutMs = duration(m, "request_timeout") ?? 0;
  const hasRds = m.has("rds") || m.has("scoped_routes");
  const rc = msg(m, "route_config", "envoy.config.route.v3.RouteConfiguration");
  if (!rc && !hasRds && !m.has("route_config")) m.required("route_config", "is required (the local sidecar has no RDS)");
  const routeConfig = rc ? parseRouteConfiguration(ctx, rc) : undefined;
  const httpFilters = parseHttpFilters(ctx, m);
  m.done();
  if (statPrefix === undefined || !routeConfig || !httpFilters) return undefined;
  return {
    statPrefix,
    codecType,
    routeConfig,
    httpFilters,
    generateRequestId,
    useRemoteAddress,
    streamIdleTimeoutMs,
    requestTimeoutMs,
  };
}
