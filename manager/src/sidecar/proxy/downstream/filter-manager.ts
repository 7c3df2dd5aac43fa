/**
 * The HTTP filter manager: runs one stream through its StreamFilter chain with Envoy's
 * iteration semantics (source/common/http/filter_manager.cc).
 *
 * - decode* run in chain order; encode* in reverse order, over the filters that saw
 *   decodeHeaders (so a local reply sent while decoding only passes the filters before it).
 * - Headers: Continue / StopIteration (this filter still gets data and trailers; a data
 *   `Continue` resumes headers) / ContinueAndEndStream (later filters see end_stream, later
 *   body and trailers stop at this filter) / StopAllIterationAndBuffer|Watermark (data and
 *   trailers are buffered for this filter and delivered to it, starting with it, on continue).
 * - Data: StopIterationAndBuffer|Watermark move the chunk into the stream's buffer for that
 *   direction (Envoy keeps one buffer per direction) and the filter is called again with the
 *   next chunk; decodingBuffer()/encodingBuffer() expose it. Over the buffer limit a
 *   non-streaming buffer gives a local 413 "request_payload_too_large" (request) or 500
 *   "response_payload_too_large" (response); a watermark buffer disables reading instead.
 *   StopIterationNoBuffer drops the chunk.
 * - continueDecoding/continueEncoding resume from the next filter (from the stopped filter
 *   itself after StopAll*), passing headers, then the buffer, then trailers.
 * - sendLocalReply (sendLocalReplyViaFilterChain / sendDirectLocalReply): through the encoder
 *   chain when no response has started; straight to the codec when response headers entered
 *   the chain but were not sent; a stream reset once they went downstream. The decoder chain
 *   is aborted; a second local reply while the first passes the chain is ignored.
 * - The stream ends when the response is complete or on reset; then every filter gets
 *   onStreamComplete (access log) and then onDestroy.
 */
import { BodyBuffer } from "../../http/body-buffer.ts";
import {
  DataStatus,
  HeadersStatus,
  TrailersStatus,
  type LocalReply,
  type RouteDecision,
  type StreamFilter,
} from "../../http/filter.ts";
import { parseGrpcStatus } from "../../http/grpc.ts";
import type { HeaderMap } from "../../http/header-map.ts";
import type { SocketAddress, StreamInfo } from "../../http/stream-info.ts";
import { FilterEntry, Iter, Side, encoderOrderOf } from "./filter-entry.ts";
import { isGrpcRequest, normalizeDetails, prepareLocalReply } from "./local-reply.ts";

/** What the filter manager drives downstream (the connection manager's codec stream). */
export interface DownstreamSink {
  encodeHeaders(headers: HeaderMap, endStream: boolean): void;
  encodeData(data: Uint8Array, endStream: boolean): void;
  encodeTrailers(trailers: HeaderMap): void;
  /** Resets the downstream stream (HTTP/2 RST_STREAM; HTTP/1 closes the connection). */
  resetStream(): void;
  /** Pauses / resumes reading the request (reference counted by the sink). */
  readDisable(disable: boolean): void;
}

export interface FilterManagerOptions {
  filters: StreamFilter[];
  streamInfo: StreamInfo;
  streamId: bigint;
  bufferLimit: number;
  sink: DownstreamSink;
  resolveRoute(headers: HeaderMap): RouteDecision | undefined;
  /** Route header mutations the router applies (request_headers_to_add / response_headers_to_add). */
  routeRequestMutation?(headers: HeaderMap): void;
  routeResponseMutation?(headers: HeaderMap): void;
  /** Called once when the stream ends (after the sink saw the end, before filters' callbacks). */
  onStreamEnd?(reset: boolean): void;
  onRequestDataTooLarge?(): void;
  onResponseDataTooLarge?(): void;
  log?(line: string): void;
}

