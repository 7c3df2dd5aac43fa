/** Conversions between HeaderMap and Node's header objects, dropping hop-by-hop headers. */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import { HeaderMap } from "../../../http/header-map.ts";
import { HOP_BY_HOP } from "./types.ts";

/** HTTP/2 request/response headers: pseudo-headers kept, hop-by-hop and `host` (when :authority is set) dropped. */
export function toNodeH2Headers(h: HeaderMap): OutgoingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  const hasAuthority = h.has(":authority");
  for (const [k, v] of h.view()) {
    if (HOP_BY_HOP.has(k)) continue;
    if (k === "te" && v.trim().toLowerCase() !== "trailers") continue;
    if (k === "host" && hasAuthority) continue;
    const cur = out[k];
    if (cur === undefined) out[k] = v;
    else if (Array.isArray(cur)) cur.push(v);
    else out[k] = [cur, v];
  }
  return out;
}

/** HTTP/1.1 request headers: pseudo-headers and hop-by-hop headers dropped, :authority -> host. */
export function toNodeH1Headers(h: HeaderMap): OutgoingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of h.view()) {
    if (k.startsWith(":") || HOP_BY_HOP.has(k) || k === "te") continue;
    const cur = out[k];
    if (cur === undefined) out[k] = v;
    else if (Array.isArray(cur)) cur.push(v);
    else out[k] = [cur, v];
  }
  const authority = h.get(":authority");
  if (authority !== undefined) out["host"] = authority;
  return out;
}

/** A header map from Node's incoming headers (HTTP/2 objects or HTTP/1 headers), hop-by-hop dropped. */
export function fromNodeHeaders(obj: IncomingHttpHeaders | Record<string, unknown>, status?: number): HeaderMap {
  const m = new HeaderMap();
  if (status !== undefined) m.add(":status", String(status));
  for (const k of Object.keys(obj)) {
    const key = k.toLowerCase();
    if (HOP_BY_HOP.has(key)) continue;
    if (status !== undefined && key === ":status") continue;
    const v = (obj as Record<string, unknown>)[k];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) m.add(key, String(x));
    else m.add(key, String(v));
  }
  return m;
}

/** Trailers from HTTP/1's rawTrailers list. */
export function fromRawPairs(raw: string[]): HeaderMap {
  const m = new HeaderMap();
  for (let i = 0; i + 1 < raw.length; i += 2) m.add(raw[i]!.toLowerCase(), raw[i + 1]!);
  return m;
}
