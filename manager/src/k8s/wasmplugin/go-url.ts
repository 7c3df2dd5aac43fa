/**
 * Go's `net/url.ParseRequestURI` (Go 1.26 `net/url/url.go`: parse with viaRequest = true), the
 * parser behind the Kubernetes CEL URL library (`k8s.io/apiserver/pkg/cel/library/urls.go`:
 * `isURL(s)` is "ParseRequestURI(s) succeeds", `url(s)` errors where it fails, `getScheme()` is
 * the lower-cased scheme). The CRD rule on `WasmPlugin.spec.url` is evaluated with it, so a URL
 * is accepted or refused exactly as the API server does.
 *
 * Only what a verdict depends on is kept: control bytes, the scheme, the authority (userinfo
 * characters, port digits, IP literals, host characters and escapes) and the path's escapes.
 * Errors carry Go's messages.
 */
import { isIPv4, isIPv6 } from "node:net";

export interface GoUrl {
  scheme: string;
  opaque: string;
  host: string;
  /** The escaped path as written. */
  rawPath: string;
  rawQuery: string;
}

export class GoUrlError extends Error {
  override readonly name = "GoUrlError";
  constructor(input: string, reason: string) {
    super(`parse ${JSON.stringify(input)}: ${reason}`);
  }
}

type Mode = "host" | "zone" | "path" | "userPassword";

const isAlnum = (c: number) => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39);
const isHex = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
const unhex = (c: number) => (c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x61 + 10);

/** Go's shouldEscape for the modes parsing uses (gen_encoding_table.go). */
function shouldEscape(c: number, mode: Mode): boolean {
  if (isAlnum(c)) return false;
  const ch = String.fromCharCode(c);
  if ((mode === "host" || mode === "zone") && `!$&'()*+,;=:[]<>"`.includes(ch)) return false;
  if ("-_.~".includes(ch)) return false;
  if ("$&+,/:;=?@".includes(ch)) {
    if (mode === "path") return ch === "?";
    if (mode === "userPassword") return "@/?:".includes(ch);
  }
  return true;
}

/** Go's unescape, validation half: throws the error Go returns, else returns nothing. */
function checkEscapes(s: string, mode: Mode, input: string): void {
  for (let i = 0; i < s.length; ) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      if (i + 2 >= s.length || !isHex(s.charCodeAt(i + 1)) || !isHex(s.charCodeAt(i + 2))) {
        throw new GoUrlError(input, `invalid URL escape ${JSON.stringify(s.slice(i, i + 3))}`);
      }
      const seq = s.slice(i, i + 3);
      if (mode === "host" && unhex(s.charCodeAt(i + 1)) < 8 && seq !== "%25") throw new GoUrlError(input, `invalid URL escape ${JSON.stringify(seq)}`);
      if (mode === "zone") {
        const v = (unhex(s.charCodeAt(i + 1)) << 4) | unhex(s.charCodeAt(i + 2));
        if (seq !== "%25" && v !== 0x20 && shouldEscape(v, "host")) throw new GoUrlError(input, `invalid URL escape ${JSON.stringify(seq)}`);
      }
      i += 3;
      continue;
    }
    if ((mode === "host" || mode === "zone") && c < 0x80 && shouldEscape(c, mode)) {
      throw new GoUrlError(input, `invalid character ${JSON.stringify(s[i])} in host name`);
    }
    i++;
  }
}

function unescapeAscii(s: string): string {
  return s.replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

const validOptionalPort = (port: string) => port === "" || /^:\d*$/.test(port);

function validUserinfo(s: string): boolean {
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (isAlnum(c) || "-._:~!$&'()*+,;=%@".includes(ch)) continue;
    return false;
  }
  return true;
}

