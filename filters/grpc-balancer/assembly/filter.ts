/**
 * grpc-balancer per-stream logic (README.md "How an RPC is balanced"). Every callback returns
 * Continue; the filter only writes its own request header and strips the echoed session header.
 *
 *  - onRequestHeaders: gRPC requests only (content-type application/grpc[+…]). The cluster
 *    (`xds.cluster_name`, "" when the host has none) and the method class (`:path`) are looked
 *    up; with fewer than two usable endpoints, an unknown cluster, or before the first fold the
 *    RPC is left to Envoy. Otherwise a share `explore_share` is left to Envoy's balancer
 *    ("explored"), and the rest goes to the P2C choice ("directed"): the session header gets
 *    base64("ip:port") of the better candidate, or the override_host header "best,second".
 *    In session mode a request that already carries the session header is the application's
 *    own session and is left alone ("pinned").
 *  - onResponseHeaders: the endpoint that actually served the RPC (`upstream.address`) takes the
 *    in-flight count and the sample; an unknown address is queued for the table (passive
 *    discovery). The session filter's echo of the header is removed. Streaming classes take
 *    their sample here (time to response headers), as Linkerd counts pending requests only
 *    until the first response frame.
 *  - body callbacks: the 5-byte gRPC prefixes are read until a second message is seen, which
 *    marks the RPC (and its class) as streaming.
 *  - onLog (or onDelete): unary RPCs take the whole RPC as the sample. A failure (grpc-status
 *    2, 4, 8, 13, 14, 15; an HTTP 5xx without grpc-status; an upstream reset or connect failure)
 *    records the penalised latency instead, honouring `grpc-retry-pushback-ms` / `retry-after`.
 *    A client cancellation records the time until the cancel (a lower bound, as tower's handle
 *    does when dropped). A retry that moved the RPC off the endpoint it was steered to
 *    (`upstream.request_attempt_count` > 1, served elsewhere) penalises that endpoint: its
 *    attempt failed, and only the count shows it to a filter before the router.
 */
import { HttpContext } from "../../sdk/context";
import { BufferType, FilterDataStatus, FilterHeadersStatus, FilterTrailersStatus, MapType } from "../../sdk/abi/imports";
import { getBufferBytes, getCurrentTimeNanoseconds, getHeaderMapValueBytes } from "../../sdk/hostcalls";
import { GRPC_STATUS_ABSENT, httpToGrpcStatus, parseGrpcStatusChars } from "../../sdk/grpc";
import { isEndpointAddress } from "./address";
import { Pair } from "./chooser";
import { OutputMode } from "./config";
import { penaltyNs } from "./estimator";
import { property, propertyU64, removeHeader, replaceHeader } from "./host";
import { ABSENT, LoadReport, parseLoadReport, parseLoadReportJson, pushbackNs, retryAfterNs } from "./signals";
import { DECISION_DIRECTED, DECISION_EXPLORED, DECISION_PASSTHROUGH, DECISION_PINNED } from "./stats";
import { BalancerRoot } from "./index";

