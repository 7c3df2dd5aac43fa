/**
 * The per-stream HTTP filter of a proxy-wasm plugin (Envoy `extensions/common/wasm/context.cc`
 * decodeHeaders/.../onDestroy, proxy-wasm-cpp-host `ContextBase::onRequestHeaders`...).
 *
 * Contract (Envoy's behaviour):
 * - `proxy_on_context_create(stream, root)` runs lazily at decodeHeaders; the encode callbacks
 *   of a stream whose context was never created pass through.
 * - Maps and bodies are reachable only while the host holds them: request headers from
 *   decodeHeaders until a callback continues them (Continue, or continue_stream); likewise for
 *   bodies and trailers, and for the response side. An unavailable map -> BadArgument.
 * - Trailers can be added from the last body chunk (end_stream) when there are none.
 * - Statuses: a header StopIteration (1) becomes StopAllIterationAndWatermark unless
 *   `allowOnHeadersStopIteration`; 2 is Continue; results above the range become
 *   StopAllIterationAndWatermark / StopIterationNoBuffer / StopIteration.
 * - body_size is the whole buffered body (earlier StopIterationAndBuffer chunks + this one).
 * - send_local_response runs after the VM call returns and forces a stop; a second one (e.g.
 *   from the local reply's own encode pass) is ignored. continue_stream and close_stream are
 *   deferred the same way; close_stream resets with details `wasm_close_stream`.
 * - Stream end: onStreamComplete -> proxy_on_log; onDestroy -> proxy_on_done, proxy_on_delete.
 * - A VM failure (trap) fails the stream once: FAIL_OPEN continues; otherwise a local 503 with an
 *   empty body, details `wasm_fail_stream`, grpcStatus 14 (UNAVAILABLE).
 */
import type { BodyBuffer } from "../http/body-buffer.ts";
import {
  DataStatus,
  HeadersStatus,
  TrailersStatus,
  type DecoderFilterCallbacks,
  type EncoderFilterCallbacks,
  type StreamFilter,
} from "../http/filter.ts";
import type { HeaderMap } from "../http/header-map.ts";
import type { StreamInfo } from "../http/stream-info.ts";
import { BufferType, MapType, StreamType, WasmResult } from "./abi.ts";
import { Context, type BufferRef, type LocalResponseRequest, type RootContext } from "./context.ts";
import { failStreamReply, type FailurePolicy } from "./failure.ts";
import type { WasmVm } from "./vm.ts";

export interface FilterBinding {
  /** Undefined when the plugin has no usable VM for this stream (failed, not reloaded yet). */
  vm?: WasmVm;
  root?: RootContext;
  failurePolicy: FailurePolicy;
  allowOnHeadersStopIteration: boolean;
}

type Direction = "decode" | "encode";

/** The stream context: Context with the HTTP stream's maps and buffers. */
class StreamContext extends Context {
  constructor(vm: WasmVm, id: number, root: RootContext, private readonly filter: WasmHttpFilter) {
    super(vm, id, root);
  }

  override streamInfo(): StreamInfo | undefined {
    return this.filter.streamInfo();
  }

  override get accessLogPhase(): boolean {
    return this.filter.inAccessLog;
  }

  override getHeaderMap(type: MapType, forWrite = false): HeaderMap | null {
    const f = this.filter;
    if (f.inAccessLog && !forWrite) {
      // Envoy getConstMap in the access-log phase: the logged request/response maps.
      const info = f.streamInfo();
      if (type === MapType.RequestHeaders) return info?.requestHeaders ?? null;
      if (type === MapType.RequestTrailers) return null;
      if (type === MapType.ResponseHeaders) return info?.responseHeaders ?? null;
      if (type === MapType.ResponseTrailers) return info?.responseTrailers ?? null;
    }
    switch (type) {
      case MapType.RequestHeaders:
        return f.requestHeaders;
      case MapType.ResponseHeaders:
        return f.responseHeaders;
      case MapType.RequestTrailers:
        if (!f.requestTrailers && forWrite && f.requestBody && f.decodeEnd && f.decoderCallbacks) {
          f.requestTrailers = f.decoderCallbacks.addDecodedTrailers();
        }
        return f.requestTrailers;
      case MapType.ResponseTrailers:
        if (!f.responseTrailers && forWrite && f.responseBody && f.encodeEnd && f.encoderCallbacks) {
          f.responseTrailers = f.encoderCallbacks.addEncodedTrailers();
        }
        return f.responseTrailers;
      default:
        return super.getHeaderMap(type, forWrite);
    }
  }

