/**
 * add-header configuration, parsed once in onConfigure (README.md documents the format).
 *
 * Two syntaxes, the same four keys:
 *  - a flat JSON object with string values (what an Istio WasmPlugin `pluginConfig` becomes):
 *      {"request_header_name": "x-mesh", "request_header_value": "on", ...}
 *  - `key=value` entries separated by newlines or ';' ('#' starts a comment line).
 *
 * Keys: request_header_name, request_header_value, response_header_name, response_header_value.
 * A name needs its value (and vice versa); at least one header must be configured. Header names
 * are lower-cased and must be HTTP tokens (no pseudo-headers); values may not contain CR, LF or NUL.
 * Unknown or duplicate keys, or anything malformed, make the configuration invalid.
 */
import { HeaderPair } from "../../../sdk/pairs";

export class Config {
  constructor(public requestHeader: HeaderPair | null, public responseHeader: HeaderPair | null) {}
}

let error = "";
/** Why the last `parseConfig` returned null. */
export function configError(): string { return error; }

function fail(message: string): Config | null { error = message; return null; }

const KEYS: StaticArray<string> = ["request_header_name", "request_header_value", "response_header_name", "response_header_value"];

/** Parses the plugin configuration text; null (see configError) when invalid. */
export function parseConfig(text: string): Config | null {
  error = "";
  const t = text.trim();
  const entries = t.startsWith("{") ? parseFlatJson(t) : parseKeyValues(t);
  if (entries === null) return null;
  const keys = entries.keys();
  for (let i = 0; i < keys.length; i++) {
    if (!KEYS.includes(keys[i])) return fail("unknown key '" + keys[i] + "'");
  }
  const req = headerFrom(entries, "request_header");
  if (error.length > 0) return null;
  const resp = headerFrom(entries, "response_header");
  if (error.length > 0) return null;
  if (req === null && resp === null) return fail("configure request_header_name or response_header_name");
  return new Config(req, resp);
}

function headerFrom(entries: Map<string, string>, prefix: string): HeaderPair | null {
  const hasName = entries.has(prefix + "_name");
  const hasValue = entries.has(prefix + "_value");
  if (!hasName && !hasValue) return null;
  if (!hasName || !hasValue) { error = prefix + "_name and " + prefix + "_value go together"; return null; }
  const name = asciiLower(entries.get(prefix + "_name"));
  const value = entries.get(prefix + "_value");
  if (!isToken(name)) { error = prefix + "_name '" + name + "' is not a valid header name"; return null; }
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c == 0 || c == 0x0a || c == 0x0d) { error = prefix + "_value contains CR, LF or NUL"; return null; }
  }
  return new HeaderPair(name, value);
}

/** ASCII-only lower-casing (String#toLowerCase would pull in Unicode case tables). */
function asciiLower(s: string): string {
  let out = s;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) { out = s.substring(0, i) + String.fromCharCode(c + 32) + asciiLower(s.substring(i + 1)); break; }
  }
  return out;
}

/** RFC 9110 token; rejects ':' so pseudo-headers cannot be added. */
function isToken(s: string): bool {
  if (s.length == 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const alnum = (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
    if (!alnum && "!#$%&'*+-.^_`|~".indexOf(String.fromCharCode(c)) < 0) return false;
  }
  return true;
}

function put(entries: Map<string, string>, key: string, value: string): bool {
  if (key.length == 0) { error = "empty key"; return false; }
  if (entries.has(key)) { error = "duplicate key '" + key + "'"; return false; }
  entries.set(key, value);
  return true;
}

function parseKeyValues(text: string): Map<string, string> | null {
  const entries = new Map<string, string>();
  const lines = text.replaceAll(";", "\n").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line.length == 0 || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq < 0) { error = "expected key=value, got '" + line + "'"; return null; }
    if (!put(entries, line.substring(0, eq).trim(), line.substring(eq + 1).trim())) return null;
  }
  return entries;
}

// ===== a flat JSON object of string values =====

let src = "";
let pos = 0;

function skipWs(): void {
  while (pos < src.length) {
    const c = src.charCodeAt(pos);
    if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) break;
    pos++;
  }
}

function hex4(): i32 {
  if (pos + 4 > src.length) return -1;
  let v = 0;
  for (let i = 0; i < 4; i++) {
    const c = src.charCodeAt(pos + i);
    let d = -1;
    if (c >= 0x30 && c <= 0x39) d = c - 0x30;
    else if (c >= 0x61 && c <= 0x66) d = c - 0x61 + 10;
    else if (c >= 0x41 && c <= 0x46) d = c - 0x41 + 10;
    if (d < 0) return -1;
    v = (v << 4) | d;
  }
  pos += 4;
  return v;
}

/** A JSON string at `pos` (which must be '"'); null on malformed input. */
function jsonString(): string | null {
  if (pos >= src.length || src.charCodeAt(pos) != 0x22) { error = "expected a string at offset " + pos.toString(); return null; }
  pos++;
  let out = "";
  let start = pos;
  while (pos < src.length) {
    const c = src.charCodeAt(pos);
    if (c == 0x22) { out += src.substring(start, pos); pos++; return out; }
    if (c < 0x20) break;
    if (c != 0x5c) { pos++; continue; }
    out += src.substring(start, pos);
    pos++;
    if (pos >= src.length) break;
    const e = src.charCodeAt(pos++);
    if (e == 0x22 || e == 0x5c || e == 0x2f) out += String.fromCharCode(e);
    else if (e == 0x62) out += "\b";
    else if (e == 0x66) out += "\f";
    else if (e == 0x6e) out += "\n";
    else if (e == 0x72) out += "\r";
    else if (e == 0x74) out += "\t";
    else if (e == 0x75) { const u = hex4(); if (u < 0) break; out += String.fromCharCode(u); }
    else break;
    start = pos;
  }
  error = "malformed JSON string";
  return null;
}

function parseFlatJson(text: string): Map<string, string> | null {
  src = text; pos = 1;
  const entries = new Map<string, string>();
  skipWs();
  if (pos < src.length && src.charCodeAt(pos) == 0x7d) { pos++; skipWs(); return pos == src.length ? entries : jsonFail(); }
  while (true) {
    skipWs();
    const key = jsonString();
    if (key === null) return null;
    skipWs();
    if (pos >= src.length || src.charCodeAt(pos) != 0x3a) return jsonFail();
    pos++;
    skipWs();
    if (pos < src.length && src.charCodeAt(pos) != 0x22) { error = "value of '" + key + "' must be a string"; return null; }
    const value = jsonString();
    if (value === null) return null;
    if (!put(entries, key, value)) return null;
    skipWs();
    if (pos >= src.length) return jsonFail();
    const c = src.charCodeAt(pos++);
    if (c == 0x2c) continue;
    if (c != 0x7d) return jsonFail();
    skipWs();
    return pos == src.length ? entries : jsonFail();
  }
}

function jsonFail(): Map<string, string> | null {
  error = "malformed JSON object at offset " + pos.toString();
  return null;
}
