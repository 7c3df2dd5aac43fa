/**
 * gRPC helpers for filters (gRPC over HTTP/2 spec, PROTOCOL-HTTP2.md; Envoy source/common/grpc):
 *  - `isGrpcContentType`: is the request gRPC (Envoy's Grpc::Common::hasGrpcContentType).
 *  - `parseGrpcPath`: `:path` "/package.Service/Method" -> service + method; malformed -> null.
 *  - status codes 0..16 and their canonical names.
 *  - `grpcStatusFrom*`: the RPC's status in Envoy's order (Grpc::Common::getGrpcStatus): the
 *    trailers' grpc-status, else the headers' (trailers-only response), else the HTTP status mapped
 *    by Grpc::Utility::httpToGrpcStatus. grpc-status is read with absl::SimpleAtoi as Envoy does
 *    ("007" and " +7 " are 7); an unparsable or > 16 value is Envoy's InvalidCode (-1).
 *  - `GrpcStreamStatus` (grpc-status.ts): the same resolution, tracked through a stream's
 *    callbacks with a few hostcalls; `sendGrpcError`: a local gRPC error as Envoy sends it.
 *  - grpc-message percent-encoding / decoding.
 *  - `GrpcFrameParser` (grpc-frame.ts): length-prefixed messages across any chunking.
 */
import { Headers, findHeader } from "./pairs";

export { GrpcFrameParser } from "./grpc-frame";
export { GrpcStatus } from "./abi/imports";

// ===== content-type =====

/**
 * Envoy's Grpc::Common::hasGrpcContentType: `application/grpc`, or that followed by '+' or ';'
 * (`application/grpc+proto`, `application/grpc;charset=…`). `application/grpc-web` is not gRPC.
 */
export function isGrpcContentType(contentType: string | null): bool {
  if (contentType === null || !contentType.startsWith("application/grpc")) return false;
  if (contentType.length == 16) return true;
  const next = contentType.charCodeAt(16);
  return next == 0x2b || next == 0x3b; // '+' ';'
}

// ===== :path =====

export class GrpcMethod {
  constructor(public service: string, public method: string) {}
  /** The proto package of `service` ("" if none): "a.b.Svc" -> "a.b". */
  packageName(): string {
    const dot = this.service.lastIndexOf(".");
    return dot < 0 ? "" : this.service.substring(0, dot);
  }
}

/**
 * Parses "/<service>/<method>". The service is one or more dot-separated non-empty names; the
 * method is a non-empty name without dots. Names use visible ASCII other than '/', '?', '#', '%'.
 * Anything else (missing leading slash, empty parts, extra slashes, a query) gives null.
 */
export function parseGrpcPath(path: string): GrpcMethod | null {
  const n = path.length;
  if (n < 4 || path.charCodeAt(0) != 0x2f) return null;
  let slash = -1;
  let prev = 0x2f; // previous char; a dot may not follow '/' or '.'
  for (let i = 1; i < n; i++) {
    const c = path.charCodeAt(i);
    if (c == 0x2f) {
      if (slash >= 0 || prev == 0x2f || prev == 0x2e) return null;
      slash = i;
    } else if (c == 0x2e) {
      if (slash >= 0 || prev == 0x2f || prev == 0x2e) return null;
    } else if (c <= 0x20 || c >= 0x7f || c == 0x3f || c == 0x23 || c == 0x25) {
      return null;
    }
    prev = c;
  }
  if (slash < 0 || slash == n - 1) return null;
  return new GrpcMethod(path.substring(1, slash), path.substring(slash + 1));
}

// ===== status codes =====

/** Envoy's Status::WellKnownGrpcStatus::InvalidCode: grpc-status present but not 0..16. */
// @ts-ignore: decorator
@inline export const GRPC_STATUS_INVALID: i32 = -1;
/** No grpc-status (absent or empty value), and for a final status: nothing known yet. */
// @ts-ignore: decorator
@inline export const GRPC_STATUS_ABSENT: i32 = -2;

// @ts-ignore: decorator
@lazy const STATUS_NAMES: StaticArray<string> = [
  "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
  "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
  "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
];

