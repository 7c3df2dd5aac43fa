/**
 * Root and stream contexts of one VM (proxy-wasm-cpp-host `ContextBase`, Envoy
 * `extensions/common/wasm/context.cc`).
 *
 * Contract:
 * - Context ids come from one per-VM counter starting at 1 (`WasmVm.nextContextId`): the first
 *   root context is 1, the first HTTP stream after it 2. Id 0 is the VM itself.
 * - `Context` carries the default (root) behaviour of every host call; the HTTP stream context
 *   (http-filter.ts) overrides the stream-only parts (header maps, bodies, continue/close,
 *   send_local_response).
 * - `RootContext` owns: the tick timer (one per root; set from a stream context sets its root's;
 *   first tick one period after the call; re-armed after on_tick returns; 0 cancels), the
 *   http_calls (tokens 4n+0 from the VM; the response reaches the root context id through
 *   proxy_on_http_call_response, with maps 6/7 and buffer 4 readable only during the callback;
 *   a reset gives num_headers 0 and get_status (11, "reset")), and the done/delete handshake
 *   (on_done false -> wait for proxy_done), and the gRPC calls and streams (grpc-calls.ts; maps 4/5
 *   and buffer 5 readable only during their callbacks).
 */
import { BodyBuffer } from "../http/body-buffer.ts";
import { HeaderMap, type HeaderPair } from "../http/header-map.ts";
import type { StreamInfo } from "../http/stream-info.ts";
import { BufferType, MapType, StreamType, WasmResult } from "./abi.ts";
import type { HostEnvironment, HttpCallResponse, TimerHandle } from "./api.ts";
import type { PropertyPrototype } from "./foreign.ts";
import type { PropertyScope } from "./properties.ts";
import { GrpcCallouts } from "./grpc-calls.ts";
import type { WasmVm } from "./vm.ts";

/** What identifies a plugin inside a VM (one root context each). */
export interface PluginIdentity {
  /** config.name */
  name: string;
  rootId: string;
  vmId: string;
  configuration: Uint8Array;
  vmConfiguration: Uint8Array;
  /** The plugin's listener direction (Envoy's Plugin::direction_), if it has a listener. */
  listenerDirection?: number;
}

export interface LocalResponseRequest {
  status: number;
  details: string;
  body: Uint8Array;
  headers: HeaderPair[];
  grpcStatus?: number;
}

export class Context {
  constructor(
    readonly vm: WasmVm,
    readonly id: number,
    /** The root context (itself for a root). */
    root: RootContext | undefined,
  ) {
    this.root = root ?? (this as unknown as RootContext);
  }

  readonly root: RootContext;

  get isRoot(): boolean {
    return this.root === (this as unknown as RootContext);
  }

  get plugin(): PluginIdentity {
    return this.root.identity;
  }

  get env(): HostEnvironment {
    return this.vm.env;
  }

  /** The stream's facts, for properties and foreign functions (none in a root context). */
  streamInfo(): StreamInfo | undefined {
    return undefined;
  }

  /**
   * The map for `type`, or null when this context has none at this moment. `forWrite` is set
   * by mutating calls (a stream may then create trailers, as Envoy's getMap does).
   */
  getHeaderMap(type: MapType, forWrite = false): HeaderMap | null {
    // Envoy's getMap (mutable access, and size) has no http_call maps; getConstMap has.
    if (forWrite) return null;
    if (type === MapType.HttpCallResponseHeaders) return this.root.httpCallResponseMaps?.headers ?? null;
    if (type === MapType.HttpCallResponseTrailers) return this.root.httpCallResponseMaps?.trailers ?? null;
    // Envoy getConstMap: the root's gRPC receive maps, only while their callback runs.
    if (type === MapType.GrpcInitialMetadata) return this.root.grpcReceive?.initialMetadata ?? null;
    if (type === MapType.GrpcTrailingMetadata) return this.root.grpcReceive?.trailingMetadata ?? null;
    return null;
  }