export class FilterManager {
  readonly streamInfo: StreamInfo;
  readonly streamId: bigint;
  readonly bufferLimit: number;
  readonly entries: FilterEntry[];
  private encoderOrder: FilterEntry[] = [];
  readonly headers: [HeaderMap | undefined, HeaderMap | undefined] = [undefined, undefined];
  readonly trailers: [HeaderMap | undefined, HeaderMap | undefined] = [undefined, undefined];
  /** The source of each direction has ended (request fully received / response fully produced). */
  readonly complete: [boolean, boolean] = [false, false];
  readonly buffered: [BodyBuffer | undefined, BodyBuffer | undefined] = [undefined, undefined];
  private streaming: [boolean, boolean] = [false, false];
  private watermarked: [boolean, boolean] = [false, false];
  /** Index in the side's order of the filter that returned ContinueAndEndStream. */
  private endedAt: [number, number] = [Infinity, Infinity];
  /**
   * The data call in progress, for addDecodedTrailers / addEncodedTrailers: its filter (none
   * outside a data call), direction and whether it carries the last frame. Plain fields
   * rather than an object per call.
   */
  currentEntry?: FilterEntry;
  currentSide = Side.Decode;
  currentLastData = false;
  decodeAborted = false;
  responseHeadersSent = false;
  responseComplete = false;
  destroyed = false;
  private inLocalReplyPass = false;
  private routeCached = false;
  private routeValue?: RouteDecision;
  overrideHost?: { host: SocketAddress; strict: boolean };
  readonly watermarkCallbacks: Array<{ above(): void; below(): void }> = [];
  private readonly opts: FilterManagerOptions;

  constructor(opts: FilterManagerOptions) {
    this.opts = opts;
    this.streamInfo = opts.streamInfo;
    this.streamId = opts.streamId;
    this.bufferLimit = opts.bufferLimit;
    this.entries = opts.filters.map((f, i) => new FilterEntry(this, f, i));
    for (const e of this.entries) {
      e.filter.setDecoderFilterCallbacks(e.callbacks);
      e.filter.setEncoderFilterCallbacks(e.callbacks);
    }
  }

  get sink(): DownstreamSink {
    return this.opts.sink;
  }

  // ---- input from the downstream codec ----

  decodeHeaders(headers: HeaderMap, endStream: boolean): void {
    this.headers[Side.Decode] = headers;
    this.streamInfo.requestHeaders = headers;
    this.complete[Side.Decode] = endStream;
    // Envoy's ActiveStream::decodeHeaders resolves the route (refreshCachedRoute) before the
    // decoder filters run, so they see the upstream cluster (xds.cluster_name) and route name.
    this.route();
    this.doHeaders(Side.Decode, 0, endStream);
  }

  decodeData(chunk: Uint8Array, endStream: boolean): void {
    if (this.destroyed) return;
    this.streamInfo.bytesReceived += chunk.length;
    this.complete[Side.Decode] = endStream;
    this.doData(Side.Decode, 0, new BodyBuffer(chunk), endStream);
  }

  decodeTrailers(trailers: HeaderMap): void {
    if (this.destroyed) return;
    this.trailers[Side.Decode] = trailers;
    this.streamInfo.requestTrailers = trailers;
    this.complete[Side.Decode] = true;
    this.doTrailers(Side.Decode, 0);
  }

  /** The downstream reset the stream or the connection closed. */
  onDownstreamReset(details: string, connectionTermination: boolean): void {
    if (this.destroyed) return;
    if (connectionTermination) this.streamInfo.responseFlags.add("DC");
    if (!this.responseComplete) this.streamInfo.responseCodeDetails ??= details;
    this.finish(true);
  }

  onAboveWriteBufferHighWatermark(): void {
    for (const cb of this.watermarkCallbacks) cb.above();
  }

  onBelowWriteBufferLowWatermark(): void {
    for (const cb of this.watermarkCallbacks) cb.below();
  }

  // ---- input from filters (the terminal filter or a filter generating a response) ----

  encodeHeaders(from: FilterEntry | undefined, headers: HeaderMap, endStream: boolean): void {
    if (this.destroyed || this.headers[Side.Encode]) return;
    if (from && from.index === this.entries.length - 1) this.opts.routeResponseMutation?.(headers);
    this.headers[Side.Encode] = headers;
    this.streamInfo.responseHeaders = headers;
    this.complete[Side.Encode] = endStream;
    this.encoderOrder = encoderOrderOf(this.entries);
    this.doHeaders(Side.Encode, 0, endStream);
  }

  encodeData(data: BodyBuffer, endStream: boolean): void {
    if (this.destroyed || !this.headers[Side.Encode] || this.complete[Side.Encode]) return;
    this.complete[Side.Encode] = endStream;
    this.doData(Side.Encode, 0, data, endStream);
  }

