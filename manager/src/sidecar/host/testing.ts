/**
 * Test and bench helpers for the proxy-wasm host.
 *
 * - `createTestEnvironment()`: a HostEnvironment with an in-memory stats store, a VirtualClock
 *   (timers fire on `clock.advance(ms)`, posted events on `clock.flushPosted()`), a capturing
 *   log sink, a fake http_call dispatcher where tests register cluster handlers, and a scripted
 *   gRPC dispatcher (testing-grpc.ts).
 * - `openTestStream(plugin)`: a minimal one-filter filter manager with Envoy's iteration rules
 *   (envoy source/common/http/filter_manager.cc): StopAll* headers hold body and trailers until
 *   continue and then deliver the buffered body to the same filter; StopIterationAndBuffer keeps
 *   chunks in the filter buffer with the buffer limit (413 "request_payload_too_large" on the
 *   request path, 500 "response_payload_too_large" on the response path); local replies run the
 *   encoder path through the filter (trailers-only for gRPC requests). It records what passed the
 *   filter (`upstream`, `downstream`), the local reply, resets and continue calls.
 */
import type { WasmPluginConfig } from "../config/model.ts";
import { httpToGrpcStatus } from "../http/grpc.ts";
import { BodyBuffer } from "../http/body-buffer.ts";
import {
  DataStatus,
  HeadersStatus,
  TrailersStatus,
  type DecoderFilterCallbacks,
  type EncoderFilterCallbacks,
  type LocalReply,
  type RouteDecision,
  type StreamFilter,
} from "../http/filter.ts";
import { HeaderMap, type HeaderPair } from "../http/header-map.ts";
import { StreamInfo, type SocketAddress } from "../http/stream-info.ts";
import { MemoryStatsStore } from "../stats/store.ts";
import type { LogLevel } from "./abi.ts";
import type {
  HostEnvironment,
  HttpCallCallbacks,
  HttpCallDispatcher,
  HttpCallRequest,
  HttpCallResponse,
} from "./api.ts";
import { VirtualClock } from "./clock.ts";
import type { Plugin } from "./plugin.ts";
import { SharedState } from "./shared-state.ts";
import { FakeGrpcCalls } from "./testing-grpc.ts";

export { FakeGrpcCalls, FakeGrpcStream } from "./testing-grpc.ts";

/** A cluster handler: a response, "reset", or undefined to never answer. */
export type FakeClusterHandler = (req: HttpCallRequest) => HttpCallResponse | "reset" | undefined;

export class FakeHttpCalls implements HttpCallDispatcher {
  readonly requests: HttpCallRequest[] = [];
  cancelled = 0;
  private readonly clusters = new Map<string, FakeClusterHandler>();

  constructor(private readonly clock: VirtualClock) {}

  addCluster(name: string, handler: FakeClusterHandler = () => undefined): void {
    this.clusters.set(name, handler);
  }

  hasCluster(name: string): boolean {
    return this.clusters.has(name);
  }

  httpCall(request: HttpCallRequest, callbacks: HttpCallCallbacks): () => void {
    this.requests.push(request);
    let live = true;
    this.clock.post(() => {
      if (!live) return;
      const r = this.clusters.get(request.cluster)?.(request);
      if (r === undefined) return;
      live = false;
      if (r === "reset") callbacks.onReset("reset");
      else callbacks.onResponse(r);
    });
    return () => {
      if (live) this.cancelled++;
      live = false;
    };
  }
}

export interface TestEnvironment extends HostEnvironment {
  stats: MemoryStatsStore;
  clock: VirtualClock;
  httpCalls: FakeHttpCalls;
  grpcCalls: FakeGrpcCalls;
  shared: SharedState;
  /** Every log line, in order. */
  logs: Array<{ level: LogLevel; line: string }>;
  /** Just the lines. */
  logLines(): string[];
}

/** A deterministic environment: VirtualClock, its own SharedState, backoff jitter fixed at 0.5. */
export function createTestEnvironment(opts: { concurrency?: number; logLevel?: LogLevel } = {}): TestEnvironment {
  const clock = new VirtualClock();
  const logs: Array<{ level: LogLevel; line: string }> = [];
  return {
    stats: new MemoryStatsStore(),
    clock,
    httpCalls: new FakeHttpCalls(clock),
    grpcCalls: new FakeGrpcCalls(clock),
    shared: new SharedState((cb) => clock.post(cb)),
    logger: { log: (level, line) => logs.push({ level, line }) },
    logs,
    logLines: () => logs.map((l) => l.line),
    concurrency: opts.concurrency,
    logLevel: opts.logLevel,
    random: () => 0.5,
  };
}