// @ts-ignore: decorator
@lazy const KEY_CONTENT_TYPE: ArrayBuffer = String.UTF8.encode("content-type");
// @ts-ignore: decorator
@lazy const KEY_PATH: ArrayBuffer = String.UTF8.encode(":path");
// @ts-ignore: decorator
@lazy const KEY_STATUS: ArrayBuffer = String.UTF8.encode(":status");
// @ts-ignore: decorator
@lazy const KEY_GRPC_STATUS: ArrayBuffer = String.UTF8.encode("grpc-status");
// @ts-ignore: decorator
@lazy const KEY_PUSHBACK: ArrayBuffer = String.UTF8.encode("grpc-retry-pushback-ms");
// @ts-ignore: decorator
@lazy const KEY_RETRY_AFTER: ArrayBuffer = String.UTF8.encode("retry-after");
// @ts-ignore: decorator
@lazy const KEY_ORCA: ArrayBuffer = String.UTF8.encode("endpoint-load-metrics");
// @ts-ignore: decorator
@lazy const KEY_ORCA_JSON: ArrayBuffer = String.UTF8.encode("endpoint-load-metrics-json");
// @ts-ignore: decorator
@lazy const PATH_CLUSTER: ArrayBuffer = String.UTF8.encode("xds\0cluster_name");
// @ts-ignore: decorator
@lazy const PATH_UPSTREAM: ArrayBuffer = String.UTF8.encode("upstream\0address");
// @ts-ignore: decorator
@lazy const PATH_FLAGS: ArrayBuffer = String.UTF8.encode("response\0flags");
// @ts-ignore: decorator
@lazy const PATH_ATTEMPTS: ArrayBuffer = String.UTF8.encode("upstream\0request_attempt_count");
// @ts-ignore: decorator
@lazy const GRPC_CONTENT_TYPE: ArrayBuffer = String.UTF8.encode("application/grpc");
// @ts-ignore: decorator
@lazy const EMPTY: ArrayBuffer = new ArrayBuffer(0);
// @ts-ignore: decorator
@lazy const pair: Pair = new Pair();
// @ts-ignore: decorator
@lazy const report: LoadReport = new LoadReport();

/** Envoy response flags that mean the upstream failed (UH, UT, UR, UF, UC, UO, URX, UMSDR). */
const UPSTREAM_FAILURE_FLAGS: u64 = 0x2 | 0x4 | 0x10 | 0x20 | 0x40 | 0x80 | 0x8000 | 0x80000;

/** "application/grpc" exactly or followed by '+' or ';' (Envoy's hasGrpcContentType). */
function isGrpc(v: ArrayBuffer | null): bool {
  if (v === null) return false;
  const m = GRPC_CONTENT_TYPE.byteLength;
  const n = v.byteLength;
  if (n < m || memory.compare(changetype<usize>(v), changetype<usize>(GRPC_CONTENT_TYPE), <usize>m) != 0) return false;
  if (n == m) return true;
  const c = load<u8>(changetype<usize>(v) + <usize>m);
  return c == 0x2b || c == 0x3b;
}

/** The gRPC codes recorded as failures (Linkerd's load biaser list). */
export function isFailureCode(code: i32): bool {
  return code == 2 || code == 4 || code == 8 || code == 13 || code == 14 || code == 15;
}

function statusOf(v: ArrayBuffer | null): i32 {
  return v === null ? GRPC_STATUS_ABSENT : parseGrpcStatusChars<u8>(changetype<usize>(v), <usize>v.byteLength);
}

function httpStatusOf(v: ArrayBuffer | null): i32 {
  if (v === null || v.byteLength != 3) return 0;
  const p = changetype<usize>(v);
  let s: i32 = 0;
  for (let i: usize = 0; i < 3; i++) {
    const d = <i32>load<u8>(p + i) - 0x30;
    if (d < 0 || d > 9) return 0;
    s = s * 10 + d;
  }
  return s;
}

