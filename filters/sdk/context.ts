/**
 * Contexts: what filter authors extend (proxy-wasm-rust-sdk traits.rs shape).
 *
 *  - `RootContext`: one per plugin (Envoy: per root_id / configuration / filter name, ABI note
 *    §2.1). Reads its configuration once in `onConfigure(size)` (return false to reject it), owns
 *    timers (`onTick`), queues and callouts, and creates one `HttpContext` per stream.
 *  - `HttpContext<R>`: one per HTTP stream; every callback defaults to Continue. `R` is the
 *    filter's root class (default RootContext), so `this.root` is typed: a stream declared as
 *    `class Stream extends HttpContext<MyRoot>` reads `this.root.config` without a cast. The
 *    non-generic `HttpContextBase` holds the callbacks; the SDK dispatches on it, and
 *    `createHttpContext` returns it (declare `HttpContextBase | null`, or your own class).
 *  - `TcpContext<R>` / `TcpContextBase`: the same for TCP connections (network filters).
 *
 * The root implementation is chosen in proxy_on_context_create from the `plugin_root_id`
 * property: the factory registered under that id, else the one registered under "", else the
 * only one registered. With no match the root rejects its configuration (load-time failure).
 *
 * Callouts: the host always delivers proxy_on_http_call_response to the root context (§2.5).
 * `RootContext.httpCall(…, stream, callback)` remembers token -> (stream id, callback); the SDK
 * then calls proxy_set_effective_context(stream) and invokes the callback with the stream
 * context, so the callback may edit that stream's headers and `continueRequest()` it. Responses
 * for streams already deleted are dropped.
 */
import { FilterHeadersStatus, FilterDataStatus, FilterTrailersStatus, FilterStatus, BufferType,
         StreamType, PeerType, WasmResult } from "./abi/imports";
import * as host from "./hostcalls";
import { Headers } from "./pairs";

/** Base of every context: its host-assigned id. */
export class BaseContext {
  constructor(public readonly contextId: u32) {}
}

/**
 * Response callback of `RootContext.httpCall`: `context` is the stream context the call was made
 * for (already the effective context), or the root itself. `numHeaders == 0` means the call failed
 * (see `getStatus()`); otherwise read the response via MapType.HttpCallResponseHeaders/Trailers
 * and BufferType.HttpCallResponseBody during the callback only.
 */
export type HttpCallCallback = (context: BaseContext, numHeaders: u32, bodySize: u32, numTrailers: u32) => void;

class PendingCall {
  constructor(public streamId: u32, public callback: HttpCallCallback) {}
}

export class RootContext extends BaseContext {
  /** Called once per root context before onConfigure; `vmConfigSize` bytes in VmConfiguration. */
  onVmStart(vmConfigSize: u32): bool { return true; }
  /** Parse the plugin configuration once; return false to reject it (the host fails the plugin). */
  onConfigure(configSize: u32): bool { return true; }
  /**
   * Per-stream context for HTTP filters (any `HttpContext<R>`); null means "no HTTP callbacks"
   * (all Continue).
   */
  createHttpContext(contextId: u32): HttpContextBase | null { return null; }
  /** Per-connection context for network filters; consulted only if createHttpContext gave null. */
  createTcpContext(contextId: u32): TcpContextBase | null { return null; }
  onTick(): void {}
  onQueueReady(queueId: u32): void {}
  onForeignFunction(functionId: u32, argsSize: u32): void {}
  /** Responses to calls made with `hostcalls.httpCall` directly (not through `httpCall` below). */
  onHttpCallResponse(token: u32, numHeaders: u32, bodySize: u32, numTrailers: u32): void {}
  onGrpcReceiveInitialMetadata(token: u32, numElements: u32): void {}
  onGrpcReceive(token: u32, messageSize: u32): void {}
  onGrpcReceiveTrailingMetadata(token: u32, numElements: u32): void {}
  onGrpcClose(token: u32, statusCode: u32): void {}
  /** Return false to defer deletion until `hostcalls.proxyDone()`. */
  onDone(): bool { return true; }
  onLog(): void {}
  onDelete(): void {}