  /**
   * The buffer for `type` (0..8), or null (NotFound), as Envoy's Context::getBuffer: the
   * configuration and http_call buffers are read-only strings (set -> BadArgument); a body or
   * data buffer the context does not hold is an empty read-only buffer (get Ok, empty); the
   * plugin configuration exists only while the root's on_context_create / on_configure runs.
   */
  getBuffer(type: BufferType): BufferRef | null {
    switch (type) {
      case BufferType.HttpCallResponseBody: {
        const body = this.root.httpCallResponseMaps?.body;
        return body ? readOnly(body) : null;
      }
      case BufferType.GrpcReceive: {
        // Envoy: the root's receive buffer (mutable) during proxy_on_grpc_receive, else empty.
        const buf = this.root.grpcReceive?.buffer;
        return buf ? { buffer: buf, mutable: true } : readOnly(new BodyBuffer());
      }
      case BufferType.VmConfiguration:
        return readOnly(new BodyBuffer(this.plugin.vmConfiguration));
      case BufferType.PluginConfiguration:
        return this.root.configuring ? readOnly(new BodyBuffer(this.plugin.configuration)) : null;
      case BufferType.ForeignFunctionArgs:
        return readOnly(this.root.foreignArgs ?? new BodyBuffer());
      default:
        return readOnly(new BodyBuffer());
    }
  }

  /** `getBuffer(type)?.buffer`: the hot read path, which needs no BufferRef object. */
  getBufferForRead(type: BufferType): BodyBuffer | null {
    const ref = this.getBuffer(type);
    return ref ? ref.buffer : null;
  }

  /** True while proxy_on_log runs (Envoy's access-log phase: reads see the logged maps). */
  get accessLogPhase(): boolean {
    return false;
  }

  continueStream(type: StreamType): WasmResult {
    if (type === StreamType.Upstream) return WasmResult.Unimplemented;
    if (type > StreamType.Upstream) return WasmResult.BadArgument;
    return WasmResult.Ok;
  }

  closeStream(type: StreamType): WasmResult {
    if (type === StreamType.Upstream || type === StreamType.Downstream) return WasmResult.Ok;
    if (type > StreamType.Upstream) return WasmResult.BadArgument;
    return WasmResult.Ok;
  }

  sendLocalResponse(_req: LocalResponseRequest): WasmResult {
    return WasmResult.Ok;
  }

  clearRouteCache(): void {}

  logParts(): { filterName?: string; rootId?: string; vmId?: string; isStream: boolean } {
    return { filterName: this.plugin.name, rootId: this.plugin.rootId, vmId: this.plugin.vmId, isStream: !this.isRoot };
  }
}

/** A buffer as a host call sees it; read-only buffers refuse proxy_set_buffer_bytes. */
export interface BufferRef {
  buffer: BodyBuffer;
  mutable: boolean;
}

const readOnly = (buffer: BodyBuffer): BufferRef => ({ buffer, mutable: false });

interface PendingHttpCall {
  cancel: () => void;
}

export class RootContext extends Context {
  /** Set while proxy_on_http_call_response runs. */
  httpCallResponseMaps?: { headers: HeaderMap; trailers: HeaderMap; body: BodyBuffer };
  /** Set while a gRPC receive callback runs (maps 4 / 5, buffer 5). */
  grpcReceive?: { initialMetadata?: HeaderMap; trailingMetadata?: HeaderMap; buffer?: BodyBuffer };
  /** gRPC calls and streams (tokens 4n+1 / 4n+2). */
  readonly grpc: GrpcCallouts = new GrpcCallouts(this);
  /** Set while proxy_on_foreign_function runs (never in this host). */
  foreignArgs?: BodyBuffer;
  /** get_status result: last callout outcome. */
  status: { code: number; message: string } = { code: 0, message: "" };
  private tickPeriodMs = 0;
  private timer?: TimerHandle;
  private inTick = false;
  private readonly httpCalls = new Map<number, PendingHttpCall>();
  /** on_done returned false; waiting for proxy_done. */
  private awaitingDone?: () => void;
  deleted = false;
  /** Set while on_context_create / on_configure of this root runs (Envoy temp_plugin_). */
  configuring = false;
  /** Properties declared through the declare_property foreign function (Envoy state_prototypes_). */
  readonly declaredProperties = new Map<string, PropertyPrototype>();
  /**
   * Property scopes made at the first property call (imports.ts): one for this root, one shared
   * by its streams (a call sets the stream it acts on; lookups never re-enter the guest).
   */
  rootScope?: PropertyScope;
  streamScope?: PropertyScope;

  constructor(vm: WasmVm, id: number, readonly identity: PluginIdentity) {
    super(vm, id, undefined);
  }