/** Canonical name of a status code ("UNKNOWN_STATUS" outside 0..16). */
export function grpcStatusName(code: i32): string {
  return code >= 0 && code <= 16 ? unchecked(STATUS_NAMES[code]) : "UNKNOWN_STATUS";
}

/** Envoy Grpc::Utility::httpToGrpcStatus. */
export function httpToGrpcStatus(httpStatus: i32): i32 {
  switch (httpStatus) {
    case 400: return 13; // INTERNAL
    case 401: return 16; // UNAUTHENTICATED
    case 403: return 7;  // PERMISSION_DENIED
    case 404: return 12; // UNIMPLEMENTED
    case 429: case 502: case 503: case 504: return 14; // UNAVAILABLE
    default: return 2;   // UNKNOWN
  }
}

// @ts-ignore: decorator
@lazy const GRPC_TO_HTTP: StaticArray<u16> = [
  200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401,
];

/** Envoy Grpc::Utility::grpcToHttpStatus (500 outside 0..16). */
export function grpcToHttpStatus(code: i32): i32 {
  return code >= 0 && code <= 16 ? <i32>unchecked(GRPC_TO_HTTP[code]) : 500;
}

/** absl::ascii_isspace: ' ', '\t', '\n', '\v', '\f', '\r'. */
// @ts-ignore: decorator
@inline function isAsciiSpace(c: u32): bool { return c == 0x20 || (c - 0x09) <= 4; }

/**
 * grpc-status from `n` characters of width T at `ptr` (u8: UTF-8 bytes, u16: a string's code
 * units), as Envoy's Grpc::Common::getGrpcStatus: an empty value is absent; otherwise
 * absl::SimpleAtoi<uint64_t> (ASCII whitespace stripped at both ends, one optional '+', then one
 * or more decimal digits; '-', other signs or characters, and overflow fail) must succeed with a
 * value <= 16, else the code is InvalidCode. Leading zeros are digits like any other ("007" = 7).
 */
export function parseGrpcStatusChars<T>(ptr: usize, n: usize): i32 {
  if (n == 0) return GRPC_STATUS_ABSENT;
  const w = sizeof<T>();
  let start: usize = 0;
  let end = n;
  while (start < end && isAsciiSpace(<u32>load<T>(ptr + start * w))) start++;
  while (end > start && isAsciiSpace(<u32>load<T>(ptr + (end - 1) * w))) end--;
  if (start < end && <u32>load<T>(ptr + start * w) == 0x2b) start++; // '+'
  if (start >= end) return GRPC_STATUS_INVALID;
  let code: u32 = 0;
  for (let i = start; i < end; i++) {
    const d = <u32>load<T>(ptr + i * w) - 0x30;
    if (d > 9) return GRPC_STATUS_INVALID;
    // Once above 16 the value stays above 16, so stop accumulating: no overflow, same outcome.
    if (code <= 16) code = code * 10 + d;
  }
  return code <= 16 ? <i32>code : GRPC_STATUS_INVALID;
}

/**
 * Parses a grpc-status value: GRPC_STATUS_ABSENT (-2) when null or empty, GRPC_STATUS_INVALID
 * (-1) when not a code 0..16 by Envoy's rules (`parseGrpcStatusChars`), else the code.
 */
export function parseGrpcStatusValue(value: string | null): i32 {
  if (value === null) return GRPC_STATUS_ABSENT;
  return parseGrpcStatusChars<u16>(changetype<usize>(value), <usize>value.length);
}

/** Where a final status came from (Envoy's order: trailers, trailers-only headers, HTTP status). */
export enum GrpcStatusSource { None = 0, Trailers = 1, Headers = 2, HttpStatus = 3 }

export class GrpcStatusResult {
  constructor(public code: i32, public message: string | null, public source: GrpcStatusSource) {}
}

/**
 * The RPC status from raw values, in Envoy's order. Messages are percent-decoded and come from the
 * same map as the status. Returns null when there is no grpc-status and no HTTP status (<= 0).
 */
