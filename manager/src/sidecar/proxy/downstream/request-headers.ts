/**
 * Request header mutations of Envoy's connection manager
 * (source/common/http/conn_manager_utility.cc, mutateRequestHeaders; defaults of the HCM:
 * xff_num_trusted_hops 0, skip_xff_append false, preserve_external_request_id false).
 *
 * - Hop-by-hop headers (connection, keep-alive, proxy-connection, transfer-encoding, upgrade)
 *   are removed; `te` keeps only "trailers"; x-envoy-internal from the downstream is removed.
 * - use_remote_address true: x-forwarded-for gets the downstream remote address appended
 *   (the listener's local address when the peer is loopback, as Envoy does);
 *   x-forwarded-proto is overwritten with the connection's scheme ("https" on TLS, else "http").
 *   use_remote_address false (default): x-forwarded-for is left as received;
 *   x-forwarded-proto is set only when absent.
 * - x-forwarded-client-cert is removed (forward_client_cert_details SANITIZE, Envoy's default).
 * - internal request = use_remote_address, no x-forwarded-for was received, and the remote
 *   address is internal (RFC 1918, loopback, RFC 4193 / IPv6 loopback): x-envoy-internal: true.
 *   Otherwise the internal x-envoy-* request headers are stripped (retry, timeout, alt stat
 *   name, force trace, ip tags, original url, hedge, expected timeout) and, for an edge
 *   request (external + use_remote_address), also x-envoy-decorator-operation,
 *   x-envoy-downstream-service-cluster / -node, and x-envoy-external-address is set.
 * - generate_request_id: x-request-id (UUID v4) is set when absent, and replaced on edge
 *   requests.
 */
import { randomUUID } from "node:crypto";
import type { HeaderMap } from "../../http/header-map.ts";
import type { SocketAddress } from "../../http/stream-info.ts";

export interface RequestHeaderContext {
  /** The downstream connection is TLS (Envoy's connection.ssl() != nullptr). */
  secure?: boolean;
  useRemoteAddress: boolean;
  generateRequestId: boolean;
  remote?: SocketAddress;
  local?: SocketAddress;
  uuid?: () => string;
}

const ALWAYS_STRIPPED = new Set([
  "x-envoy-retriable-status-codes", "x-envoy-retriable-header-names", "x-envoy-retry-on",
  "x-envoy-retry-grpc-on", "x-envoy-max-retries", "x-envoy-upstream-alt-stat-name",
  "x-envoy-upstream-rq-timeout-ms", "x-envoy-upstream-rq-per-try-timeout-ms",
  "x-envoy-upstream-rq-timeout-alt-response", "x-envoy-expected-rq-timeout-ms", "x-envoy-force-trace",
  "x-envoy-ip-tags", "x-envoy-original-url", "x-envoy-hedge-on-per-try-timeout",
]);
const EDGE_STRIPPED = ["x-envoy-decorator-operation", "x-envoy-downstream-service-cluster", "x-envoy-downstream-service-node"];
/** ALWAYS_STRIPPED and, for edge requests, EDGE_STRIPPED: removed in one pass. */
const EDGE_AND_ALWAYS_STRIPPED = new Set([...EDGE_STRIPPED, ...ALWAYS_STRIPPED]);
/** Hop-by-hop headers and a downstream's x-envoy-internal: removed in one pass. */
const HOP_BY_HOP_AND_INTERNAL = new Set([
  "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "x-envoy-internal", "x-forwarded-client-cert",
]);

export function isLoopback(address: string): boolean {
  return address.startsWith("127.") || address === "::1" || address.startsWith("::ffff:127.");
}

/** Envoy's default internal address ranges. */
export function isInternalAddress(address: string): boolean {
  const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
  const parts = v4.split(".").map(Number);
  if (parts.length === 4 && parts.every((n) => Number.isInteger(n))) {
    const [a, b] = parts as [number, number, number, number];
    return a === 10 || a === 127 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
  }
  const lower = address.toLowerCase();
  return lower === "::1" || lower.startsWith("fc") || lower.startsWith("fd");
}

export function mutateRequestHeaders(headers: HeaderMap, ctx: RequestHeaderContext): { internal: boolean; edge: boolean } {
  headers.removeAll(HOP_BY_HOP_AND_INTERNAL);
  const te = headers.get("te");
  if (te !== undefined) {
    const keep = te.split(",").some((t) => t.trim().toLowerCase() === "trailers");
    headers.remove("te");
    if (keep) headers.add("te", "trailers");
  }

  const scheme = ctx.secure ? "https" : "http";
  const hadXff = headers.has("x-forwarded-for");
  let remoteAddress: string | undefined;
  if (ctx.useRemoteAddress) {
    remoteAddress = ctx.remote?.address;
    const appended = remoteAddress !== undefined && isLoopback(remoteAddress) ? ctx.local?.address : remoteAddress;
    if (appended !== undefined) {
      const existing = headers.getAll("x-forwarded-for").join(",");
      headers.setCopy("x-forwarded-for", existing ? `${existing},${appended}` : appended);
    }
    headers.setCopy("x-forwarded-proto", scheme);
  }
  if (!headers.has("x-forwarded-proto")) headers.setCopy("x-forwarded-proto", scheme);

  const internal = ctx.useRemoteAddress && !hadXff && remoteAddress !== undefined && isInternalAddress(remoteAddress);
  const edge = !internal && ctx.useRemoteAddress;
  if (internal) {
    headers.setCopy("x-envoy-internal", "true");
  } else {
    headers.removeAll(edge ? EDGE_AND_ALWAYS_STRIPPED : ALWAYS_STRIPPED);
  }
  if (edge && remoteAddress !== undefined) headers.setCopy("x-envoy-external-address", remoteAddress);

  if (ctx.generateRequestId && (edge || !headers.get("x-request-id"))) {
    headers.setCopy("x-request-id", (ctx.uuid ?? randomUUID)());
  }
  return { internal, edge };
}
