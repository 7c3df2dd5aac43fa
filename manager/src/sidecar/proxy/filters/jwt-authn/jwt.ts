/**
 * A JWT parsed as Envoy's jwt_verify does it (source/common/jwt/jwt.cc, struct_utils.cc):
 * - three non-empty sections split on "." (empty sections are skipped, so "a..b" is malformed
 *   and a trailing "." is ignored), each base64url (absl::WebSafeBase64Unescape: padding
 *   optional, no other characters);
 * - header and payload JSON objects (protobuf Struct: UTF-8, numbers as doubles);
 * - header `alg` a string among ES256/384/512, HS256/384/512, RS256/384/512, PS256/384/512 and
 *   EdDSA (so "none" is "not supported"), `kid` a string if present;
 * - payload `iss`, `sub`, `jti` strings, `iat`, `nbf`, `exp` numbers in [0, 2^64), `aud` a
 *   string or a list of strings; each problem has its own status, checked in this order.
 * Time: not yet valid when now + skew < nbf; expired when exp is set and now > exp + skew.
 * Never throws on any input.
 */
import { Status } from "./status.ts";

export type JsonObject = Record<string, unknown>;

export interface Jwt {
  alg: string;
  kid: string;
  iss: string;
  sub: string;
  audiences: string[];
  iat: number;
  nbf: number;
  exp: number;
  header: JsonObject;
  payload: JsonObject;
  headerBase64url: string;
  payloadBase64url: string;
  signature: Uint8Array;
}

const IMPLEMENTED_ALGS = new Set([
  "ES256", "ES384", "ES512", "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA",
]);

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** absl::WebSafeBase64Unescape: base64url with optional "=" padding; undefined if invalid. */
export function base64urlDecode(s: string): Uint8Array | undefined {
  const body = s.replace(/={1,2}$/, "");
  if (!BASE64URL.test(body) || body.length % 4 === 1) return undefined;
  if (body.length !== s.length && s.length % 4 !== 0) return undefined;
  return new Uint8Array(Buffer.from(body, "base64url"));
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** protobuf's JSON -> Struct: an object, valid UTF-8, finite numbers. */
export function parseJsonObject(bytes: Uint8Array): JsonObject | undefined {
  try {
    const v: unknown = JSON.parse(utf8.decode(bytes), (_k, x: unknown) => {
      if (typeof x === "number" && !Number.isFinite(x)) throw new Error("number out of range");
      return x;
    });
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as JsonObject) : undefined;
  } catch {
    return undefined;
  }
}

type Found<T> = { r: "ok"; v: T } | { r: "missing" } | { r: "wrong" } | { r: "range" };

/** StructUtils::GetValue: a "."-separated path through nested objects. */
export function claimValue(obj: JsonObject, path: string): Found<unknown> {
  const names = path.split(".");
  let cur: JsonObject = obj;
  for (let i = 0; i < names.length; i++) {
    const n = names[i]!;
    if (!Object.hasOwn(cur, n)) return { r: "missing" };
    const v = cur[n];
    if (i === names.length - 1) return { r: "ok", v };
    if (v === null || typeof v !== "object" || Array.isArray(v)) return { r: "wrong" };
    cur = v as JsonObject;
  }
  return { r: "missing" };
}

function getString(obj: JsonObject, name: string): Found<string> {
  const f = claimValue(obj, name);
  if (f.r !== "ok") return f;
  return typeof f.v === "string" ? { r: "ok", v: f.v } : { r: "wrong" };
}

const TWO_64 = 18446744073709551616;

function getUInt64(obj: JsonObject, name: string): Found<number> {
  const f = claimValue(obj, name);
  if (f.r !== "ok") return f;
  if (typeof f.v !== "number") return { r: "wrong" };
  if (f.v < 0 || f.v >= TWO_64) return { r: "range" };
  return { r: "ok", v: Math.trunc(f.v) };
}

function getStringList(obj: JsonObject, name: string): Found<string[]> {
  const f = claimValue(obj, name);
  if (f.r !== "ok") return f;
  if (typeof f.v === "string") return { r: "ok", v: [f.v] };
  if (Array.isArray(f.v) && f.v.every((x) => typeof x === "string")) return { r: "ok", v: f.v as string[] };
  return { r: "wrong" };
}

export function parseJwt(token: string): Jwt | Status {
  const parts = token.split(".").filter((p) => p.length > 0);
  if (parts.length !== 3) return Status.JwtBadFormat;
  const [h64, p64, s64] = parts as [string, string, string];
  const headerBytes = base64urlDecode(h64);
  if (!headerBytes) return Status.JwtHeaderParseErrorBadBase64;
  const header = parseJsonObject(headerBytes);
  if (!header) return Status.JwtHeaderParseErrorBadJson;
  const alg = getString(header, "alg");
  if (alg.r !== "ok") return Status.JwtHeaderBadAlg;
  if (!IMPLEMENTED_ALGS.has(alg.v)) return Status.JwtHeaderNotImplementedAlg;
  const kid = getString(header, "kid");
  if (kid.r === "wrong") return Status.JwtHeaderBadKid;
  const payloadBytes = base64urlDecode(p64);
  if (!payloadBytes) return Status.JwtPayloadParseErrorBadBase64;
  const payload = parseJsonObject(payloadBytes);
  if (!payload) return Status.JwtPayloadParseErrorBadJson;
  const iss = getString(payload, "iss");
  if (iss.r === "wrong") return Status.JwtPayloadParseErrorIssNotString;
  const sub = getString(payload, "sub");
  if (sub.r === "wrong") return Status.JwtPayloadParseErrorSubNotString;
  const times: Array<[string, Status, Status]> = [
    ["iat", Status.JwtPayloadParseErrorIatNotInteger, Status.JwtPayloadParseErrorIatOutOfRange],
    ["nbf", Status.JwtPayloadParseErrorNbfNotInteger, Status.JwtPayloadParseErrorNbfOutOfRange],
    ["exp", Status.JwtPayloadParseErrorExpNotInteger, Status.JwtPayloadParseErrorExpOutOfRange],
  ];
  const t: Record<string, number> = {};
  for (const [name, notInteger, outOfRange] of times) {
    const v = getUInt64(payload, name);
    if (v.r === "wrong") return notInteger;
    if (v.r === "range") return outOfRange;
    t[name] = v.r === "ok" ? v.v : 0;
  }
  if (getString(payload, "jti").r === "wrong") return Status.JwtPayloadParseErrorJtiNotString;
  const aud = getStringList(payload, "aud");
  if (aud.r === "wrong") return Status.JwtPayloadParseErrorAudNotString;
  const signature = base64urlDecode(s64);
  if (!signature) return Status.JwtSignatureParseErrorBadBase64;
  return {
    alg: alg.v,
    kid: kid.r === "ok" ? kid.v : "",
    iss: iss.r === "ok" ? iss.v : "",
    sub: sub.r === "ok" ? sub.v : "",
    audiences: aud.r === "ok" ? aud.v : [],
    iat: t.iat!,
    nbf: t.nbf!,
    exp: t.exp!,
    header,
    payload,
    headerBase64url: h64,
    payloadBase64url: p64,
    signature,
  };
}

/** Jwt::verifyTimeConstraint, in whole seconds. */
export function verifyTimeConstraint(jwt: Jwt, nowSeconds: number, clockSkewSeconds: number): Status {
  if (nowSeconds + clockSkewSeconds < jwt.nbf) return Status.JwtNotYetValid;
  if (jwt.exp && nowSeconds > jwt.exp + clockSkewSeconds) return Status.JwtExpired;
  return Status.Ok;
}