/** What went past the filter in one direction. */
export interface Sink {
  headers?: HeaderMap;
  body: BodyBuffer;
  trailers?: HeaderMap;
  endStream: boolean;
}

interface Side {
  sink: Sink;
  headers?: HeaderMap;
  headersStopped: boolean;
  stopAll: boolean;
  stopAllBuffer: boolean;
  dataStopped: boolean;
  buffer?: BodyBuffer;
  endSeen: boolean;
  pendingTrailers?: HeaderMap;
  addedTrailers?: HeaderMap;
  continued: number;
  onHeaders(h: HeaderMap, eos: boolean): HeadersStatus;
  onData(d: BodyBuffer, eos: boolean): DataStatus;
  onTrailers(t: HeaderMap): TrailersStatus;
}

export interface TestStreamOptions {
  /** per_connection_buffer_limit_bytes (default 1 MiB). */
  bufferLimit?: number;
  streamInfo?: StreamInfo;
}

const newSide = (f: Pick<Side, "onHeaders" | "onData" | "onTrailers">): Side => ({
  sink: { body: new BodyBuffer(), endStream: false },
  headersStopped: false,
  stopAll: false,
  stopAllBuffer: false,
  dataStopped: false,
  endSeen: false,
  continued: 0,
  ...f,
});

let nextStreamId = 1n;

export class TestStream implements DecoderFilterCallbacks, EncoderFilterCallbacks {
  readonly streamInfo: StreamInfo;
  readonly streamId = nextStreamId++;
  readonly bufferLimit: number;
  localReply?: LocalReply;
  resetDetails?: string;
  private readonly dec: Side;
  private readonly enc: Side;
  private ended = false;
  private clearedRouteCache = 0;
  private override?: { host: SocketAddress; strict: boolean };

  constructor(
    readonly filter: StreamFilter,
    opts: TestStreamOptions = {},
  ) {
    this.streamInfo = opts.streamInfo ?? new StreamInfo();
    this.bufferLimit = opts.bufferLimit ?? 1024 * 1024;
    this.dec = newSide({
      onHeaders: (h, e) => filter.decodeHeaders(h, e),
      onData: (d, e) => filter.decodeData(d, e),
      onTrailers: (t) => filter.decodeTrailers(t),
    });
    this.enc = newSide({
      onHeaders: (h, e) => filter.encodeHeaders(h, e),
      onData: (d, e) => filter.encodeData(d, e),
      onTrailers: (t) => filter.encodeTrailers(t),
    });
    filter.setDecoderFilterCallbacks(this);
    filter.setEncoderFilterCallbacks(this);
  }

  /** What the filter let through toward the upstream. */
  get upstream(): Sink {
    return this.dec.sink;
  }
  /** What the filter let through toward the downstream (including a local reply). */
  get downstream(): Sink {
    return this.enc.sink;
  }
  /** Number of continueDecoding() / continueEncoding() calls the filter made. */
  get continuedDecoding(): number {
    return this.dec.continued;
  }
  get continuedEncoding(): number {
    return this.enc.continued;
  }
  /** The request / response header maps as the filter left them. */
  get requestHeaders(): HeaderMap | undefined {
    return this.dec.headers;
  }
  get responseHeaders(): HeaderMap | undefined {
    return this.enc.headers;
  }
  get routeCacheClears(): number {
    return this.clearedRouteCache;
  }

  // ===== driving the stream =====

  sendRequestHeaders(pairs: HeaderPair[], endStream = false): HeadersStatus | undefined {
    this.streamInfo.requestHeaders = new HeaderMap(pairs);
    return this.headers(this.dec, this.streamInfo.requestHeaders, endStream);
  }
  sendRequestBody(bytes: Uint8Array | string, endStream = false): DataStatus | undefined {
    return this.data(this.dec, bytes, endStream);
  }
  sendRequestTrailers(pairs: HeaderPair[]): TrailersStatus | undefined {
    this.streamInfo.requestTrailers = new HeaderMap(pairs);
    return this.trailers(this.dec, this.streamInfo.requestTrailers);
  }
  sendResponseHeaders(pairs: HeaderPair[], endStream = false): HeadersStatus | undefined {
    this.streamInfo.responseHeaders = new HeaderMap(pairs);
    return this.headers(this.enc, this.streamInfo.responseHeaders, endStream);
  }
  sendResponseBody(bytes: Uint8Array | string, endStream = false): DataStatus | undefined {
    return this.data(this.enc, bytes, endStream);
  }
  sendResponseTrailers(pairs: HeaderPair[]): TrailersStatus | undefined {
    this.streamInfo.responseTrailers = new HeaderMap(pairs);
    return this.trailers(this.enc, this.streamInfo.responseTrailers);
  }