  override getBuffer(type: BufferType): BufferRef | null {
    const body = type === BufferType.RequestBody ? this.filter.requestBody : type === BufferType.ResponseBody ? this.filter.responseBody : null;
    return body ? { buffer: body, mutable: true } : super.getBuffer(type);
  }

  override getBufferForRead(type: BufferType): BodyBuffer | null {
    const body = type === BufferType.RequestBody ? this.filter.requestBody : type === BufferType.ResponseBody ? this.filter.responseBody : null;
    return body ?? super.getBufferForRead(type);
  }

  override continueStream(type: StreamType): WasmResult {
    if (type === StreamType.HttpRequest) this.filter.requestContinue("decode");
    else if (type === StreamType.HttpResponse) this.filter.requestContinue("encode");
    return super.continueStream(type);
  }

  override closeStream(type: StreamType): WasmResult {
    if (type === StreamType.HttpRequest || type === StreamType.HttpResponse) {
      this.vm.afterCall(() => this.filter.resetStream("wasm_close_stream"));
    }
    return super.closeStream(type);
  }

  override sendLocalResponse(req: LocalResponseRequest): WasmResult {
    return this.filter.queueLocalReply(req);
  }

  override clearRouteCache(): void {
    this.filter.decoderCallbacks?.clearRouteCache();
  }
}

export class WasmHttpFilter implements StreamFilter {
  decoderCallbacks?: DecoderFilterCallbacks;
  encoderCallbacks?: EncoderFilterCallbacks;
  requestHeaders: HeaderMap | null = null;
  requestBody: BodyBuffer | null = null;
  requestTrailers: HeaderMap | null = null;
  responseHeaders: HeaderMap | null = null;
  responseBody: BodyBuffer | null = null;
  responseTrailers: HeaderMap | null = null;
  decodeEnd = false;
  encodeEnd = false;
  /** proxy_on_log is running. */
  inAccessLog = false;
  private ctx?: StreamContext;
  private localReplySent = false;
  /** This filter sent the wasm_fail_stream reply. */
  private failureReplySent = false;
  private replyQueuedInCall = false;
  private inCallback?: Direction;
  private continueInCallback = false;
  private bufferingRequest = false;
  private bufferingResponse = false;
  private destroyed = false;

  constructor(private readonly binding: FilterBinding) {}

  /** The stream context id, once created (2 for the first stream of a one-plugin VM). */
  get contextId(): number | undefined {
    return this.ctx?.id;
  }

  setDecoderFilterCallbacks(cb: DecoderFilterCallbacks): void {
    this.decoderCallbacks = cb;
  }

  setEncoderFilterCallbacks(cb: EncoderFilterCallbacks): void {
    this.encoderCallbacks = cb;
  }

  streamInfo(): StreamInfo | undefined {
    return (this.decoderCallbacks ?? this.encoderCallbacks)?.streamInfo;
  }

  // ===== decoder path =====

  decodeHeaders(headers: HeaderMap, endStream: boolean): HeadersStatus {
    if (!this.ensureContext()) return this.failedHeaders("decode");
    this.requestHeaders = headers;
    this.decodeEnd = endStream;
    const r = this.invoke("decode", "proxy_on_request_headers", headers.size, endStream ? 1 : 0);
    if (r === undefined) return this.failedHeaders("decode");
    const status = this.headersStatus(r);
    if (status === HeadersStatus.Continue) this.requestHeaders = null;
    return status;
  }

  decodeData(data: BodyBuffer, endStream: boolean): DataStatus {
    if (!this.ctx) return this.binding.vm && !this.binding.vm.failed ? DataStatus.Continue : this.failedData("decode");
    const buffered = this.bufferingRequest ? this.decoderCallbacks?.decodingBuffer() : undefined;
    if (buffered && buffered !== data) buffered.move(data);
    const body = buffered ?? data;
    this.requestBody = body;
    this.decodeEnd = endStream;
    const r = this.invoke("decode", "proxy_on_request_body", body.length, endStream ? 1 : 0);
    if (r === undefined) return this.failedData("decode");
    const status = this.dataStatus(r);
    this.bufferingRequest = status === DataStatus.StopIterationAndBuffer || status === DataStatus.StopIterationAndWatermark;
    if (status === DataStatus.Continue) this.requestBody = null;
    return status;
  }

