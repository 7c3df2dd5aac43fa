/**
 * grpc-metrics per-stream logic (README.md "What it counts, and how"). Every callback returns
 * Continue and never touches the request or response: the filter only reads.
 *
 *  - onRequestHeaders: gRPC requests only (Envoy's Grpc::Common::hasGrpcContentType: content-type
 *    "application/grpc" or "application/grpc+…"); the `:path` picks the method entry (methods.ts),
 *    the side comes from the configuration or `xds.listener_direction`; the RPC starts (started,
 *    in-flight) and the filter state is set.
 *  - body callbacks: each chunk is fed to the direction's GrpcFrameParser (message counts and
 *    payload bytes across any chunking; under Continue the host hands over the current chunk),
 *    reading only prefixes and skipping payload bytes (`feed`).
 *  - the response ends with its trailers or an end of stream: that is the end of the RPC's time.
 *  - onLog (or onDelete, if the host skipped onLog): the RPC finishes exactly once. Its code is
 *    resolved in Envoy's order (Grpc::Common::getGrpcStatus): trailers' grpc-status, response
 *    headers' grpc-status, HTTP :status mapped by httpToGrpcStatus; an invalid grpc-status counts
 *    as UNKNOWN; a response that never completed (client cancellation, a reset) is CANCELLED.
 *    Response headers are read there, where Envoy exposes the logged maps again, and only when
 *    the trailers did not carry a status: one header read on the usual path.
 */
import { HttpContext } from "../../sdk/context";
import { BufferType, FilterDataStatus, FilterHeadersStatus, FilterTrailersStatus, MapType } from "../../sdk/abi/imports";
import {
  getBufferBytesView, getCurrentTimeNanoseconds, getHeaderMapValueView, incrementMetric, releaseView, viewLen, viewPtr,
} from "../../sdk/hostcalls";
import { GrpcFrameParser, GRPC_STATUS_ABSENT, httpToGrpcStatus, parseGrpcStatusChars } from "../../sdk/grpc";
import { SideMode } from "./config";
import { listenerDirection, setFilterState } from "./host";
import { MethodEntry } from "./methods";
import { RpcSeries, SIDE_CLIENT, SIDE_SERVER, Stats } from "./stats";
import { GrpcMetricsRoot } from "./index";

// @ts-ignore: decorator
@lazy const KEY_CONTENT_TYPE: ArrayBuffer = String.UTF8.encode("content-type");
// @ts-ignore: decorator
@lazy const KEY_PATH: ArrayBuffer = String.UTF8.encode(":path");
// @ts-ignore: decorator
@lazy const KEY_AUTHORITY: ArrayBuffer = String.UTF8.encode(":authority");
// @ts-ignore: decorator
@lazy const KEY_STATUS: ArrayBuffer = String.UTF8.encode(":status");
// @ts-ignore: decorator
@lazy const KEY_GRPC_STATUS: ArrayBuffer = String.UTF8.encode("grpc-status");
// @ts-ignore: decorator
@lazy const STATE_SERVICE: ArrayBuffer = String.UTF8.encode("grpc_service");
// @ts-ignore: decorator
@lazy const STATE_METHOD: ArrayBuffer = String.UTF8.encode("grpc_method");

const CODE_CANCELLED: i32 = 1;
const CODE_UNKNOWN: i32 = 2;
const NS_PER_MS: u64 = 1_000_000;

/** "application/grpc" exactly, or followed by '+' (Envoy's hasGrpcContentType; gRPC-Web is not gRPC). */
export function isGrpcContentTypeAt(p: usize, n: usize): bool {
  if (n < 16) return false;
  // "applicat" and "ion/grpc" as little-endian u64 words.
  if (load<u64>(p) != 0x74616369_6c707061 || load<u64>(p, 8) != 0x63707267_2f6e6f69) return false;
  return n == 16 || load<u8>(p, 16) == 0x2b;
}

/** `isGrpcContentType` of a value read into a buffer (null: no content-type). */
export function isGrpcContentType(v: ArrayBuffer | null): bool {
  return v !== null && isGrpcContentTypeAt(changetype<usize>(v), <usize>v.byteLength);
}

/**
 * The grpc-status header of a map as a code: 0..16, -1 when not a valid code,
 * GRPC_STATUS_ABSENT when missing. One host call; the value is read in place.
 */
