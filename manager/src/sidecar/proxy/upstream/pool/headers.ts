/** Conversions between HeaderMap and the upstream codecs' header forms (Node's HTTP/1 objects, the HTTP/2 codec's flat lists), dropping hop-by-hop headers. */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import { HeaderMap } from "../../../http/header-map.ts";
import { HOP_BY_HOP } from "./types.ts";

/**
 * HTTP/2 request headers or trailers as the codec's flat [name, value, ...] list: pseudo-headers
 * first, hop-by-hop fields, `te` other than "trailers" and `host` (when :authority is set) dropped
 * (RFC 9113 §8.2.2). For request headers (`defaultAuthority` given) the pseudo-headers a request
 * must carry (§8.3.1) are filled in when missing, as Node's session.request() does: `:method`
 * GET, `:scheme` http, `:path` /, `:authority` the upstream host's address.
 */
export function toH2HeaderList(h: HeaderMap, defaultAuthority?: string): string[] {
  const out: string[] = [];
  const view = h.view();
  let pseudo = 0;
  while (pseudo < view.length && view[pseudo]![0].charCodeAt(0) === 58) pseudo++;
  let hasAuthority = false;
  if (defaultAuthority !== undefined) {
    let method = false;
    let scheme = false;
    let path = false;
    for (let i = 0; i < pseudo; i++) {
      const k = view[i]![0];
      if (k === ":authority") hasAuthority = true;
      else if (k === ":method") method = true;
      else if (k === ":scheme") scheme = true;
      else if (k === ":path") path = true;
    }
    if (!method) out.push(":method", "GET");
    if (!scheme) out.push(":scheme", "http");
    if (!path) out.push(":path", "/");
    if (!hasAuthority) out.push(":authority", defaultAuthority);
    hasAuthority = true;
  }
  for (let i = 0; i < view.length; i++) {
    const k = view[i]![0];
    const v = view[i]![1];
    if (HOP_BY_HOP.has(k)) continue;
    if (k === "te" && v.trim().toLowerCase() !== "trailers") continue;
    if (k === "host" && hasAuthority) continue;
    out.push(k, v);
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

/** A header map from a flat [name, value, ...] list: HTTP/1's rawTrailers, the HTTP/2 codec's header lists. */
export function fromRawPairs(raw: string[]): HeaderMap {
  const m = new HeaderMap();
  for (let i = 0; i + 1 < raw.length; i += 2) m.add(raw[i]!.toLowerCase(), raw[i + 1]!);
  return m;
}
