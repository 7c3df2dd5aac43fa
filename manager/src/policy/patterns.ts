/**
 * The small languages inside a policy, parsed and matched exactly as the filter does
 * (filters/grpc-auth/README.md): method patterns and request paths, SPIFFE principal patterns,
 * CIDRs (IPv4 and IPv6, RFC 4632 / RFC 4291 text forms), header names and rule names.
 *
 * Parsers return the value or a one-line reason (never the input: it may be a secret).
 */
import type { Cidr, MethodPattern, PrincipalPattern } from "./model.ts";

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };
const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(reason: string): Parsed<T> => ({ ok: false, reason });

/** A protobuf identifier: [A-Za-z_][A-Za-z0-9_]*. */
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const dotted = (s: string) => s.length > 0 && s.split(".").every((p) => IDENT.test(p));

const METHOD_FORMS = "expected /package.Service/Method, /package.Service/*, /package.* or *";

/** Parses a method pattern (see README "Methods"). */
export function parseMethodPattern(text: string): Parsed<MethodPattern> {
  if (text === "*") return ok({ kind: "any" });
  if (!text.startsWith("/")) return fail(`${METHOD_FORMS} (a pattern starts with "/")`);
  const body = text.slice(1);
  const slash = body.indexOf("/");
  if (slash < 0) {
    if (body.endsWith(".*")) {
      const pkg = body.slice(0, -2);
      if (dotted(pkg)) return ok({ kind: "package", pkg });
    }
    if (body.includes("*")) return fail(`${METHOD_FORMS} (a package wildcard is "/<package>.*")`);
    return fail(`${METHOD_FORMS} (no "/" between service and method)`);
  }
  const service = body.slice(0, slash);
  const method = body.slice(slash + 1);
  if (!dotted(service)) {
    return fail(`${METHOD_FORMS} (the service must be dot-separated identifiers${service.includes("*") ? "; wildcards only as a whole segment" : ""})`);
  }
  if (method === "*") return ok({ kind: "service", service });
  if (method.includes("/")) return fail(`${METHOD_FORMS} (more than two "/" segments)`);
  if (method.includes("*")) return fail(`${METHOD_FORMS} (a method wildcard is the whole segment: "/${service}/*")`);
  if (!IDENT.test(method)) return fail(`${METHOD_FORMS} (the method must be an identifier)`);
  return ok({ kind: "exact", service, method });
}

/** A request's method, as the filter reads `:path` (SDK parseGrpcPath), or undefined when malformed. */
export function parseRequestPath(path: string): { service: string; method: string } | undefined {
  const n = path.length;
  if (n < 4 || path.charCodeAt(0) !== 0x2f) return undefined;
  let slash = -1;
  let prev = 0x2f;
  for (let i = 1; i < n; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x2f) {
      if (slash >= 0 || prev === 0x2f || prev === 0x2e) return undefined;
      slash = i;
    } else if (c === 0x2e) {
      if (slash >= 0 || prev === 0x2f || prev === 0x2e) return undefined;
    } else if (c <= 0x20 || c >= 0x7f || c === 0x3f || c === 0x23 || c === 0x25) {
      return undefined;
    }
    prev = c;
  }
  if (slash < 0 || slash === n - 1) return undefined;
  return { service: path.slice(1, slash), method: path.slice(slash + 1) };
}

export function methodMatches(p: MethodPattern, m: { service: string; method: string }): boolean {
  switch (p.kind) {
    case "any":
      return true;
    case "package":
      return m.service.startsWith(p.pkg + ".");
    case "service":
      return m.service === p.service;
    case "exact":
      return m.service === p.service && m.method === p.method;
  }
}

// ===== principals =====

const SEGMENT = /^[A-Za-z0-9._~-]+$/;
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;

/**
 * `spiffe://<trust domain>/ns/<namespace>/sa/<service account>` (Istio's identity), or Istio's
 * short form `<trust domain>/ns/<namespace>/sa/<service account>`, each part literal or `*`;
 * or `*` alone (any peer with a URI SAN).
 */
export function parsePrincipalPattern(text: string): Parsed<PrincipalPattern> {
  if (text === "*") return ok({ any: true, trustDomain: "*", namespace: "*", serviceAccount: "*" });
  const body = text.startsWith("spiffe://") ? text.slice("spiffe://".length) : text;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(body)) return fail('expected a SPIFFE ID "spiffe://<trust domain>/ns/<namespace>/sa/<service account>"');
  const parts = body.split("/");
  if (parts.length !== 5 || parts[1] !== "ns" || parts[3] !== "sa") {
    return fail('expected "spiffe://<trust domain>/ns/<namespace>/sa/<service account>" (each part literal or *) or *');
  }
  const [td, , ns, , sa] = parts as [string, string, string, string, string];
  if (td !== "*" && !TRUST_DOMAIN.test(td)) return fail("the trust domain must be lower-case letters, digits, '.', '-' or '_', or *");
  for (const [what, v] of [["namespace", ns], ["service account", sa]] as const) {
    if (v !== "*" && !SEGMENT.test(v)) return fail(`the ${what} must be a non-empty SPIFFE path segment or *`);
  }
  return ok({ any: false, trustDomain: td, namespace: ns, serviceAccount: sa });
}