export class BalancedStream extends HttpContext<BalancerRoot> {
  private tracked: bool = false;
  private pinned: bool = false;
  private cluster: i32 = -1;
  private cls: i32 = -1;
  private chosen: i32 = -1;
  private chosenGen: u16 = 0;
  private served: i32 = -1;
  private servedGen: u16 = 0;
  private counted: i32 = -1;
  private countedGen: u16 = 0;
  private startNs: u64 = 0;
  private headersNs: u64 = 0;
  private endNs: u64 = 0;
  private responseStarted: bool = false;
  private responseDone: bool = false;
  private sampled: bool = false;
  private finished: bool = false;
  private headerCode: i32 = GRPC_STATUS_ABSENT;
  private trailerCode: i32 = GRPC_STATUS_ABSENT;
  private httpStatus: i32 = 0;
  private pushback: f64 = ABSENT;
  // gRPC message prefixes, per direction: messages started, payload bytes to skip, prefix bytes
  // read so far and the length being assembled.
  private reqMsgs: u32 = 0;
  private reqSkip: u64 = 0;
  private reqHdr: u32 = 0;
  private reqLen: u32 = 0;
  private respMsgs: u32 = 0;
  private respSkip: u64 = 0;
  private respHdr: u32 = 0;
  private respLen: u32 = 0;

  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    const root = this.root;
    const b = root.balancer;
    if (this.tracked || b === null || !isGrpc(getHeaderMapValueBytes(MapType.RequestHeaders, KEY_CONTENT_TYPE))) {
      return FilterHeadersStatus.Continue;
    }
    const cfg = b.cfg;
    const stats = root.stats!;
    const clusterName = property(PATH_CLUSTER);
    const name = clusterName === null ? EMPTY : clusterName;
    const k = b.clusterSlot(changetype<usize>(name), name.byteLength); // -1 until a fold knows it
    if (k < 0) { stats.decision(DECISION_PASSTHROUGH); return FilterHeadersStatus.Continue; }
    const path = getHeaderMapValueBytes(MapType.RequestHeaders, KEY_PATH);
    const p = path === null ? EMPTY : path;
    this.cls = b.classSlot(changetype<usize>(p), p.byteLength);
    this.cluster = k;
    this.tracked = true;
    const now = getCurrentTimeNanoseconds();
    this.startNs = now;
    const header = root.headerKey;
    if (cfg.mode == OutputMode.SessionHeader) {
      if (getHeaderMapValueBytes(MapType.RequestHeaders, header) !== null) {
        this.pinned = true;
        stats.decision(DECISION_PINNED);
        return FilterHeadersStatus.Continue;
      }
    } else {
      removeHeader(MapType.RequestHeaders, header); // the filter owns the override header
    }
    if (b.usableIn(k) < 2) { stats.decision(DECISION_PASSTHROUGH); return FilterHeadersStatus.Continue; }
    if (b.rng.chance(cfg.exploreShare)) { stats.decision(DECISION_EXPLORED); return FilterHeadersStatus.Continue; }
    if (!b.choose(k, this.cls < 0 ? 0 : this.cls, now, pair)) { stats.decision(DECISION_PASSTHROUGH); return FilterHeadersStatus.Continue; }
    const best = pair.first;
    if (cfg.mode == OutputMode.SessionHeader) {
      const v = b.headerValue(best);
      if (v === null) { stats.decision(DECISION_PASSTHROUGH); return FilterHeadersStatus.Continue; }
      replaceHeader(MapType.RequestHeaders, header, changetype<usize>(v), v.byteLength);
    } else {
      b.composePair(best, pair.second);
      replaceHeader(MapType.RequestHeaders, header, changetype<usize>(b.pairValue), b.pairValueLen);
    }
    this.chosen = best;
    this.chosenGen = b.local.gen(best);
    this.count(best, this.chosenGen);
    stats.decision(DECISION_DIRECTED);
    stats.pick(best);
    return FilterHeadersStatus.Continue;
  }

  onRequestBody(bodySize: u32, endOfStream: bool): FilterDataStatus {
    if (this.tracked && bodySize > 0 && this.reqMsgs < 2) this.feed(true, bodySize);
    return FilterDataStatus.Continue;
  }

  onResponseHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    if (!this.tracked || this.responseStarted) return FilterHeadersStatus.Continue;
    const b = this.root.balancer!;
    const now = getCurrentTimeNanoseconds();
    this.responseStarted = true;
    this.headersNs = now;
    this.learnServed();
    if (!this.pinned && b.cfg.mode == OutputMode.SessionHeader) removeHeader(MapType.ResponseHeaders, this.root.headerKey);
    this.headerCode = statusOf(getHeaderMapValueBytes(MapType.ResponseHeaders, KEY_GRPC_STATUS));
    this.httpStatus = httpStatusOf(getHeaderMapValueBytes(MapType.ResponseHeaders, KEY_STATUS));
    if (isFailureCode(this.headerCode) || this.httpStatus >= 500) this.readPushback(MapType.ResponseHeaders, now);
    this.readLoadReport(MapType.ResponseHeaders, now);
    if (endOfStream) { this.responseDone = true; this.endNs = now; }
    else if (this.cls > 0 && b.local.classStreaming(this.cls)) this.firstResponse(now);
    return FilterHeadersStatus.Continue;
  }

  onResponseBody(bodySize: u32, endOfStream: bool): FilterDataStatus {
    if (!this.tracked) return FilterDataStatus.Continue;
    if (bodySize > 0 && this.respMsgs < 2) this.feed(false, bodySize);
    if (endOfStream && !this.responseDone) { this.responseDone = true; this.endNs = getCurrentTimeNanoseconds(); }
    return FilterDataStatus.Continue;
  }

  onResponseTrailers(numTrailers: u32): FilterTrailersStatus {
    if (!this.tracked || this.responseDone) return FilterTrailersStatus.Continue;
    const now = getCurrentTimeNanoseconds();
    this.responseDone = true;
    this.endNs = now;
    this.trailerCode = statusOf(getHeaderMapValueBytes(MapType.ResponseTrailers, KEY_GRPC_STATUS));
    if (isFailureCode(this.trailerCode) && this.pushback == ABSENT) this.readPushback(MapType.ResponseTrailers, now);
    this.readLoadReport(MapType.ResponseTrailers, now);
    return FilterTrailersStatus.Continue;
  }

  onLog(): void { this.finish(); }

  onDelete(): void { this.finish(); }

  // ===== helpers =====

  private count(e: i32, gen: u16): void {
    const b = this.root.balancer!;
    if (!b.live(e, gen)) return;
    b.addInflight(e, 1);
    this.counted = e;
    this.countedGen = gen;
  }

  private uncount(): void {
    const e = this.counted;
    if (e < 0) return;
    this.counted = -1;
    const b = this.root.balancer!;
    if (b.live(e, this.countedGen)) b.addInflight(e, -1);
  }

  /** Reads `upstream.address` once: the served endpoint takes over the in-flight count. */
  private learnServed(): void {
    if (this.served >= 0) return;
    const b = this.root.balancer!;
    const addr = property(PATH_UPSTREAM);
    if (addr === null || addr.byteLength == 0) return;
    const ptr = changetype<usize>(addr);
    const e = b.endpointSlot(this.cluster, ptr, addr.byteLength);
    if (e < 0) {
      if (isEndpointAddress(ptr, addr.byteLength)) b.pendingEndpoints.add(this.cluster, ptr, addr.byteLength);
      return;
    }
    this.served = e;
    this.servedGen = b.local.gen(e);
    if (this.counted != e && !this.sampled) {
      this.uncount();
      this.count(e, this.servedGen);
    }
  }

  /** A streaming RPC's first response: its sample, and the end of its pending time. */
  private firstResponse(now: u64): void {
    if (this.sampled) return;
    this.sampled = true;
    const e = this.served >= 0 ? this.served : this.chosen;
    const gen = this.served >= 0 ? this.servedGen : this.chosenGen;
    if (e >= 0) this.root.balancer!.sample(e, gen, this.cls, <f64>(now - this.startNs), now);
    this.uncount();
  }

  private readPushback(map: MapType, now: u64): void {
    const cfg = this.root.balancer!.cfg;
    const g = getHeaderMapValueBytes(map, KEY_PUSHBACK);
    if (g !== null) {
      const v = pushbackNs(changetype<usize>(g), g.byteLength, cfg.maxPenaltyNs);
      if (v != ABSENT) { this.pushback = v; return; }
    }
    const r = getHeaderMapValueBytes(map, KEY_RETRY_AFTER);
    if (r !== null) this.pushback = retryAfterNs(changetype<usize>(r), r.byteLength, now);
  }

  private readLoadReport(map: MapType, now: u64): void {
    const b = this.root.balancer!;
    if (!b.cfg.orcaEnabled) return;
    let ok: bool = false;
    const text = getHeaderMapValueBytes(map, KEY_ORCA);
    if (text !== null) ok = parseLoadReport(text, report);
    if (!ok) {
      const json = getHeaderMapValueBytes(map, KEY_ORCA_JSON);
      if (json !== null) ok = parseLoadReportJson(json, 0, report);
    }
    if (!ok) return;
    if (this.served < 0) this.learnServed();
    if (this.served >= 0) b.orca(this.served, this.servedGen, report.weight(b.cfg.errorUtilizationPenalty), now);
  }

  /** Counts message prefixes in the current `size`-byte chunk of the request or response body. */
  private feed(request: bool, size: u32): void {
    const type = request ? BufferType.RequestBody : BufferType.ResponseBody;
    let msgs = request ? this.reqMsgs : this.respMsgs;
    let skip = request ? this.reqSkip : this.respSkip;
    let hdr = request ? this.reqHdr : this.respHdr;
    let len = request ? this.reqLen : this.respLen;
    let pos: u32 = 0;
    while (pos < size && msgs < 2) {
      if (skip > 0) {
        const take = <u32>min<u64>(skip, <u64>(size - pos));
        skip -= take;
        pos += take;
        continue;
      }
      const n = min<u32>(5 - hdr, size - pos);
      const bytes = getBufferBytes(type, pos, n);
      if (bytes === null || <u32>bytes.byteLength != n) break;
      for (let i: u32 = 0; i < n; i++) {
        if (hdr + i >= 1) len = (len << 8) | <u32>load<u8>(changetype<usize>(bytes) + <usize>i);
      }
      hdr += n;
      pos += n;
      if (hdr == 5) { msgs++; skip = <u64>len; hdr = 0; len = 0; }
    }
    if (request) { this.reqMsgs = msgs; this.reqSkip = skip; this.reqHdr = hdr; this.reqLen = len; }
    else { this.respMsgs = msgs; this.respSkip = skip; this.respHdr = hdr; this.respLen = len; }
  }

  /** The RPC is over: its sample or penalty, exactly once. */
  private finish(): void {
    if (!this.tracked || this.finished) return;
    this.finished = true;
    const b = this.root.balancer!;
    const cfg = b.cfg;
    const now = getCurrentTimeNanoseconds();
    this.learnServed();
    const e = this.served >= 0 ? this.served : this.chosen;
    const gen = this.served >= 0 ? this.servedGen : this.chosenGen;
    const streaming = this.reqMsgs > 1 || this.respMsgs > 1;
    if (streaming) b.streaming(this.cls);
    let code = this.trailerCode != GRPC_STATUS_ABSENT ? this.trailerCode : this.headerCode;
    if (code == GRPC_STATUS_ABSENT && this.responseStarted && this.httpStatus >= 500) code = httpToGrpcStatus(this.httpStatus);
    let failed = isFailureCode(code);
    if (!this.responseStarted && !failed) failed = (propertyU64(PATH_FLAGS, 0) & UPSTREAM_FAILURE_FLAGS) != 0;
    // A retry moved the RPC off the endpoint it was steered to (override_host: the second
    // address serves the retry): the first attempt failed there, which only the attempt count
    // tells a filter placed before the router.
    if (this.chosen >= 0 && this.served >= 0 && this.served != this.chosen && propertyU64(PATH_ATTEMPTS, 1) > 1) {
      b.penalty(this.chosen, this.chosenGen, this.cls, cfg.penaltyNs, now);
      if (b.live(this.chosen, this.chosenGen)) this.root.stats!.penalty(this.chosen);
    }
    if (e >= 0) {
      if (failed) {
        const hasPushback = this.pushback != ABSENT;
        b.penalty(e, gen, this.cls, penaltyNs(hasPushback, this.pushback, cfg.penaltyNs, cfg.maxPenaltyNs), now);
        if (b.live(e, gen)) this.root.stats!.penalty(e);
      } else if (!this.sampled) {
        // Streaming: time to response headers; unary: the whole RPC (or until the cancel).
        const end = streaming && this.responseStarted ? this.headersNs : (this.responseDone ? this.endNs : now);
        b.sample(e, gen, this.cls, end > this.startNs ? <f64>(end - this.startNs) : 0.0, now);
      }
    }
    this.sampled = true;
    this.uncount();
  }
}