  /** The plugin configuration as UTF-8 text ("" when empty or unavailable). */
  pluginConfiguration(configSize: u32): string {
    const b = host.getBuffer(BufferType.PluginConfiguration, configSize);
    return b === null ? "" : String.UTF8.decode(b);
  }

  /** Timer of this root context; 0 cancels. */
  setTickPeriod(periodMs: u32): WasmResult { return host.setTickPeriodMilliseconds(periodMs); }

  /**
   * Dispatches an HTTP call to cluster `upstream` (headers need :method, :path, :authority) and
   * routes its response to `callback` with `stream` as the effective context. Returns the token,
   * or 0 if the host refused the call (`hostcalls.lastResult()` tells why).
   */
  httpCall(upstream: string, headers: Headers, body: ArrayBuffer | null, trailers: Headers,
           timeoutMs: u32, stream: BaseContext | null, callback: HttpCallCallback): u32 {
    const token = host.httpCall(upstream, headers, body, trailers, timeoutMs);
    if (token != 0) pendingCalls.set(token, new PendingCall(stream === null ? 0 : stream.contextId, callback));
    return token;
  }
}

/**
 * The callbacks of an HTTP stream, all defaulting to Continue (extend `HttpContext<R>`).
 *
 * What the host lets a callback see (Envoy's wasm Context):
 *  - Header maps: the request headers only in onRequestHeaders, the response headers only in
 *    onResponseHeaders (and, if that returned a Stop status, until the stream is continued);
 *    once Continue is returned the map is gone and reads fail (null from the hostcalls). Keep
 *    what you need, e.g. with `GrpcStreamStatus` (grpc-status.ts). Trailers likewise in their
 *    callback. onLog sees the logged request headers, response headers and trailers again.
 *  - Bodies: `bodySize` of onRequestBody / onResponseBody is the size of the current chunk when
 *    the previous body callback returned Continue, and the total buffered so far (every chunk
 *    since the first StopIterationAndBuffer / StopIterationAndWatermark, this one included)
 *    when it returned one of those; getBufferBytes(RequestBody / ResponseBody, 0, bodySize)
 *    reads that chunk or that total. A gRPC message can therefore span several Continue
 *    callbacks: count frames with `GrpcFrameParser`, which accepts any chunking.
 */
export class HttpContextBase extends BaseContext {
  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus { return FilterHeadersStatus.Continue; }
  /** `bodySize`: this chunk after Continue, everything buffered after StopIterationAndBuffer. */
  onRequestBody(bodySize: u32, endOfStream: bool): FilterDataStatus { return FilterDataStatus.Continue; }
  onRequestTrailers(numTrailers: u32): FilterTrailersStatus { return FilterTrailersStatus.Continue; }
  /** The only callback that can read the response headers (see the class comment). */
  onResponseHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus { return FilterHeadersStatus.Continue; }
  /** `bodySize`: this chunk after Continue, everything buffered after StopIterationAndBuffer. */
  onResponseBody(bodySize: u32, endOfStream: bool): FilterDataStatus { return FilterDataStatus.Continue; }
  onResponseTrailers(numTrailers: u32): FilterTrailersStatus { return FilterTrailersStatus.Continue; }
  /** Envoy order at stream end: onLog -> onDone (result ignored for streams) -> onDelete. */
  onLog(): void {}
  onDone(): bool { return true; }
  onDelete(): void {}

  /** Resumes a paused request (deferred by Envoy until the current callback returns). */
  continueRequest(): WasmResult { return host.continueStream(StreamType.HttpRequest); }
  continueResponse(): WasmResult { return host.continueStream(StreamType.HttpResponse); }
  /** Resets the stream (Envoy details `wasm_close_stream`). */
  closeRequest(): WasmResult { return host.closeStream(StreamType.HttpRequest); }
}

/**
 * An HTTP stream of a filter whose root class is `R`: `this.root` is that root, typed.
 *
 *     class Stream extends HttpContext<MyRoot> {
 *       onRequestHeaders(n: u32, eos: bool): FilterHeadersStatus {
 *         incrementMetric(this.root.stats.requests, 1); // no cast
 *         …
 *     class MyRoot extends RootContext {
 *       createHttpContext(id: u32): HttpContextBase | null { return new Stream(id, this); }
 */
