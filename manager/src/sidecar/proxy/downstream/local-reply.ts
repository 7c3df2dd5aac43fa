/**
 * Local replies as Envoy builds them (source/common/http/utility.cc, prepareLocalReply /
 * sendLocalReply; source/common/grpc/common.cc).
 *
 * - A request is gRPC when its content-type is exactly `application/grpc` or starts with
 *   `application/grpc+` or `application/grpc;` (Envoy's Grpc::Common::hasGrpcContentType:
 *   `application/grpc-web` is not gRPC).
 * - gRPC: a trailers-only response: `:status 200`, `content-type: application/grpc`,
 *   `grpc-status` (the given status when in 0..16, else httpToGrpcStatus of the HTTP code)
 *   and, when the body is not empty, `grpc-message` = the body (one trailing "\n" dropped)
 *   percent-encoded; no body and no content-length. Sent as one HEADERS frame with END_STREAM.
 * - Otherwise: `:status`, and when the body is not empty `content-length` and
 *   `content-type: text/plain` (unless the extra headers set one).
 * - Response code details have every whitespace character replaced by "_"
 *   (StringUtil::replaceAllEmptySpace).
 */
import { httpToGrpcStatus, isGrpcContentType, percentEncode } from "../../http/grpc.ts";
import { HeaderMap } from "../../http/header-map.ts";

export { httpToGrpcStatus, isGrpcContentType, percentEncode };
import type { LocalReply } from "../../http/filter.ts";

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

export function isGrpcRequest(headers: HeaderMap | undefined): boolean {
  return headers !== undefined && isGrpcContentType(headers.get("content-type"));
}

/** StringUtil::replaceAllEmptySpace. */
export function normalizeDetails(details: string): string {
  return details.replace(/\s/g, "_");
}

/** The reply body as text. */
export function bodyText(body: LocalReply["body"]): string {
  if (body === undefined) return "";
  return typeof body === "string" ? body : textDecoder.decode(body);
}

export interface PreparedLocalReply {
  headers: HeaderMap;
  /** Empty for gRPC (trailers-only) and for replies without a body. */
  body: Uint8Array;
  grpc: boolean;
}

export function prepareLocalReply(reply: LocalReply, grpc: boolean, isHeadRequest = false): PreparedLocalReply {
  const headers = new HeaderMap([[":status", String(reply.status)]]);
  for (const [k, v] of reply.headers ?? []) headers.add(k.toLowerCase(), v);
  let text = bodyText(reply.body);
  if (grpc) {
    headers.setCopy(":status", "200");
    headers.setCopy("content-type", "application/grpc");
    if (!headers.get("grpc-status")) {
      const given = reply.grpcStatus;
      const code = given !== undefined && given >= 0 && given <= 16 ? given : httpToGrpcStatus(reply.status);
      headers.setCopy("grpc-status", String(code));
    }
    if (text !== "" && !isHeadRequest) {
      if (text.endsWith("\n")) text = text.slice(0, -1);
      headers.setCopy("grpc-message", percentEncode(text));
    }
    headers.remove("content-length");
    return { headers, body: new Uint8Array(), grpc: true };
  }
  const body = textEncoder.encode(text);
  if (body.length > 0) {
    headers.setCopy("content-length", String(body.length));
    if (!headers.has("content-type")) headers.setCopy("content-type", "text/plain");
  }
  return { headers, body: isHeadRequest ? new Uint8Array() : body, grpc: false };
}