function parseHost(scheme: string, host: string, input: string): string {
  const open = host.lastIndexOf("[");
  if (open > 0) throw new GoUrlError(input, "invalid IP-literal");
  if (open === 0) {
    const close = host.lastIndexOf("]");
    if (close < 0) throw new GoUrlError(input, "missing ']' in host");
    const colonPort = host.slice(close + 1);
    if (!validOptionalPort(colonPort)) throw new GoUrlError(input, `invalid port ${JSON.stringify(colonPort)} after host`);
    checkEscapes(colonPort, "host", input);
    const hostname = host.slice(1, close);
    const zone = hostname.indexOf("%25");
    let literal: string;
    if (zone >= 0) {
      checkEscapes(hostname.slice(0, zone), "host", input);
      checkEscapes(hostname.slice(zone), "zone", input);
      literal = unescapeAscii(hostname.slice(0, zone));
    } else {
      checkEscapes(hostname, "host", input);
      literal = unescapeAscii(hostname);
    }
    if (isIPv4(literal)) throw new GoUrlError(input, "invalid IP-literal");
    if (!isIPv6(literal)) throw new GoUrlError(input, `invalid host: ParseAddr(${JSON.stringify(literal)}): unable to parse IP`);
    return host;
  }
  const first = host.indexOf(":");
  if (first !== -1) {
    const last = host.lastIndexOf(":");
    // Go 1.26 (urlstrictcolons=1): a second colon is refused for http and https only.
    const at = last !== first && (scheme === "http" || scheme === "https") ? first : last;
    const colonPort = host.slice(at);
    if (!validOptionalPort(colonPort)) throw new GoUrlError(input, `invalid port ${JSON.stringify(colonPort)} after host`);
  }
  checkEscapes(host, "host", input);
  return host;
}

/** url.ParseRequestURI(input); throws GoUrlError with Go's reason. */
export function parseRequestUri(input: string): GoUrl {
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) throw new GoUrlError(input, "net/url: invalid control character in URL");
  }
  if (input === "") throw new GoUrlError(input, "empty url");
  const url: GoUrl = { scheme: "", opaque: "", host: "", rawPath: "", rawQuery: "" };
  if (input === "*") return { ...url, rawPath: "*" };
  let rest = input;
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i);
    if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a)) continue;
    if ((c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e) {
      if (i === 0) break;
      continue;
    }
    if (c === 0x3a) {
      if (i === 0) throw new GoUrlError(input, "missing protocol scheme");
      url.scheme = input.slice(0, i).toLowerCase();
      rest = input.slice(i + 1);
    }
    break;
  }
  const q = rest.indexOf("?");
  if (q >= 0) {
    url.rawQuery = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  if (!rest.startsWith("/")) {
    if (url.scheme !== "") return { ...url, opaque: rest };
    throw new GoUrlError(input, "invalid URI for request");
  }
  if (url.scheme !== "" && rest.startsWith("//")) {
    let authority = rest.slice(2);
    rest = "";
    const slash = authority.indexOf("/");
    if (slash >= 0) {
      rest = authority.slice(slash);
      authority = authority.slice(0, slash);
    }
    const at = authority.lastIndexOf("@");
    url.host = parseHost(url.scheme, at < 0 ? authority : authority.slice(at + 1), input);
    if (at >= 0) {
      const userinfo = authority.slice(0, at);
      if (!validUserinfo(userinfo)) throw new GoUrlError(input, "net/url: invalid userinfo");
      const colon = userinfo.indexOf(":");
      if (colon < 0) checkEscapes(userinfo, "userPassword", input);
      else {
        checkEscapes(userinfo.slice(0, colon), "userPassword", input);
        checkEscapes(userinfo.slice(colon + 1), "userPassword", input);
      }
    }
  }
  checkEscapes(rest, "path", input);
  url.rawPath = rest;
  return url;
}

/** The CEL `isURL(string)` of the Kubernetes URL library. */
export function isUrl(s: string): boolean {
  try {
    parseRequestUri(s);
    return true;
  } catch {
    return false;
  }
}
