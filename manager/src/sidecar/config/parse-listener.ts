/**
 * static_resources.listeners[]: one TCP listener with exactly one filter chain holding exactly
 * one envoy.filters.network.http_connection_manager (selected by its typed_config @type, as
 * Envoy does; the filter name is free) and, optionally, a TLS transport_socket (parse-tls.ts). Envoy generates a UUID for an unnamed listener; the
 * sidecar names it "<address>_<port>" so stats stay stable.
 */
import type { Listener } from "./model.ts";
import { Ctx, Message, enumValue, listOfMessages, str, u32 } from "./fields.ts";
import { socketAddress } from "./address.ts";
import { openTyped, unknownType } from "./typed-config.ts";
import { parseHttpConnectionManager, HCM_TYPE } from "./parse-hcm.ts";
import type { DownstreamTlsContextConfig, HttpConnectionManager } from "./model.ts";
import { parseTransportSocket } from "./parse-tls.ts";

const DEFAULT_BUFFER_LIMIT = 1024 * 1024;
const TRAFFIC_DIRECTIONS = ["UNSPECIFIED", "INBOUND", "OUTBOUND"] as const;

export function parseListener(ctx: Ctx, m: Message): Listener | undefined {
  const name = str(m, "name");
  const address = socketAddress(m, "address", {
    ipOnly: true,
    required: true,
    why: "Envoy does not resolve hostnames in listener addresses",
  });
  const direction = enumValue(m, "traffic_direction", TRAFFIC_DIRECTIONS) ?? "UNSPECIFIED";
  const bufferLimit = u32(m, "per_connection_buffer_limit_bytes") ?? DEFAULT_BUFFER_LIMIT;
  const chains = listOfMessages(m, "filter_chains", "envoy.config.listener.v3.FilterChain");
  let hcm: HttpConnectionManager | undefined;
  let tls: DownstreamTlsContextConfig | undefined;
  if (chains.length === 0 && !m.has("filter_chains")) {
    m.required("filter_chains", "at least one filter chain is required");
  } else if (chains.length === 0) {
    ctx.error(m.pathOf("filter_chains"), m.posOf("filter_chains"), "at least one filter chain is required");
  }
  chains.forEach((chain, i) => {
    if (i > 0) {
      ctx.error(chain.path, chain.node, "not supported by the local sidecar: more than one filter chain");
      return;
    }
    str(chain, "name");
    hcm = parseFilterChain(ctx, chain);
    tls = parseTransportSocket(ctx, chain);
    chain.done();
  });
  m.done();
  if (!address || !hcm) return undefined;
  return {
    name: name ?? `${address.address}_${address.portValue}`,
    address,
    trafficDirection: TRAFFIC_DIRECTIONS.indexOf(direction),
    perConnectionBufferLimitBytes: bufferLimit,
    httpConnectionManager: hcm,
    ...(tls ? { tls } : {}),
  };
}

function parseFilterChain(ctx: Ctx, chain: Message): HttpConnectionManager | undefined {
  const filters = listOfMessages(chain, "filters", "envoy.config.listener.v3.Filter");
  if (filters.length === 0) {
    chain.required("filters", "exactly one envoy.filters.network.http_connection_manager is required");
    return undefined;
  }
  let hcm: HttpConnectionManager | undefined;
  let seen = 0;
  for (const f of filters) {
    str(f, "name");
    f.unsupported("config_discovery");
    const tcAt = f.get("typed_config");
    f.done();
    if (!tcAt) {
      f.required("typed_config", "is required (Envoy selects the filter by its typed_config @type)");
      continue;
    }
    const typed = openTyped(ctx, tcAt);
    if (!typed) continue;
    if (typed.type !== HCM_TYPE) {
      if (typed.type.startsWith("envoy.")) {
        ctx.error(f.path, f.node, `not supported by the local sidecar: network filter ${typed.type}; only the http_connection_manager is`);
      } else {
        unknownType(ctx, typed, [HCM_TYPE]);
      }
      continue;
    }
    seen++;
    if (seen > 1) {
      ctx.error(f.path, f.node, "only one http_connection_manager is allowed: it is a terminal filter and must be the last network filter");
      continue;
    }
    hcm = parseHttpConnectionManager(ctx, typed.msg);
  }
  return hcm;
}