  // ===== timers =====

  setTickPeriod(ms: number): WasmResult {
    this.tickPeriodMs = ms >>> 0;
    this.timer?.cancel();
    this.timer = undefined;
    if (this.tickPeriodMs > 0 && !this.inTick) this.armTimer();
    return WasmResult.Ok;
  }

  private armTimer(): void {
    this.timer = this.env.clock.setTimeout(this.tickPeriodMs, () => this.fireTick());
  }

  private fireTick(): void {
    this.timer = undefined;
    if (this.deleted || this.vm.failed) return;
    this.inTick = true;
    try {
      this.vm.call(this, "proxy_on_tick", this.id);
    } finally {
      this.inTick = false;
    }
    // Re-armed after on_tick returns (so the period drifts by the callback's duration).
    if (this.tickPeriodMs > 0 && !this.timer && !this.deleted && !this.vm.failed) this.armTimer();
  }

  // ===== http_call =====

  httpCall(
    cluster: string,
    headers: HeaderPair[],
    body: Uint8Array,
    trailers: HeaderPair[],
    timeoutMs: number,
  ): { result: WasmResult; token?: number } {
    const dispatcher = this.env.httpCalls;
    if (!dispatcher || !dispatcher.hasCluster(cluster)) return { result: WasmResult.BadArgument };
    const map = new HeaderMap(headers);
    if (!map.has(":method") || !map.has(":path") || !map.has(":authority")) {
      return { result: WasmResult.BadArgument };
    }
    if (body.length > 0) map.setCopy("content-length", String(body.length));
    const token = this.vm.nextHttpCallToken();
    const cancel = dispatcher.httpCall(
      { cluster, headers: map.pairs(), body, trailers, timeoutMs },
      {
        onResponse: (response) => this.onHttpCallResponse(token, response),
        onReset: () => this.onHttpCallReset(token),
      },
    );
    this.httpCalls.set(token, { cancel });
    return { result: WasmResult.Ok, token };
  }

  private onHttpCallResponse(token: number, response: HttpCallResponse): void {
    if (!this.httpCalls.delete(token) || this.deleted) return;
    const headers = new HeaderMap(response.headers);
    const trailers = new HeaderMap(response.trailers);
    const body = new BodyBuffer(response.body);
    this.status = { code: WasmResult.Ok, message: "" };
    this.httpCallResponseMaps = { headers, trailers, body };
    try {
      this.vm.call(this, "proxy_on_http_call_response", this.id, token, headers.size, body.length, trailers.size);
    } finally {
      this.httpCallResponseMaps = undefined;
    }
  }

  private onHttpCallReset(token: number): void {
    if (!this.httpCalls.delete(token) || this.deleted) return;
    this.status = { code: WasmResult.BrokenConnection, message: "reset" };
    this.vm.call(this, "proxy_on_http_call_response", this.id, token, 0, 0, 0);
  }

  /** Number of http_calls still waiting for their response. */
  get pendingHttpCalls(): number {
    return this.httpCalls.size;
  }

  // ===== lifecycle =====

  /**
   * Calls proxy_on_done; true -> proxy_on_delete now; false -> on_delete once the plugin calls
   * proxy_done. Resolves when the root is deleted.
   */
  shutdown(): Promise<void> {
    if (this.deleted) return Promise.resolve();
    const done = this.vm.call(this, "proxy_on_done", this.id);
    if (done === undefined || Number(done) !== 0 || this.vm.failed) {
      this.delete();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.awaitingDone = () => {
        this.delete();
        resolve();
      };
    });
  }

  /** proxy_done(): NotFound unless this root is waiting for it. */
  done(): WasmResult {
    const pending = this.awaitingDone;
    if (!pending) return WasmResult.NotFound;
    this.awaitingDone = undefined;
    this.vm.afterCall(pending);
    return WasmResult.Ok;
  }

  private delete(): void {
    if (this.deleted) return;
    this.vm.call(this, "proxy_on_delete", this.id);
    this.release();
  }

  /** Stops the timer and cancels outstanding calls without calling into the VM. */
  release(): void {
    this.deleted = true;
    this.timer?.cancel();
    this.timer = undefined;
    for (const call of this.httpCalls.values()) call.cancel();
    this.httpCalls.clear();
    this.grpc.cancelAll();
    this.vm.contexts.delete(this.id);
  }
}