export function grpcStatusFrom(trailerStatus: string | null, trailerMessage: string | null,
                               headerStatus: string | null, headerMessage: string | null,
                               httpStatus: i32): GrpcStatusResult | null {
  let code = parseGrpcStatusValue(trailerStatus);
  if (code != GRPC_STATUS_ABSENT) return new GrpcStatusResult(code, decodeMessage(trailerMessage), GrpcStatusSource.Trailers);
  code = parseGrpcStatusValue(headerStatus);
  if (code != GRPC_STATUS_ABSENT) return new GrpcStatusResult(code, decodeMessage(headerMessage), GrpcStatusSource.Headers);
  if (httpStatus <= 0) return null;
  return new GrpcStatusResult(httpToGrpcStatus(httpStatus), null, GrpcStatusSource.HttpStatus);
}

/** Same, from decoded header maps; the HTTP status is the headers' `:status`. */
export function grpcStatusFromMaps(trailers: Headers | null, headers: Headers | null): GrpcStatusResult | null {
  const s = findHeader(headers, ":status");
  const http = s === null ? 0 : I32.parseInt(s);
  return grpcStatusFrom(findHeader(trailers, "grpc-status"), findHeader(trailers, "grpc-message"),
    findHeader(headers, "grpc-status"), findHeader(headers, "grpc-message"), http > 0 ? http : 0);
}

function decodeMessage(m: string | null): string | null { return m === null ? null : percentDecode(m); }

// ===== grpc-message percent-encoding =====

// @ts-ignore: decorator
@inline function hexDigit(v: u32): u32 { return v < 10 ? 0x30 + v : 0x41 + v - 10; }

function hexValue(c: u32): i32 {
  if (c >= 0x30 && c <= 0x39) return <i32>(c - 0x30);
  if (c >= 0x41 && c <= 0x46) return <i32>(c - 0x41 + 10);
  if (c >= 0x61 && c <= 0x66) return <i32>(c - 0x61 + 10);
  return -1;
}

/** UTF-8 bytes outside 0x20..0x7E, and '%', become %XX (upper-case hex), per the gRPC spec. */
export function percentEncode(message: string): string {
  const utf = String.UTF8.encode(message);
  const src = changetype<usize>(utf);
  const n = <usize>utf.byteLength;
  let escapes: usize = 0;
  for (let i: usize = 0; i < n; i++) {
    const b = <u32>load<u8>(src + i);
    if (b < 0x20 || b > 0x7e || b == 0x25) escapes++;
  }
  if (escapes == 0) return message;
  const out = new ArrayBuffer(<i32>(n + escapes * 2));
  let d = changetype<usize>(out);
  for (let i: usize = 0; i < n; i++) {
    const b = <u32>load<u8>(src + i);
    if (b < 0x20 || b > 0x7e || b == 0x25) {
      store<u8>(d, 0x25); store<u8>(d + 1, hexDigit(b >> 4)); store<u8>(d + 2, hexDigit(b & 15));
      d += 3;
    } else {
      store<u8>(d++, b);
    }
  }
  return String.UTF8.decode(out);
}

/**
 * Decodes %XX sequences; an invalid sequence ("%G1", a trailing "%") is kept as-is, as the spec
 * asks ("MUST NOT error"). The decoded bytes are read as UTF-8.
 */
export function percentDecode(message: string): string {
  if (message.indexOf("%") < 0) return message;
  const utf = String.UTF8.encode(message);
  const src = changetype<usize>(utf);
  const n = <usize>utf.byteLength;
  const out = new ArrayBuffer(<i32>n);
  const dst = changetype<usize>(out);
  let d: usize = 0;
  for (let i: usize = 0; i < n; i++) {
    const b = <u32>load<u8>(src + i);
    if (b == 0x25 && i + 2 < n) {
      const hi = hexValue(load<u8>(src + i + 1));
      const lo = hexValue(load<u8>(src + i + 2));
      if (hi >= 0 && lo >= 0) { store<u8>(dst + d++, <u8>((hi << 4) | lo)); i += 2; continue; }
    }
    store<u8>(dst + d++, <u8>b);
  }
  return String.UTF8.decodeUnsafe(dst, d);
}
