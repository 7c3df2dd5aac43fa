/**
 * gRPC facts the upstream side needs, as Envoy's Grpc::Common / Grpc::Utility:
 * a request is gRPC when its content-type starts with "application/grpc"; grpc-status read
 * from a header map (Envoy's parsing: absl::SimpleAtoi, 0..16; an invalid value reads as absent); grpc-status -> HTTP status (grpcToHttpStatus, used for outlier
 * detection and host success/error accounting); the grpc-timeout header in ms.
 */
import { parseGrpcStatus } from "../../http/grpc.ts";
import type { HeaderMap } from "../../http/header-map.ts";

export function isGrpcRequest(headers: HeaderMap): boolean {
  const ct = headers.get("content-type");
  return ct !== undefined && ct.toLowerCase().startsWith("application/grpc");
}

export function grpcStatusOf(headers: HeaderMap | undefined): number | undefined {
  const code = parseGrpcStatus(headers?.get("grpc-status"));
  return code === undefined || code < 0 ? undefined : code;
}

export function grpcToHttpStatus(status: number): number {
  switch (status) {
    case 0:
      return 200;
    case 1:
      return 499;
    case 2:
      return 500;
    case 3:
      return 400;
    case 4:
      return 504;
    case 5:
      return 404;
    case 6:
      return 409;
    case 7:
      return 403;
    case 8:
      return 429;
    case 9:
      return 400;
    case 10:
      return 409;
    case 11:
      return 400;
    case 12:
      return 501;
    case 13:
      return 500;
    case 14:
      return 503;
    case 15:
      return 500;
    case 16:
      return 401;
    default:
      return 500;
  }
}

/** grpc-timeout ("<digits><H|M|S|m|u|n>", at most 8 digits) in ms, rounded up; undefined if absent/invalid. */
export function grpcTimeoutMs(headers: HeaderMap): number | undefined {
  const v = headers.get("grpc-timeout");
  if (v === undefined) return undefined;
  const m = /^(\d{1,8})([HMSmun])$/.exec(v.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unitMs: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };
  return Math.ceil(n * unitMs[m[2]!]!);
}
