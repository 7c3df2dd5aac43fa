/**
 * Active endpoint discovery: the answer of the periodic http_call, parsed with the SDK's JSON
 * reader (never traps on any body) into (cluster, address, healthy) entries for the next fold.
 *
 *  - ENVOY_ADMIN: Envoy's admin `/clusters?format=json` (envoy.admin.v3.Clusters in proto3 JSON,
 *    source/server/admin/clusters_handler.cc): `cluster_statuses[].name`, `.host_statuses[]`
 *    with `address.socket_address {address, port_value}` and `health_status`. A host is
 *    unhealthy when `failed_active_health_check`, `failed_outlier_check`,
 *    `failed_active_degraded_check` or `pending_dynamic_removal` is true or `eds_health_status` is
 *    UNHEALTHY, DRAINING or TIMEOUT (Envoy's HealthFlag set, host_description.h). Only the
 *    clusters in `wanted` are kept, since an Istio sidecar lists hundreds.
 *  - ENDPOINTS: a small format for a discovery service of one's own:
 *    `{"endpoints": [{"cluster": "c", "address": "10.0.0.1:8080", "healthy": true}]}`.
 *
 * Entries whose address is not an endpoint address (address.ts) are skipped; at most
 * MAX_ENTRIES are kept.
 */
import { JsonObject, JsonValue, parseJsonBytes } from "../../sdk/json";
import { isEndpointAddress } from "./address";

// @ts-ignore: decorator
@inline export const MAX_ENTRIES: i32 = 4096;

export class DiscoveryResult {
  count: i32 = 0;
  /** Entries skipped: a bad address, or past MAX_ENTRIES. */
  skipped: i32 = 0;
  private readonly clusters: Array<ArrayBuffer> = new Array<ArrayBuffer>();
  private readonly addresses: Array<ArrayBuffer | null> = new Array<ArrayBuffer | null>();
  private readonly health: Array<bool> = new Array<bool>();
  /** Every wanted cluster the answer lists (possibly with no hosts). */
  private readonly listed: Array<ArrayBuffer> = new Array<ArrayBuffer>();

  add(cluster: ArrayBuffer, address: ArrayBuffer | null, healthy: bool): void {
    if (this.count >= MAX_ENTRIES) { this.skipped++; return; }
    this.clusters.push(cluster);
    this.addresses.push(address);
    this.health.push(healthy);
    this.count++;
  }

  list(cluster: ArrayBuffer): void { this.listed.push(cluster); }

  clusterPtr(i: i32): usize { return changetype<usize>(unchecked(this.clusters[i])); }
  clusterLen(i: i32): i32 { return unchecked(this.clusters[i]).byteLength; }
  address(i: i32): ArrayBuffer | null { return unchecked(this.addresses[i]); }
  addressPtr(i: i32): usize { return changetype<usize>(unchecked(this.addresses[i])); }
  addressLen(i: i32): i32 { const a = unchecked(this.addresses[i]); return a === null ? 0 : a.byteLength; }
  healthy(i: i32): bool { return unchecked(this.health[i]); }
  get clusterCount(): i32 { return this.listed.length; }
  listedClusterPtr(i: i32): usize { return changetype<usize>(unchecked(this.listed[i])); }
  listedClusterLen(i: i32): i32 { return unchecked(this.listed[i]).byteLength; }
}

/** Why the last parse failed ("" after a success). */
let lastError: string = "";
export function discoveryError(): string { return lastError; }

/** Parses an ENVOY_ADMIN answer keeping the `wanted` clusters; null (see discoveryError) when malformed. */
export function parseEnvoyAdmin(body: ArrayBuffer, wanted: Array<string>): DiscoveryResult | null {
  const root = objectOf(body);
  if (root === null) return null;
  const out = new DiscoveryResult();
  const statuses = root.get("cluster_statuses");
  if (statuses === null) { lastError = ""; return out; } // Envoy omits an empty list
  const list = statuses.asArray();
  if (list === null) return fail("cluster_statuses: expected array");
  for (let i = 0; i < list.length; i++) {
    const c = list[i].asObject();
    if (c === null) continue;
    const nameValue = c.get("name");
    const name: string | null = nameValue === null ? null : nameValue.asString();
    if (name === null || !wanted.includes(name)) continue;
    const clusterBytes = String.UTF8.encode(name);
    out.list(clusterBytes);
    const hostsValue = c.get("host_statuses");
    const hosts: Array<JsonValue> | null = hostsValue === null ? null : hostsValue.asArray();
    for (let j = 0; hosts !== null && j < hosts.length; j++) {
      const h = hosts[j].asObject();
      if (h === null) { out.skipped++; continue; }
      const address = socketAddress(h);
      if (address === null) { out.skipped++; continue; }
      out.add(clusterBytes, address, adminHealthy(h));
    }
  }
  lastError = "";
  return out;
}