  decodeTrailers(trailers: HeaderMap): TrailersStatus {
    if (!this.ctx) return this.binding.vm && !this.binding.vm.failed ? TrailersStatus.Continue : this.failedTrailers("decode");
    this.requestTrailers = trailers;
    const r = this.invoke("decode", "proxy_on_request_trailers", trailers.size);
    if (r === undefined) return this.failedTrailers("decode");
    const status = this.trailersStatus(r);
    if (status === TrailersStatus.Continue) this.requestTrailers = null;
    return status;
  }

  // ===== encoder path =====

  encodeHeaders(headers: HeaderMap, endStream: boolean): HeadersStatus {
    if (!this.ctx) return HeadersStatus.Continue;
    this.responseHeaders = headers;
    this.encodeEnd = endStream;
    const r = this.invoke("encode", "proxy_on_response_headers", headers.size, endStream ? 1 : 0);
    if (r === undefined) return this.failedHeaders("encode");
    const status = this.headersStatus(r);
    if (status === HeadersStatus.Continue) this.responseHeaders = null;
    return status;
  }

  encodeData(data: BodyBuffer, endStream: boolean): DataStatus {
    if (!this.ctx) return DataStatus.Continue;
    const buffered = this.bufferingResponse ? this.encoderCallbacks?.encodingBuffer() : undefined;
    if (buffered && buffered !== data) buffered.move(data);
    const body = buffered ?? data;
    this.responseBody = body;
    this.encodeEnd = endStream;
    const r = this.invoke("encode", "proxy_on_response_body", body.length, endStream ? 1 : 0);
    if (r === undefined) return this.failedData("encode");
    const status = this.dataStatus(r);
    this.bufferingResponse = status === DataStatus.StopIterationAndBuffer || status === DataStatus.StopIterationAndWatermark;
    if (status === DataStatus.Continue) this.responseBody = null;
    return status;
  }

  encodeTrailers(trailers: HeaderMap): TrailersStatus {
    if (!this.ctx) return TrailersStatus.Continue;
    this.responseTrailers = trailers;
    const r = this.invoke("encode", "proxy_on_response_trailers", trailers.size);
    if (r === undefined) return this.failedTrailers("encode");
    const status = this.trailersStatus(r);
    if (status === TrailersStatus.Continue) this.responseTrailers = null;
    return status;
  }

  // ===== end of stream =====

  onStreamComplete(): void {
    if (!this.ctx || !this.binding.vm || this.destroyed) return;
    this.inAccessLog = true;
    try {
      this.binding.vm.call3(this.ctx, "proxy_on_log", this.ctx.id, 0, 0);
    } finally {
      this.inAccessLog = false;
    }
  }

  onDestroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    const ctx = this.ctx;
    const vm = this.binding.vm;
    if (!ctx || !vm) return;
    vm.call3(ctx, "proxy_on_done", ctx.id, 0, 0); // the result is ignored for streams
    vm.call3(ctx, "proxy_on_delete", ctx.id, 0, 0);
    vm.contexts.delete(ctx.id);
    this.requestHeaders = this.requestTrailers = this.responseHeaders = this.responseTrailers = null;
    this.requestBody = this.responseBody = null;
  }

  // ===== used by the stream context =====

  /** continue_stream: deferred until the VM call returns. */
  requestContinue(dir: Direction): void {
    if (dir === "decode") {
      this.requestHeaders = this.requestBody = null;
      this.requestTrailers = null;
    } else {
      this.responseHeaders = this.responseBody = null;
      this.responseTrailers = null;
    }
    if (this.inCallback === dir) {
      // Continuing from inside this direction's own callback: the callback's status becomes Continue.
      this.continueInCallback = true;
      return;
    }
    this.binding.vm?.afterCall(() => {
      if (this.destroyed) return;
      if (dir === "decode") this.decoderCallbacks?.continueDecoding();
      else this.encoderCallbacks?.continueEncoding();
    });
  }

  queueLocalReply(req: LocalResponseRequest): WasmResult {
    if (this.localReplySent) return WasmResult.Ok; // a second local reply is ignored
    this.localReplySent = true;
    this.replyQueuedInCall = true;
    this.binding.vm?.afterCall(() => {
      if (this.destroyed) return;
      const cb = this.decoderCallbacks ?? this.encoderCallbacks;
      const sent = cb?.sendLocalReply({
        status: req.status,
        details: req.details,
        body: req.body,
        headers: req.headers,
        grpcStatus: req.grpcStatus,
      });
      if (sent === false) cb?.resetStream(req.details);
    });
    return WasmResult.Ok;
  }

  resetStream(details: string): void {
    if (this.destroyed) return;
    const cb = this.decoderCallbacks ?? this.encoderCallbacks;
    if (cb && cb.streamInfo.responseCodeDetails === undefined) cb.streamInfo.responseCodeDetails = details;
    cb?.resetStream(details);
  }

  // ===== internals =====

  private ensureContext(): boolean {
    if (this.ctx) return true;
    const { vm, root } = this.binding;
    if (!vm || !root || vm.failed || root.deleted) return false;
    const ctx = new StreamContext(vm, vm.nextContextId(), root, this);
    vm.contexts.set(ctx.id, ctx);
    this.ctx = ctx;
    vm.call3(ctx, "proxy_on_context_create", ctx.id, root.id, 0);
    return !vm.failed;
  }

  /**
   * Calls a stream callback. Returns the raw result, 0 when the export is missing, or undefined
   * when the VM is (or became) failed. A local reply queued during the call forces a stop;
   * a continue_stream from the same direction's callback forces Continue.
   */
  private invoke(dir: Direction, name: string, a: number, b = 0): number | undefined {
    const vm = this.binding.vm!;
    if (vm.failed) return undefined;
    const ctx = this.ctx!;
    // Saved and restored: a deferred local reply re-enters this filter (its encode pass).
    const savedReplyQueued = this.replyQueuedInCall;
    const savedContinued = this.continueInCallback;
    const savedDir = this.inCallback;
    this.replyQueuedInCall = false;
    this.continueInCallback = false;
    this.inCallback = dir;
    let r: number | undefined;
    let replyQueued = false;
    let continued = false;
    try {
      // Each stream callback takes (context_id, a[, b]); a third argument is ignored by a
      // two-parameter export, as the ABI's trailers callbacks are.
      r = vm.hasExport(name) ? vm.call3(ctx, name, ctx.id, a, b) : 0;
    } finally {
      replyQueued = this.replyQueuedInCall;
      continued = this.continueInCallback;
      this.replyQueuedInCall = savedReplyQueued;
      this.continueInCallback = savedContinued;
      this.inCallback = savedDir;
    }
    if (vm.failed) return undefined;
    if (replyQueued) return -1;
    if (continued) return 0;
    return r ?? 0;
  }

  private headersStatus(r: number): HeadersStatus {
    if (r === -1) return HeadersStatus.StopIteration;
    if (r === 0 || r === 2) return HeadersStatus.Continue;
    if (r === 1) {
      return this.binding.allowOnHeadersStopIteration ? HeadersStatus.StopIteration : HeadersStatus.StopAllIterationAndWatermark;
    }
    if (r === 3) return HeadersStatus.StopAllIterationAndBuffer;
    return HeadersStatus.StopAllIterationAndWatermark;
  }

  private dataStatus(r: number): DataStatus {
    if (r === -1) return DataStatus.StopIterationNoBuffer;
    if (r >= 0 && r <= 3) return r as DataStatus;
    return DataStatus.StopIterationNoBuffer;
  }

  private trailersStatus(r: number): TrailersStatus {
    return r === 0 ? TrailersStatus.Continue : TrailersStatus.StopIteration;
  }

  /**
   * Envoy failStream: FAIL_OPEN continues; otherwise one local 503 per stream. That reply passes
   * this filter's own encode path, which lets it through (it must reach the client).
   */
  private failStream(dir: Direction): boolean {
    if (this.binding.failurePolicy === "FAIL_OPEN") return false;
    if (dir === "encode" && this.failureReplySent) return false;
    if (!this.localReplySent) {
      this.localReplySent = true;
      this.failureReplySent = true;
      const cb = dir === "decode" ? (this.decoderCallbacks ?? this.encoderCallbacks) : (this.encoderCallbacks ?? this.decoderCallbacks);
      const reply = failStreamReply();
      if (cb && !cb.sendLocalReply(reply)) cb.resetStream(reply.details);
    }
    return true;
  }

  private failedHeaders(dir: Direction): HeadersStatus {
    return this.failStream(dir) ? HeadersStatus.StopAllIterationAndWatermark : HeadersStatus.Continue;
  }

  private failedData(dir: Direction): DataStatus {
    return this.failStream(dir) ? DataStatus.StopIterationNoBuffer : DataStatus.Continue;
  }

  private failedTrailers(dir: Direction): TrailersStatus {
    return this.failStream(dir) ? TrailersStatus.StopIteration : TrailersStatus.Continue;
  }
}