export class HttpContext<R extends RootContext = RootContext> extends HttpContextBase {
  constructor(contextId: u32, public readonly root: R) { super(contextId); }
}

/** The callbacks of a TCP connection, all defaulting to Continue (extend `TcpContext<R>`). */
export class TcpContextBase extends BaseContext {
  onNewConnection(): FilterStatus { return FilterStatus.Continue; }
  onDownstreamData(dataSize: u32, endOfStream: bool): FilterStatus { return FilterStatus.Continue; }
  onUpstreamData(dataSize: u32, endOfStream: bool): FilterStatus { return FilterStatus.Continue; }
  onDownstreamConnectionClose(peer: PeerType): void {}
  onUpstreamConnectionClose(peer: PeerType): void {}
  onLog(): void {}
  onDone(): bool { return true; }
  onDelete(): void {}
}

/** A TCP connection of a filter whose root class is `R`: `this.root` is that root, typed. */
export class TcpContext<R extends RootContext = RootContext> extends TcpContextBase {
  constructor(contextId: u32, public readonly root: R) { super(contextId); }
}

/** Root that rejects its configuration: no factory matched `plugin_root_id`. */
class UnmatchedRootContext extends RootContext {
  constructor(contextId: u32, public rootId: string) { super(contextId); }
  onConfigure(configSize: u32): bool {
    host.logError("no root context registered for plugin_root_id '" + this.rootId + "'");
    return false;
  }
}

// ===== registry and live contexts (used by abi/exports.ts) =====

export type RootContextFactory = (contextId: u32) => RootContext;

const factories = new Map<string, RootContextFactory>();
const factoryIds = new Array<string>();
export const roots = new Map<u32, RootContext>();
export const httpContexts = new Map<u32, HttpContextBase>();
export const tcpContexts = new Map<u32, TcpContextBase>();
export const pendingCalls = new Map<u32, PendingCall>();

/** Registers the root implementation for `rootId` ("" = default). Call at module top level. */
export function registerRootContext(factory: RootContextFactory, rootId: string = ""): void {
  if (!factories.has(rootId)) factoryIds.push(rootId);
  factories.set(rootId, factory);
}

/** Creates the root context for `contextId` (proxy_on_context_create with parent 0). */
export function createRoot(contextId: u32): void {
  const p = host.getPropertyString(["plugin_root_id"]);
  const rootId = p === null ? "" : p;
  let root: RootContext;
  if (factories.has(rootId)) root = factories.get(rootId)(contextId);
  else if (factories.has("")) root = factories.get("")(contextId);
  else if (factoryIds.length == 1) root = factories.get(factoryIds[0])(contextId);
  else root = new UnmatchedRootContext(contextId, rootId);
  roots.set(contextId, root);
}

/** Creates the stream context `contextId` under `rootId` (parent != 0). */
export function createStream(contextId: u32, rootId: u32): void {
  if (!roots.has(rootId)) return;
  const root = roots.get(rootId);
  const http = root.createHttpContext(contextId);
  if (http !== null) { httpContexts.set(contextId, http); return; }
  const tcp = root.createTcpContext(contextId);
  if (tcp !== null) tcpContexts.set(contextId, tcp);
}

/** Routes an http_call response to the stream / callback recorded by RootContext.httpCall. */
export function deliverHttpCallResponse(root: RootContext, token: u32, numHeaders: u32, bodySize: u32, numTrailers: u32): void {
  if (!pendingCalls.has(token)) { root.onHttpCallResponse(token, numHeaders, bodySize, numTrailers); return; }
  const call = pendingCalls.get(token);
  pendingCalls.delete(token);
  if (call.streamId == 0) { call.callback(root, numHeaders, bodySize, numTrailers); return; }
  let stream: BaseContext;
  if (httpContexts.has(call.streamId)) stream = httpContexts.get(call.streamId);
  else if (tcpContexts.has(call.streamId)) stream = tcpContexts.get(call.streamId);
  else return; // the stream ended before the response arrived
  host.setEffectiveContext(call.streamId);
  call.callback(stream, numHeaders, bodySize, numTrailers);
}