  encodeTrailers(trailers: HeaderMap): void {
    if (this.destroyed || !this.headers[Side.Encode] || this.complete[Side.Encode]) return;
    this.trailers[Side.Encode] = trailers;
    this.streamInfo.responseTrailers = trailers;
    this.complete[Side.Encode] = true;
    this.doTrailers(Side.Encode, 0);
  }

  route(): RouteDecision | undefined {
    const headers = this.headers[Side.Decode];
    if (!this.routeCached && headers) {
      this.routeValue = this.opts.resolveRoute(headers);
      this.routeCached = true;
      this.streamInfo.routeName = this.routeValue?.routeName;
      this.streamInfo.virtualHostName = this.routeValue?.virtualHostName;
      this.streamInfo.clusterName = this.routeValue?.clusterName;
    }
    return this.routeValue;
  }

  clearRouteCache(): void {
    this.routeCached = false;
    this.routeValue = undefined;
  }

  // ---- iteration ----

  private order(side: Side): FilterEntry[] {
    return side === Side.Decode ? this.entries : this.encoderOrder;
  }

  private halted(side: Side): boolean {
    return this.destroyed || (side === Side.Decode && this.decodeAborted);
  }

  // One filter callback each; a throwing filter ends the stream with a 500 (or a reset).
  // (A method per kind rather than a closure per call: these run for every filter and frame.)

  private callHeaders(e: FilterEntry, side: Side, headers: HeaderMap, end: boolean): HeadersStatus {
    try {
      return side === Side.Decode ? e.filter.decodeHeaders(headers, end) : e.filter.encodeHeaders(headers, end);
    } catch (err) {
      this.filterThrew(e, err);
      return HeadersStatus.StopIteration;
    }
  }

  private callData(e: FilterEntry, side: Side, data: BodyBuffer, end: boolean): DataStatus {
    try {
      return side === Side.Decode ? e.filter.decodeData(data, end) : e.filter.encodeData(data, end);
    } catch (err) {
      this.filterThrew(e, err);
      return DataStatus.StopIterationNoBuffer;
    }
  }

  private callTrailers(e: FilterEntry, side: Side, trailers: HeaderMap): TrailersStatus {
    try {
      return side === Side.Decode ? e.filter.decodeTrailers(trailers) : e.filter.encodeTrailers(trailers);
    } catch (err) {
      this.filterThrew(e, err);
      return TrailersStatus.StopIteration;
    }
  }

  private filterThrew(entry: FilterEntry, err: unknown): void {
    this.opts.log?.(`filter ${entry.index} threw: ${err instanceof Error ? err.message : String(err)}`);
    if (!this.sendLocalReply({ status: 500, details: "filter_threw_exception" })) this.resetStream("filter_threw_exception");
  }

  doHeaders(side: Side, start: number, endStream: boolean): void {
    const list = this.order(side);
    const headers = this.headers[side]!;
    let end = endStream;
    for (let p = start; p < list.length; p++) {
      if (this.halted(side)) return;
      const e = list[p]!;
      e.sawHeaders[side] = true;
      e.endStream[side] = end;
      if (side === Side.Decode && p === list.length - 1) this.opts.routeRequestMutation?.(headers);
      const status = this.callHeaders(e, side, headers, end);
      if (this.halted(side)) return;
      switch (status) {
        case HeadersStatus.Continue:
          e.headersContinued[side] = true;
          break;
        case HeadersStatus.ContinueAndEndStream:
          e.headersContinued[side] = true;
          if (!end) {
            end = true;
            this.endedAt[side] = p;
          }
          break;
        case HeadersStatus.StopIteration:
          e.iter[side] = Iter.StopSingle;
          return;
        case HeadersStatus.StopAllIterationAndBuffer:
          e.iter[side] = Iter.StopAllBuffer;
          return;
        case HeadersStatus.StopAllIterationAndWatermark:
          e.iter[side] = Iter.StopAllWatermark;
          return;
      }
    }
    if (side === Side.Encode) this.toDownstreamHeaders(headers, end);
  }