function headerStatus(map: MapType): i32 {
  const code = getHeaderMapValueView(map, KEY_GRPC_STATUS) ? parseGrpcStatusChars<u8>(viewPtr(), viewLen()) : GRPC_STATUS_ABSENT;
  releaseView();
  return code;
}

/** The response's `:status` when it is three digits, else 0. */
function httpStatus(): i32 {
  const present = getHeaderMapValueView(MapType.ResponseHeaders, KEY_STATUS);
  const s = present ? httpStatusAt(viewPtr(), viewLen()) : 0;
  releaseView();
  return s;
}

/** A `:status` of three digits, else 0. */
function httpStatusAt(p: usize, n: usize): i32 {
  if (n != 3) return 0;
  let s: i32 = 0;
  for (let i: usize = 0; i < 3; i++) {
    const d = <i32>load<u8>(p + i) - 0x30;
    if (d < 0 || d > 9) return 0;
    s = s * 10 + d;
  }
  return s;
}

/**
 * Whole milliseconds, truncated as Envoy and Istio record theirs. Envoy counts a sample in bucket
 * `le=b` when its histogram bin lies entirely at or below b, so an integer bound b >= 1 counts
 * exactly the RPCs that took less than b ms.
 */
export function wholeMillis(ns: u64): u64 { return ns / NS_PER_MS; }

export class RpcStream extends HttpContext<GrpcMetricsRoot> {
  constructor(contextId: u32, root: GrpcMetricsRoot, private stats: Stats) { super(contextId, root); }