/** Parses an ENDPOINTS answer; null (see discoveryError) when malformed. */
export function parseEndpointsAnswer(body: ArrayBuffer): DiscoveryResult | null {
  const root = objectOf(body);
  if (root === null) return null;
  const value = root.get("endpoints");
  const list: Array<JsonValue> | null = value === null ? null : value.asArray();
  if (list === null) return fail("endpoints: expected array");
  const out = new DiscoveryResult();
  const seen = new Set<string>();
  for (let i = 0; i < list.length; i++) {
    const o = list[i].asObject();
    if (o === null) { out.skipped++; continue; }
    const cv = o.get("cluster");
    const cluster: string | null = cv === null ? "" : cv.asString();
    const av = o.get("address");
    const address: string | null = av === null ? null : av.asString();
    if (cluster === null || address === null) { out.skipped++; continue; }
    const bytes = String.UTF8.encode(address);
    if (!isEndpointAddress(changetype<usize>(bytes), bytes.byteLength)) { out.skipped++; continue; }
    const hv = o.get("healthy");
    const clusterBytes = String.UTF8.encode(cluster);
    if (!seen.has(cluster)) { seen.add(cluster); out.list(clusterBytes); }
    out.add(clusterBytes, bytes, hv === null ? true : hv.asBool(true));
  }
  lastError = "";
  return out;
}

function objectOf(body: ArrayBuffer): JsonObject | null {
  const parsed = parseJsonBytes(body, 32);
  const value = parsed.value;
  if (value === null) {
    lastError = "invalid JSON at byte " + parsed.offset.toString() + ": " + parsed.error;
    return null;
  }
  const o = value.asObject();
  if (o === null) { lastError = "expected a JSON object"; return null; }
  return o;
}

function fail(message: string): DiscoveryResult | null {
  lastError = message;
  return null;
}

/** "ip:port" of `address.socket_address`, "[v6]:port" for IPv6; null when not an endpoint address. */
function socketAddress(h: JsonObject): ArrayBuffer | null {
  const a = field(h, "address");
  const sa: JsonObject | null = a === null ? null : field(a, "socket_address");
  if (sa === null) return null;
  const ipValue = sa.get("address");
  const ip: string | null = ipValue === null ? null : ipValue.asString();
  const portValue = sa.get("port_value");
  if (ip === null || portValue === null || !portValue.isInteger()) return null;
  const port = portValue.integerValue();
  if (port < 1 || port > 65535) return null;
  const text = (ip.includes(":") ? "[" + ip + "]" : ip) + ":" + port.toString();
  const bytes = String.UTF8.encode(text);
  return isEndpointAddress(changetype<usize>(bytes), bytes.byteLength) ? bytes : null;
}

function field(o: JsonObject, key: string): JsonObject | null {
  const v = o.get(key);
  return v === null ? null : v.asObject();
}

function adminHealthy(h: JsonObject): bool {
  const hs = field(h, "health_status");
  if (hs === null) return true;
  if (flag(hs, "failed_active_health_check") || flag(hs, "failed_outlier_check") ||
      flag(hs, "failed_active_degraded_check") || flag(hs, "pending_dynamic_removal")) return false;
  const eds = hs.get("eds_health_status");
  const s: string | null = eds === null ? null : eds.asString();
  return !(s !== null && (s == "UNHEALTHY" || s == "DRAINING" || s == "TIMEOUT"));
}

function flag(o: JsonObject, key: string): bool {
  const v: JsonValue | null = o.get(key);
  return v !== null && v.asBool(false);
}
