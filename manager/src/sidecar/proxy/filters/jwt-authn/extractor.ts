/**
 * Where JWTs are found in a request, as Envoy's jwt_authn Extractor does it (extractor.cc):
 * - each provider's from_headers (name + value_prefix), from_params and from_cookies; a
 *   provider with none of them uses `Authorization: Bearer <token>` and the `access_token`
 *   query parameter;
 * - headers first (locations ordered by name + prefix), then query parameters, then cookies
 *   (each ordered by name); a header's values are joined with ","; a prefix is searched
 *   anywhere in the value and the token is the run of base64url-and-dot characters after it
 *   (the whole rest when there is none); query values are percent-decoded; cookie values lose
 *   their double quotes; the first of repeated parameters or cookies counts;
 * - a location remembers which issuers named it (an empty issuer allows any);
 * - removeJwt removes a header location's header (query and cookie tokens stay, as in Envoy);
 * - sanitizeHeaders removes every forward_payload_header and claim_to_headers header first.
 */
import type { JwtProviderConfig } from "../../../config/model.ts";
import type { HeaderMap } from "../../../http/header-map.ts";

export interface JwtLocation {
  token: string;
  isIssuerAllowed(issuer: string): boolean;
  removeJwt(headers: HeaderMap): void;
}

class IssuerChecker {
  private allowAll = false;
  private readonly issuers = new Set<string>();
  add(issuer: string): void {
    if (issuer === "") this.allowAll = true;
    else this.issuers.add(issuer);
  }
  check(issuer: string): boolean {
    return this.allowAll || this.issuers.has(issuer);
  }
}

const JWT_CHARS = /[A-Za-z0-9\-_.]/;

/** The 3-part base64url string after `after`, or the whole value when there is none. */
function extractJwt(value: string, after: number): string {
  let start = after;
  while (start < value.length && !JWT_CHARS.test(value[start]!)) start++;
  if (start >= value.length) return value;
  let end = start;
  while (end < value.length && JWT_CHARS.test(value[end]!)) end++;
  return value.slice(start, end);
}

/** Envoy's PercentEncoding::decode: %XX sequences become bytes; anything else stays. */
function percentDecode(s: string): string {
  if (!s.includes("%")) return s;
  const out: number[] = [];
  const bytes = Buffer.from(s, "latin1");
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x25 && i + 2 < bytes.length && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(b);
  }
  return Buffer.from(out).toString("latin1");
}

function queryParams(path: string): Map<string, string> {
  const params = new Map<string, string>();
  const q = path.indexOf("?");
  if (q < 0) return params;
  for (const part of path.slice(q + 1).split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const name = percentDecode(eq < 0 ? part : part.slice(0, eq));
    const value = eq < 0 ? "" : percentDecode(part.slice(eq + 1));
    if (!params.has(name)) params.set(name, value);
  }
  return params;
}

function cookies(headers: HeaderMap, wanted: ReadonlySet<string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const header of headers.getAll("cookie")) {
    for (const piece of header.split(";")) {
      const s = piece.trimStart();
      const eq = s.indexOf("=");
      if (eq < 0) continue;
      const name = s.slice(0, eq).trim();
      if (!wanted.has(name) || out.has(name)) continue;
      let value = s.slice(eq + 1);
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      out.set(name, value);
    }
  }
  return out;
}

export class Extractor {
  private readonly headerLocations = new Map<string, { header: string; prefix: string; issuers: IssuerChecker }>();
  private readonly paramLocations = new Map<string, IssuerChecker>();
  private readonly cookieLocations = new Map<string, IssuerChecker>();
  private readonly headersToSanitize: string[] = [];

  constructor(providers: readonly JwtProviderConfig[]) {
    for (const p of providers) {
      for (const h of p.fromHeaders) this.addHeader(p.issuer, h.name, h.valuePrefix);
      for (const name of p.fromParams) this.add(this.paramLocations, name, p.issuer);
      for (const name of p.fromCookies) this.add(this.cookieLocations, name, p.issuer);
      if (p.fromHeaders.length === 0 && p.fromParams.length === 0 && p.fromCookies.length === 0) {
        this.addHeader(p.issuer, "authorization", "Bearer ");
        this.add(this.paramLocations, "access_token", p.issuer);
      }
      if (p.forwardPayloadHeader) this.headersToSanitize.push(p.forwardPayloadHeader);
      for (const c of p.claimToHeaders) this.headersToSanitize.push(c.headerName);
    }
  }

  private add(map: Map<string, IssuerChecker>, name: string, issuer: string): void {
    let checker = map.get(name);
    if (!checker) map.set(name, (checker = new IssuerChecker()));
    checker.add(issuer);
  }

  private addHeader(issuer: string, header: string, prefix: string): void {
    const key = header + prefix;
    let loc = this.headerLocations.get(key);
    if (!loc) this.headerLocations.set(key, (loc = { header, prefix, issuers: new IssuerChecker() }));
    loc.issuers.add(issuer);
  }

  extract(headers: HeaderMap): JwtLocation[] {
    const tokens: JwtLocation[] = [];
    for (const key of [...this.headerLocations.keys()].sort()) {
      const loc = this.headerLocations.get(key)!;
      const values = headers.getAll(loc.header);
      if (values.length === 0) continue;
      let value = values.join(",");
      if (loc.prefix) {
        const at = value.indexOf(loc.prefix);
        if (at < 0) continue;
        value = extractJwt(value, at + loc.prefix.length);
      }
      tokens.push({ token: value, isIssuerAllowed: (i) => loc.issuers.check(i), removeJwt: (h) => h.remove(loc.header) });
    }
    const path = headers.get(":path");
    if (this.paramLocations.size > 0 && path !== undefined) {
      const params = queryParams(path);
      for (const name of [...this.paramLocations.keys()].sort()) {
        const value = params.get(name);
        const checker = this.paramLocations.get(name)!;
        if (value !== undefined) tokens.push({ token: value, isIssuerAllowed: (i) => checker.check(i), removeJwt: () => {} });
      }
    }
    if (this.cookieLocations.size > 0) {
      const found = cookies(headers, new Set(this.cookieLocations.keys()));
      for (const name of [...this.cookieLocations.keys()].sort()) {
        const value = found.get(name);
        const checker = this.cookieLocations.get(name)!;
        if (value !== undefined) tokens.push({ token: value, isIssuerAllowed: (i) => checker.check(i), removeJwt: () => {} });
      }
    }
    return tokens;
  }

  sanitizeHeaders(headers: HeaderMap): void {
    for (const h of this.headersToSanitize) headers.remove(h);
  }
}
