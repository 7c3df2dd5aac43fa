/**
 * grpc-hello per-stream logic: the SDK's gRPC helpers on one RPC.
 *
 *  - onRequestHeaders: a request is gRPC when its content-type is and its :path parses as
 *    "/package.Service/Method"; anything else passes through untouched (counted). A denied
 *    method is answered with a trailers-only PERMISSION_DENIED (sendGrpcError) and never reaches
 *    the upstream. Otherwise the caller's address (property source.address) goes upstream in the
 *    configured header.
 *  - onRequestBody / onResponseBody: each chunk (Continue: `bodySize` is this chunk) is fed to a
 *    GrpcFrameParser, which counts length-prefixed messages across any chunking.
 *  - onResponseHeaders / onResponseTrailers: GrpcStreamStatus keeps `:status`, grpc-status and
 *    grpc-message while Envoy still exposes them.
 *  - onLog: the final status (Envoy's order) and the message counts go to the labelled metrics,
 *    and the RPC to the count all workers share.
 * It never pauses a stream except to deny it, and nothing here traps on traffic.
 */
import { HttpContext } from "../../../sdk/context";
import { BufferType, FilterDataStatus, FilterHeadersStatus, FilterTrailersStatus, GrpcStatus,
         MapType } from "../../../sdk/abi/imports";
import { getBufferBytes, getHeaderMapValue, getPropertyString, incrementMetric,
         replaceHeaderMapValue } from "../../../sdk/hostcalls";
import { GrpcFrameParser, GrpcMethod, grpcStatusName, isGrpcContentType, parseGrpcPath,
         GRPC_STATUS_ABSENT } from "../../../sdk/grpc";
import { GrpcStreamStatus, sendGrpcError } from "../../../sdk/grpc-status";
import { HelloRoot } from "./index";
import { NO_STATUS } from "./stats";

/** Response code details of a denial (%RESPONSE_CODE_DETAILS% in access logs). */
export const DENIED_DETAILS = "grpc_hello_denied";

// @ts-ignore: decorator
@lazy const SOURCE_ADDRESS: Array<string> = ["source", "address"];

/** Feeds the body bytes the host holds for this callback to `parser`. */
function feedBody(parser: GrpcFrameParser, type: BufferType, bodySize: u32): void {
  if (bodySize == 0 || parser.error) return;
  const chunk = getBufferBytes(type, 0, bodySize);
  if (chunk !== null) parser.feedBuffer(chunk);
}

export class HelloStream extends HttpContext<HelloRoot> {
  /** The RPC's method; null when the request is not gRPC (then every callback passes through). */
  private method: GrpcMethod | null = null;
  private readonly requestFrames: GrpcFrameParser = new GrpcFrameParser();
  private readonly responseFrames: GrpcFrameParser = new GrpcFrameParser();
  private readonly status: GrpcStreamStatus = new GrpcStreamStatus();

  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    const root = this.root; // HelloRoot, typed: no cast
    const config = root.config;
    const path = getHeaderMapValue(MapType.RequestHeaders, ":path");
    const m = path !== null && isGrpcContentType(getHeaderMapValue(MapType.RequestHeaders, "content-type"))
      ? parseGrpcPath(path) : null;
    if (m === null) {
      incrementMetric(root.stats.passthrough, 1);
      return FilterHeadersStatus.Continue;
    }
    this.method = m;
    if (config.denyMethods.has(m.service + "/" + m.method)) {
      incrementMetric(root.stats.denied, 1);
      sendGrpcError(GrpcStatus.PermissionDenied, config.denyMessage, null, DENIED_DETAILS);
      return FilterHeadersStatus.StopIteration;
    }
    if (config.peerHeader.length > 0) {
      const peer = getPropertyString(SOURCE_ADDRESS);
      if (peer !== null) replaceHeaderMapValue(MapType.RequestHeaders, config.peerHeader, peer);
    }
    return FilterHeadersStatus.Continue;
  }

  onRequestBody(bodySize: u32, endOfStream: bool): FilterDataStatus {
    if (this.method !== null) feedBody(this.requestFrames, BufferType.RequestBody, bodySize);
    return FilterDataStatus.Continue;
  }

  onResponseHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    if (this.method !== null) this.status.onResponseHeaders(endOfStream);
    return FilterHeadersStatus.Continue;
  }

  onResponseBody(bodySize: u32, endOfStream: bool): FilterDataStatus {
    if (this.method !== null) feedBody(this.responseFrames, BufferType.ResponseBody, bodySize);
    return FilterDataStatus.Continue;
  }

  onResponseTrailers(numTrailers: u32): FilterTrailersStatus {
    if (this.method !== null) this.status.onResponseTrailers();
    return FilterTrailersStatus.Continue;
  }

  onLog(): void {
    const m = this.method;
    if (m === null) return;
    this.status.onLog();
    const root = this.root;
    const code = this.status.code;
    const labels = root.labels; // one array reused for every recording (MetricFamily keeps no reference)
    labels[0] = m.service;
    labels[1] = m.method;
    labels[2] = code == GRPC_STATUS_ABSENT ? NO_STATUS : grpcStatusName(code);
    root.stats.rpcs.add(labels, 1);
    if (this.requestFrames.messages > 0) {
      labels[2] = "request";
      root.stats.messages.add(labels, <i64>this.requestFrames.messages);
    }
    if (this.responseFrames.messages > 0) {
      labels[2] = "response";
      root.stats.messages.add(labels, <i64>this.responseFrames.messages);
    }
    root.countRpc();
  }
}