  doData(side: Side, start: number, data: BodyBuffer, endStream: boolean): void {
    const list = this.order(side);
    let end = endStream;
    const hadTrailers = this.trailers[side] !== undefined;
    let trailersAddedAt = -1;
    for (let p = start; p < list.length; p++) {
      if (this.halted(side)) return;
      const e = list[p]!;
      if (e.stoppedAll(side)) {
        this.streaming[side] = e.iter[side] === Iter.StopAllWatermark;
        this.bufferData(side, data);
        return;
      }
      if (e.endStream[side] || p > this.endedAt[side]) return;
      e.endStream[side] = end;
      this.currentEntry = e;
      this.currentSide = side;
      this.currentLastData = end;
      const status = this.callData(e, side, data, end);
      this.currentEntry = undefined;
      if (this.halted(side)) return;
      if (!hadTrailers && this.trailers[side] && trailersAddedAt < 0) {
        end = false;
        trailersAddedAt = p;
      }
      if (!this.afterData(e, side, status, data) && (side === Side.Encode || p !== list.length - 1)) return;
      const buffering = status === DataStatus.StopIterationAndBuffer || status === DataStatus.StopIterationAndWatermark;
      if (side === Side.Decode && p === list.length - 1 && !buffering && this.buffered[side] === data) {
        // The terminal filter took the data (Envoy's router drains what it forwards upstream).
        this.buffered[side] = undefined;
      }
    }
    if (side === Side.Encode) {
      const bytes = data.toUint8Array();
      if (this.buffered[side] === data) this.buffered[side] = undefined;
      this.toDownstreamData(bytes, end);
    }
    if (trailersAddedAt >= 0) this.doTrailers(side, trailersAddedAt + 1);
  }

  private afterData(e: FilterEntry, side: Side, status: DataStatus, data: BodyBuffer): boolean {
    if (status === DataStatus.Continue) {
      if (e.iter[side] === Iter.StopSingle) {
        this.bufferData(side, data);
        this.commonContinue(e, side);
        return false;
      }
      return true;
    }
    e.iter[side] = Iter.StopSingle;
    if (status === DataStatus.StopIterationAndBuffer || status === DataStatus.StopIterationAndWatermark) {
      this.streaming[side] = status === DataStatus.StopIterationAndWatermark;
      this.bufferData(side, data);
    } else if (this.complete[side] && !this.trailers[side] && !this.buffered[side] && e.endStream[side]) {
      // StopIterationNoBuffer on the last frame: continuing must still end the stream.
      this.buffered[side] = new BodyBuffer();
    }
    return false;
  }

  private bufferData(side: Side, data: BodyBuffer): void {
    if (this.buffered[side] !== data) {
      const buf = (this.buffered[side] ??= new BodyBuffer());
      buf.move(data);
    }
    const buf = this.buffered[side]!;
    if (buf.length <= this.bufferLimit) return;
    if (this.streaming[side]) {
      if (this.watermarked[side]) return;
      this.watermarked[side] = true;
      if (side === Side.Decode) this.sink.readDisable(true);
      else for (const cb of this.watermarkCallbacks) cb.above();
    } else if (side === Side.Decode) {
      this.opts.onRequestDataTooLarge?.();
      this.sendLocalReply({ status: 413, body: "Payload Too Large", details: "request_payload_too_large" });
    } else {
      this.opts.onResponseDataTooLarge?.();
      this.sendLocalReply({ status: 500, body: "Internal Server Error", details: "response_payload_too_large" });
    }
  }

  doTrailers(side: Side, start: number): void {
    const list = this.order(side);
    const trailers = this.trailers[side]!;
    for (let p = start; p < list.length; p++) {
      if (this.halted(side)) return;
      const e = list[p]!;
      if (e.stoppedAll(side) || p > this.endedAt[side]) return;
      const status = this.callTrailers(e, side, trailers);
      if (this.halted(side)) return;
      if (status === TrailersStatus.Continue) {
        if (e.iter[side] === Iter.StopSingle) {
          this.commonContinue(e, side);
          return;
        }
      } else {
        e.iter[side] = Iter.StopSingle;
        return;
      }
    }
    if (side === Side.Encode) this.toDownstreamTrailers(trailers);
  }