/** A peer's URI SAN as the filter reads it: a SPIFFE workload identity, or another URI. */
export function parseSpiffeId(uri: string): { trustDomain: string; namespace: string; serviceAccount: string } | undefined {
  if (!uri.startsWith("spiffe://")) return undefined;
  const parts = uri.slice("spiffe://".length).split("/");
  if (parts.length !== 5 || parts[1] !== "ns" || parts[3] !== "sa") return undefined;
  if (parts[0] === "" || parts[2] === "" || parts[4] === "") return undefined;
  return { trustDomain: parts[0]!, namespace: parts[2]!, serviceAccount: parts[4]! };
}

export function principalMatches(p: PrincipalPattern, uriSan: string): boolean {
  if (p.any) return true;
  const id = parseSpiffeId(uriSan);
  if (!id) return false;
  const seg = (pattern: string, v: string) => pattern === "*" || pattern === v;
  return seg(p.trustDomain, id.trustDomain) && seg(p.namespace, id.namespace) && seg(p.serviceAccount, id.serviceAccount);
}

// ===== IP addresses =====

function parseIpv4(s: string): Uint8Array | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return undefined;
    out[i] = Number(p);
  }
  return out;
}

function parseIpv6(s: string): Uint8Array | undefined {
  if (s.length === 0 || s.length > 45) return undefined;
  let head = s;
  let tail = "";
  const dc = s.indexOf("::");
  if (dc >= 0) {
    if (s.indexOf("::", dc + 1) >= 0) return undefined;
    head = s.slice(0, dc);
    tail = s.slice(dc + 2);
  }
  // An IPv4 tail may only end the address: the tail part, or the head when there is no "::".
  const groups = (part: string, last: boolean): number[] | undefined => {
    if (part === "") return [];
    const out: number[] = [];
    const items = part.split(":");
    for (let i = 0; i < items.length; i++) {
      const g = items[i]!;
      if (last && i === items.length - 1 && g.includes(".")) {
        const v4 = parseIpv4(g);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  const h = groups(head, dc < 0);
  const t = groups(tail, true);
  if (!h || !t) return undefined;
  if (dc < 0 && h.length !== 8) return undefined;
  if (dc >= 0 && h.length + t.length > 7) return undefined;
  const all = dc < 0 ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

/** An IPv4 dotted quad or an IPv6 address (RFC 4291 §2.2, no zone), as bytes. */
export function parseIp(s: string): Uint8Array | undefined {
  return s.includes(":") ? parseIpv6(s) : parseIpv4(s);
}

/** `10.0.0.0/8`, `2001:db8::/32`, or a bare address (/32, /128). Host bits must be zero. */
export function parseCidr(text: string): Parsed<Cidr> {
  const slash = text.indexOf("/");
  const addr = slash < 0 ? text : text.slice(0, slash);
  const bytes = parseIp(addr);
  if (!bytes) return fail("expected an IPv4 or IPv6 address or CIDR (e.g. 10.0.0.0/8, 2001:db8::/32)");
  const bits = bytes.length * 8;
  let prefix = bits;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > bits) return fail(`the prefix length must be an integer in [0, ${bits}]`);
    prefix = Number(p);
  }
  for (let b = prefix; b < bits; b++) {
    if ((bytes[b >> 3]! >> (7 - (b & 7))) & 1) return fail(`host bits are set after /${prefix} (write the network address)`);
  }
  return ok({ bytes, prefix, text: slash < 0 ? `${addr}/${bits}` : text });
}

export function cidrContains(c: Cidr, ip: Uint8Array): boolean {
  if (ip.length !== c.bytes.length) return false;
  for (let b = 0; b < c.prefix; b++) {
    if (((ip[b >> 3]! ^ c.bytes[b >> 3]!) >> (7 - (b & 7))) & 1) return false;
  }
  return true;
}

/** The IP of Envoy's `source.address` ("1.2.3.4:5", "[::1]:5"), as bytes. */
export function parseSourceAddress(address: string): Uint8Array | undefined {
  if (address.startsWith("[")) {
    const end = address.indexOf("]");
    return end < 0 ? undefined : parseIpv6(address.slice(1, end));
  }
  const colon = address.lastIndexOf(":");
  return parseIpv4(colon < 0 ? address : address.slice(0, colon));
}

// ===== names =====

/** HTTP/2 header names: lower-case tchar (RFC 9110 §5.6.2), or a pseudo-header. */
export function checkHeaderName(name: string): string | undefined {
  if (!/^:?[a-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) return "expected a lower-case HTTP header name";
  return undefined;
}

/** Rule, key, user and provider names: 1-63 of [A-Za-z0-9._-], starting with a letter or digit. */
export function checkName(name: string): string | undefined {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name)) {
    return "expected 1-63 characters of letters, digits, '.', '_' or '-', starting with a letter or digit";
  }
  return undefined;
}