  /** Access log then destroy: proxy_on_log -> proxy_on_done -> proxy_on_delete. */
  complete(): void {
    this.filter.onStreamComplete();
    this.filter.onDestroy();
  }

  private get stopped(): boolean {
    return this.ended;
  }

  private headers(side: Side, map: HeaderMap, eos: boolean): HeadersStatus | undefined {
    if (this.stopped && side === this.dec) return undefined;
    side.headers = map;
    side.endSeen = eos;
    const st = side.onHeaders(map, eos);
    if (st === HeadersStatus.Continue || st === HeadersStatus.ContinueAndEndStream) this.forwardHeaders(side);
    else {
      side.headersStopped = true;
      side.stopAll = st !== HeadersStatus.StopIteration;
      side.stopAllBuffer = st === HeadersStatus.StopAllIterationAndBuffer;
    }
    return st;
  }

  private data(side: Side, bytes: Uint8Array | string, eos: boolean): DataStatus | undefined {
    if (this.stopped && side === this.dec) return undefined;
    const data = new BodyBuffer(typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes);
    side.endSeen = eos;
    if (side.headersStopped && side.stopAll) {
      (side.buffer ??= new BodyBuffer()).move(data);
      if (side.stopAllBuffer) this.checkLimit(side);
      return undefined;
    }
    return this.runData(side, data, eos);
  }

  private runData(side: Side, data: BodyBuffer, eos: boolean): DataStatus {
    const st = side.onData(data, eos);
    if (st === DataStatus.Continue) {
      if (side.headersStopped) this.forwardHeaders(side);
      const all = side.buffer ?? new BodyBuffer();
      if (all !== data) all.move(data);
      side.buffer = undefined;
      side.dataStopped = false;
      side.sink.body.move(all);
      if (eos) this.finish(side);
    } else if (st === DataStatus.StopIterationAndBuffer || st === DataStatus.StopIterationAndWatermark) {
      const buf = (side.buffer ??= new BodyBuffer());
      if (buf !== data) buf.move(data);
      side.dataStopped = true;
      if (st === DataStatus.StopIterationAndBuffer) this.checkLimit(side);
    }
    return st;
  }

  private trailers(side: Side, map: HeaderMap): TrailersStatus | undefined {
    if (this.stopped && side === this.dec) return undefined;
    side.endSeen = true;
    if (side.headersStopped && side.stopAll) {
      side.pendingTrailers = map;
      return undefined;
    }
    const st = side.onTrailers(map);
    if (st === TrailersStatus.Continue) {
      if (side.headersStopped) this.forwardHeaders(side);
      if (side.buffer) side.sink.body.move(side.buffer);
      side.buffer = undefined;
      side.dataStopped = false;
      side.sink.trailers = map;
      side.sink.endStream = true;
    } else {
      side.pendingTrailers = map;
    }
    return st;
  }

  private forwardHeaders(side: Side): void {
    side.headersStopped = false;
    side.stopAll = false;
    side.sink.headers = side.headers;
    if (side.endSeen && !side.buffer && !side.pendingTrailers) side.sink.endStream = true;
  }

  private finish(side: Side): void {
    if (side.addedTrailers) side.sink.trailers = side.addedTrailers;
    side.sink.endStream = true;
  }

  private checkLimit(side: Side): void {
    if ((side.buffer?.length ?? 0) <= this.bufferLimit) return;
    if (side === this.dec) {
      this.sendLocalReply({ status: 413, body: "Payload Too Large", details: "request_payload_too_large" });
    } else if (!this.enc.sink.headers) {
      this.enc.buffer = undefined;
      this.enc.headersStopped = false;
      this.sendLocalReply({ status: 500, body: "Internal Server Error", details: "response_payload_too_large" });
    } else {
      this.resetStream("response_payload_too_large");
    }
  }

  private resume(side: Side): void {
    side.continued++;
    if (this.resetDetails !== undefined) return;
    if (side.headersStopped) {
      const wasStopAll = side.stopAll;
      this.forwardHeaders(side);
      if (wasStopAll && side.buffer) {
        const data = side.buffer;
        side.buffer = undefined;
        const st = this.runData(side, data, side.endSeen && !side.pendingTrailers);
        if (st !== DataStatus.Continue) return;
      } else if (side.buffer) {
        side.sink.body.move(side.buffer);
        side.buffer = undefined;
        if (side.endSeen && !side.pendingTrailers) this.finish(side);
      }
      if (wasStopAll && side.pendingTrailers) {
        const t = side.pendingTrailers;
        side.pendingTrailers = undefined;
        this.trailers(side, t);
        return;
      }
    } else if (side.dataStopped) {
      side.dataStopped = false;
      if (side.buffer) side.sink.body.move(side.buffer);
      side.buffer = undefined;
      if (side.endSeen && !side.pendingTrailers) this.finish(side);
    }
    if (side.pendingTrailers) {
      side.sink.trailers = side.pendingTrailers;
      side.pendingTrailers = undefined;
      side.sink.endStream = true;
    }
  }