  /** Null until a gRPC request started (and for non-gRPC streams). */
  private entry: MethodEntry | null = null;
  private series: RpcSeries | null = null;
  private side: i32 = SIDE_SERVER;
  private startNs: u64 = 0;
  private endNs: u64 = 0;
  private request: GrpcFrameParser | null = null;
  private response: GrpcFrameParser | null = null;
  private responseDone: bool = false;
  private trailersSeen: bool = false;
  private trailerCode: i32 = GRPC_STATUS_ABSENT;
  private finished: bool = false;

  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    if (this.entry !== null) return FilterHeadersStatus.Continue;
    const grpc = getHeaderMapValueView(MapType.RequestHeaders, KEY_CONTENT_TYPE) && isGrpcContentTypeAt(viewPtr(), viewLen());
    releaseView();
    if (!grpc) return FilterHeadersStatus.Continue;
    const root = this.root;
    const config = root.config;
    const methods = root.methods;
    const entry = getHeaderMapValueView(MapType.RequestHeaders, KEY_PATH) ? methods.lookupBytes(viewPtr(), viewLen()) : methods.lookup("");
    releaseView();
    let side = SIDE_SERVER;
    if (config.side == SideMode.Client) side = SIDE_CLIENT;
    else if (config.side == SideMode.Auto && (root.listenerDirection >= 0 ? root.listenerDirection : listenerDirection()) == 2) side = SIDE_CLIENT;
    let target = "";
    if (this.stats.needsTarget(side)) {
      if (getHeaderMapValueView(MapType.RequestHeaders, KEY_AUTHORITY)) target = String.UTF8.decodeUnsafe(viewPtr(), viewLen());
      releaseView();
    }
    const series = this.stats.series(entry.group, side, entry.type, target);
    this.entry = entry;
    this.series = series;
    this.side = side;
    this.startNs = getCurrentTimeNanoseconds();
    series.start();
    if (entry.other) incrementMetric(unchecked(this.stats.otherRpcs[side]), 1);
    if (config.filterState) {
      setFilterState(STATE_SERVICE, entry.group.serviceBytes);
      setFilterState(STATE_METHOD, entry.group.methodBytes);
    }
    return FilterHeadersStatus.Continue;
  }

  onRequestBody(bodySize: u32, endOfStream: bool): FilterDataStatus {
    if (this.entry === null || this.finished || bodySize == 0) return FilterDataStatus.Continue;
    let parser = this.request;
    if (parser === null) { parser = this.root.takeParser(); this.request = parser; }
    feed(parser, BufferType.RequestBody, bodySize);
    return FilterDataStatus.Continue;
  }

  onResponseHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    if (this.entry !== null && endOfStream) this.endResponse();
    return FilterHeadersStatus.Continue;
  }

  onResponseBody(bodySize: u32, endOfStream: bool): FilterDataStatus {
    if (this.entry === null || this.finished) return FilterDataStatus.Continue;
    if (bodySize > 0) {
      let parser = this.response;
      if (parser === null) { parser = this.root.takeParser(); this.response = parser; }
      feed(parser, BufferType.ResponseBody, bodySize);
    }
    if (endOfStream) this.endResponse();
    return FilterDataStatus.Continue;
  }

  onResponseTrailers(numTrailers: u32): FilterTrailersStatus {
    if (this.entry === null || this.finished) return FilterTrailersStatus.Continue;
    this.trailersSeen = true;
    this.trailerCode = headerStatus(MapType.ResponseTrailers);
    this.endResponse();
    return FilterTrailersStatus.Continue;
  }

  onLog(): void { this.finish(true); }

  onDelete(): void { this.finish(false); }

  private endResponse(): void {
    if (this.responseDone) return;
    this.responseDone = true;
    this.endNs = getCurrentTimeNanoseconds();
  }

  /** The RPC's final code (0..16); `mapsReadable` when the logged response headers can be read. */
  private code(mapsReadable: bool): i32 {
    if (!this.responseDone) return CODE_CANCELLED;
    let code = this.trailerCode;
    if (code == GRPC_STATUS_ABSENT && mapsReadable) {
      code = headerStatus(MapType.ResponseHeaders);
      if (code == GRPC_STATUS_ABSENT) {
        const http = httpStatus();
        if (http > 0) code = httpToGrpcStatus(http);
      }
    }
    return code >= 0 && code <= 16 ? code : CODE_UNKNOWN;
  }

  private finish(mapsReadable: bool): void {
    const entry = this.entry;
    const series = this.series;
    if (entry === null || series === null || this.finished) return;
    this.finished = true;
    const code = this.code(mapsReadable);
    const end = this.responseDone ? this.endNs : getCurrentTimeNanoseconds();
    const ms = end > this.startNs ? wholeMillis(end - this.startNs) : 0;
    const req = this.request;
    const resp = this.response;
    const reqMsgs: u64 = req === null ? 0 : req.messages;
    const respMsgs: u64 = resp === null ? 0 : resp.messages;
    const reqBytes: u64 = req === null ? 0 : req.payloadBytes;
    const respBytes: u64 = resp === null ? 0 : resp.payloadBytes;
    if (this.side == SIDE_SERVER) series.finish(code, ms, reqMsgs, respMsgs, reqBytes, respBytes);
    else series.finish(code, ms, respMsgs, reqMsgs, respBytes, reqBytes);
    entry.learn(reqMsgs, respMsgs);
    if ((req !== null && req.error) || (resp !== null && resp.error)) incrementMetric(this.stats.frameErrors, 1);
    // The stream reads no more bodies (`finished`): its parsers serve the next RPCs.
    const root = this.root;
    if (req !== null) { this.request = null; root.releaseParser(req); }
    if (resp !== null) { this.response = null; root.releaseParser(resp); }
  }
}

/** Bytes read ahead from a message prefix: a chunk of small messages is read in one host call. */
const READ_AHEAD: u32 = 1024;

/**
 * Feeds the current body chunk (`size` bytes under Continue) to `parser`, reading only what the
 * counts need: payload bytes of a message already started are skipped without a host call (a
 * 16 KiB DATA frame in the middle of a large message costs nothing), and from a prefix on at most
 * READ_AHEAD bytes are read at a time, in place (the SDK's view block: no allocation).
 */
function feed(parser: GrpcFrameParser, type: BufferType, size: u32): void {
  let offset: u32 = 0;
  while (offset < size && !parser.error) {
    const pending = parser.pendingPayload;
    if (pending > 0) {
      const n = pending < size - offset ? pending : size - offset;
      parser.skipPayload(n);
      offset += n;
      continue;
    }
    const want = size - offset < READ_AHEAD ? size - offset : READ_AHEAD;
    const read = getBufferBytesView(type, offset, want) ? <u32>viewLen() : 0;
    if (read == 0) { releaseView(); return; }
    parser.feed(viewPtr(), <usize>read);
    releaseView();
    offset += read;
  }
}
