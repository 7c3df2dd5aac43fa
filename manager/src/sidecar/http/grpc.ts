/**
 * gRPC protocol facts the data plane and the proxy-wasm host share, as Envoy defines them:
 * what counts as a gRPC request (Grpc::Common::hasGrpcContentType), the HTTP -> gRPC status
 * mapping used for local replies and `response.grpc_status` (Grpc::Utility::httpToGrpcStatus,
 * the gRPC spec's table), grpc-status parsing (Grpc::Common::getGrpcStatus) and grpc-message
 * percent-encoding (gRPC over HTTP/2 spec).
 */

const textEncoder = new TextEncoder();

/** Envoy Grpc::Common::hasGrpcContentType: application/grpc, application/grpc+…, application/grpc;…. */
export function isGrpcContentType(contentType: string | undefined): boolean {
  if (contentType === undefined || !contentType.startsWith("application/grpc")) return false;
  const next = contentType.charAt("application/grpc".length);
  return next === "" || next === "+" || next === ";";
}

/** Envoy Grpc::Utility::httpToGrpcStatus. */
export function httpToGrpcStatus(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
      return 13; // INTERNAL
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 404:
      return 12; // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return 14; // UNAVAILABLE
    default:
      return 2; // UNKNOWN
  }
}

/**
 * A grpc-status value as Envoy's Grpc::Common::getGrpcStatus reads it: undefined when absent or
 * empty; otherwise absl::SimpleAtoi<uint64_t> (ASCII whitespace stripped at both ends, one
 * optional '+', decimal digits, leading zeros allowed: "007" is 7) must give 0..16, else -1
 * (Status::WellKnownGrpcStatus::InvalidCode). The SDK's parseGrpcStatusValue follows the same rules.
 */
export function parseGrpcStatus(value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  const m = /^[ \t\n\v\f\r]*\+?([0-9]+)[ \t\n\v\f\r]*$/.exec(value);
  if (!m) return -1;
  const code = Number(m[1]!.replace(/^0+(?=[0-9])/, "").slice(0, 3));
  return code <= 16 ? code : -1;
}

/**
 * Envoy Http::Utility::PercentEncoding::encode as used for grpc-message: every byte below ' ',
 * above '~', and '%' itself becomes %XX (upper-case hex) of the UTF-8 bytes.
 */
export function percentEncode(text: string): string {
  let out = "";
  for (const byte of textEncoder.encode(text)) {
    if (byte < 0x20 || byte > 0x7e || byte === 0x25) out += "%" + byte.toString(16).toUpperCase().padStart(2, "0");
    else out += String.fromCharCode(byte);
  }
  return out;
}