  // ===== filter callbacks =====

  continueDecoding(): void {
    this.resume(this.dec);
  }
  continueEncoding(): void {
    this.resume(this.enc);
  }
  decodingBuffer(): BodyBuffer | undefined {
    return this.dec.buffer;
  }
  encodingBuffer(): BodyBuffer | undefined {
    return this.enc.buffer;
  }
  addDecodedTrailers(): HeaderMap {
    return (this.dec.addedTrailers ??= new HeaderMap());
  }
  addEncodedTrailers(): HeaderMap {
    return (this.enc.addedTrailers ??= new HeaderMap());
  }

  sendLocalReply(reply: LocalReply): boolean {
    if (this.enc.sink.headers || this.localReply) return false;
    this.localReply = reply;
    this.ended = true;
    this.streamInfo.responseCodeDetails = reply.details;
    const body = typeof reply.body === "string" ? new TextEncoder().encode(reply.body) : (reply.body ?? new Uint8Array(0));
    const grpc = (this.dec.headers?.get("content-type") ?? "").startsWith("application/grpc");
    const headers = new HeaderMap();
    if (grpc) {
      headers.add(":status", "200");
      headers.add("content-type", "application/grpc");
      headers.add("grpc-status", String(reply.grpcStatus ?? httpToGrpcStatus(reply.status)));
      if (body.length > 0) headers.add("grpc-message", new TextDecoder().decode(body));
    } else {
      headers.add(":status", String(reply.status));
      if (body.length > 0) {
        headers.add("content-length", String(body.length));
        headers.add("content-type", "text/plain");
      }
    }
    for (const [k, v] of reply.headers ?? []) headers.add(k, v);
    this.streamInfo.responseCode = grpc ? 200 : reply.status;
    this.streamInfo.responseHeaders = headers;
    const onlyHeaders = grpc || body.length === 0;
    this.headers(this.enc, headers, onlyHeaders);
    if (!onlyHeaders) this.data(this.enc, body, true);
    return true;
  }

  resetStream(details: string): void {
    if (this.resetDetails !== undefined) return;
    this.resetDetails = details;
    this.ended = true;
    this.streamInfo.responseCodeDetails ??= details;
  }

  route(): RouteDecision | undefined {
    return undefined;
  }
  clearRouteCache(): void {
    this.clearedRouteCache++;
  }
  setUpstreamOverrideHost(host: SocketAddress, strict: boolean): void {
    this.override = { host, strict };
  }
  upstreamOverrideHost(): { host: SocketAddress; strict: boolean } | undefined {
    return this.override;
  }
  encodeHeaders(headers: HeaderMap, endStream: boolean): void {
    this.headers(this.enc, headers, endStream);
  }
  encodeData(data: BodyBuffer, endStream: boolean): void {
    this.data(this.enc, data.toUint8Array(), endStream);
  }
  encodeTrailers(trailers: HeaderMap): void {
    this.trailers(this.enc, trailers);
  }
  readDisable(_disable: boolean): void {}
  onDownstreamWatermark(_cb: { above(): void; below(): void }): void {}
}


/** Opens one stream through a new filter of `plugin`. */
export function openTestStream(plugin: Plugin, opts: TestStreamOptions = {}): TestStream {
  return new TestStream(plugin.createFilter(), opts);
}

export { httpToGrpcStatus };

/** A WasmPluginConfig for tests and benchmarks: Envoy's defaults, overridable field by field. */
export function testPluginConfig(code: Uint8Array, over: Partial<WasmPluginConfig> = {}): WasmPluginConfig {
  return {
    name: "test-plugin",
    rootId: "root",
    vmId: "vm",
    runtime: "envoy.wasm.runtime.v8",
    code,
    codeSource: "guest.wasm",
    vmConfiguration: new Uint8Array(0),
    configuration: new Uint8Array(0),
    environmentVariables: {},
    failurePolicy: "FAIL_CLOSED",
    reloadBackoffBaseMs: 1000,
    allowOnHeadersStopIteration: false,
    ...over,
  };
}