  /** Envoy ActiveStreamFilterBase::commonContinue. */
  commonContinue(e: FilterEntry, side: Side): void {
    if (this.halted(side) || e.iter[side] === Iter.Continue) return;
    if (side === Side.Encode && !this.headers[Side.Encode]) return;
    const list = this.order(side);
    const pos = list.indexOf(e);
    if (pos < 0) return;
    const fromCurrent = e.stoppedAll(side);
    e.iter[side] = Iter.Continue;
    if (!e.headersContinued[side]) {
      e.headersContinued[side] = true;
      const end = this.complete[side] && !this.buffered[side] && !this.trailers[side];
      this.doHeaders(side, pos + 1, end);
    }
    if (this.halted(side)) return;
    const hadTrailers = this.trailers[side] !== undefined;
    const buf = this.buffered[side];
    if (buf) this.doData(side, fromCurrent ? pos : pos + 1, buf, this.complete[side] && !hadTrailers);
    if (hadTrailers && !this.halted(side)) this.doTrailers(side, fromCurrent ? pos : pos + 1);
    if (this.watermarked[side] && !this.destroyed && (this.buffered[side]?.length ?? 0) <= this.bufferLimit) {
      this.watermarked[side] = false;
      if (side === Side.Decode) this.sink.readDisable(false);
      else for (const cb of this.watermarkCallbacks) cb.below();
    }
  }

  // ---- downstream output ----

  private toDownstreamHeaders(headers: HeaderMap, end: boolean): void {
    const status = Number(headers.get(":status") ?? "0");
    if (status >= 200 || status < 100) this.responseHeadersSent = true;
    this.streamInfo.responseCode = status;
    this.streamInfo.responseHeaders = headers;
    this.sink.encodeHeaders(headers, end);
    if (end) this.onResponseComplete();
  }

  private toDownstreamData(bytes: Uint8Array, end: boolean): void {
    if (this.destroyed || this.responseComplete) return;
    this.streamInfo.bytesSent += bytes.length;
    this.sink.encodeData(bytes, end);
    if (end) this.onResponseComplete();
  }

  private toDownstreamTrailers(trailers: HeaderMap): void {
    if (this.destroyed || this.responseComplete) return;
    this.streamInfo.responseTrailers = trailers;
    this.sink.encodeTrailers(trailers);
    this.onResponseComplete();
  }

  private onResponseComplete(): void {
    this.responseComplete = true;
    const grpc = this.trailers[Side.Encode]?.get("grpc-status") ?? this.headers[Side.Encode]?.get("grpc-status");
    const code = parseGrpcStatus(grpc);
    if (code !== undefined && code >= 0) this.streamInfo.grpcStatus = code;
    this.finish(false);
  }

  // ---- local replies, resets, completion ----

  sendLocalReply(reply: LocalReply, from?: FilterEntry): boolean {
    if (this.destroyed || this.inLocalReplyPass) return false;
    if (this.responseHeadersSent) {
      this.resetStream(normalizeDetails(reply.details));
      return false;
    }
    this.streamInfo.responseCodeDetails = normalizeDetails(reply.details);
    if (reply.flag) this.streamInfo.responseFlags.add(reply.flag);
    this.decodeAborted = true;
    const request = this.headers[Side.Decode];
    const prepared = prepareLocalReply(reply, isGrpcRequest(request), request?.get(":method") === "HEAD");
    const endOnHeaders = prepared.body.length === 0;
    if (!this.headers[Side.Encode]) {
      this.inLocalReplyPass = true;
      try {
        this.encodeHeaders(from, prepared.headers, endOnHeaders);
        if (!endOnHeaders) this.encodeData(new BodyBuffer(prepared.body), true);
      } finally {
        this.inLocalReplyPass = false;
      }
    } else {
      // Response headers are in the encoder chain but not downstream: bypass the filters.
      this.complete[Side.Encode] = true;
      this.headers[Side.Encode] = prepared.headers;
      this.toDownstreamHeaders(prepared.headers, endOnHeaders);
      if (!endOnHeaders) this.toDownstreamData(prepared.body, true);
    }
    return true;
  }

  resetStream(details: string): void {
    if (this.destroyed) return;
    this.streamInfo.responseCodeDetails = normalizeDetails(details);
    this.sink.resetStream();
    this.finish(true);
  }

  private finish(reset: boolean): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.streamInfo.endNs = process.hrtime.bigint();
    this.opts.onStreamEnd?.(reset);
    for (const e of this.entries) this.safely(e, () => e.filter.onStreamComplete());
    for (const e of this.entries) this.safely(e, () => e.filter.onDestroy());
  }

  private safely(e: FilterEntry, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.opts.log?.(`filter ${e.index} threw at stream end: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
