/**
 * Test filter for filters/sdk/grpc-status.ts, run in the real proxy-wasm host and sidecar.
 *
 * Request headers steer it:
 *  - `x-deny-code: <n>` answers with sendGrpcError(n, x-deny-message percent-decoded (so a test
 *    can send any text through gRPC metadata), extra header
 *    `x-denied-by: guest` when `x-deny-extra` is present, details from `x-deny-details` if any).
 *  - `x-track: log-only` leaves the response callbacks alone, so the status is resolved by
 *    GrpcStreamStatus.onLog from the logged maps.
 * It logs "<phase> code=<c> source=<s> http=<h> message=<m|-> late_status=<:status read in
 * onResponseTrailers|->" after response headers, trailers and in onLog, and counts each final
 * status in the counter `guest_final_<code>_<source>` (code -2 is written "absent").
 */
import { RootContext, HttpContext, registerRootContext } from "../../context";
import { FilterHeadersStatus, FilterTrailersStatus, MapType, MetricType } from "../../abi/imports";
import { defineMetric, getHeaderMapValue, incrementMetric, logInfo, HeaderPair, Headers } from "../../hostcalls";
import { GrpcStreamStatus, sendGrpcError } from "../../grpc-status";
import { percentDecode } from "../../grpc";
export * from "../../abi/exports";

class Guest extends HttpContext {
  status: GrpcStreamStatus = new GrpcStreamStatus();
  logOnly: bool = false;
  lateStatus: string | null = null;

  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    this.logOnly = getHeaderMapValue(MapType.RequestHeaders, "x-track") == "log-only";
    const deny = getHeaderMapValue(MapType.RequestHeaders, "x-deny-code");
    if (deny === null) return FilterHeadersStatus.Continue;
    const raw = getHeaderMapValue(MapType.RequestHeaders, "x-deny-message");
    const message = raw === null ? "" : percentDecode(raw);
    let extra: Headers | null = null;
    if (getHeaderMapValue(MapType.RequestHeaders, "x-deny-extra") !== null) {
      extra = [new HeaderPair("x-denied-by", "guest")];
    }
    const details = getHeaderMapValue(MapType.RequestHeaders, "x-deny-details");
    if (details !== null) sendGrpcError(I32.parseInt(deny), message, extra, details);
    else sendGrpcError(I32.parseInt(deny), message, extra);
    return FilterHeadersStatus.StopIteration;
  }

  onResponseHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    if (this.logOnly) return FilterHeadersStatus.Continue;
    this.status.onResponseHeaders(endOfStream);
    this.report("headers");
    return FilterHeadersStatus.Continue;
  }

  onResponseTrailers(numTrailers: u32): FilterTrailersStatus {
    if (this.logOnly) return FilterTrailersStatus.Continue;
    // Envoy no longer exposes the response headers here; the tracker kept what it needs.
    this.lateStatus = getHeaderMapValue(MapType.ResponseHeaders, ":status");
    this.status.onResponseTrailers();
    this.report("trailers");
    return FilterTrailersStatus.Continue;
  }

  onLog(): void {
    this.status.onLog();
    this.report("log");
    const code = this.status.code;
    const name = "guest_final_" + (code == -2 ? "absent" : code.toString()) + "_" + (<i32>this.status.source).toString();
    incrementMetric(defineMetric(MetricType.Counter, name), 1);
  }

  private report(phase: string): void {
    const m = this.status.message;
    const late = this.lateStatus;
    logInfo(phase + " code=" + this.status.code.toString() + " source=" + (<i32>this.status.source).toString() +
      " http=" + this.status.httpStatus.toString() + " message=" + (m === null ? "-" : m) +
      " late_status=" + (late === null ? "-" : late));
  }
}

class GuestRoot extends RootContext {
  createHttpContext(contextId: u32): HttpContext | null { return new Guest(contextId, this); }
}

registerRootContext((contextId: u32): RootContext => new GuestRoot(contextId));
