/**
 * gRPC callouts of one root context, as Envoy's Context::grpcCall / grpcStream / grpcSend /
 * grpcClose / grpcCancel and their handlers (extensions/common/wasm/context.cc, context.h) on
 * Envoy's Grpc::AsyncClient (source/common/grpc/async_client_impl.cc).
 *
 * - `upstream`: a serialized GrpcService when it parses as one (grpc-service.ts), else a cluster
 *   name; an unknown name -> ParseFailure. A GrpcService naming an unknown cluster is accepted
 *   (Envoy's skip_cluster_check) and closes later with 14 "Cluster not available"; one without
 *   envoy_grpc -> BadArgument (no Google gRPC client). Initial metadata: the GrpcService's, then
 *   the plugin's pairs (keys lower-cased).
 * - Tokens: calls 4n+1, streams 4n+2 (per VM). Every callback goes to the root context id.
 * - A call (AsyncRequestImpl) sends one message with end_stream and its timeout (0 = none); it
 *   answers once: proxy_on_grpc_receive with the last message when the status is OK (OK without a
 *   message -> close 13 ""), else proxy_on_grpc_close(status) with get_status (status, message).
 * - A stream: proxy_on_grpc_receive_initial_metadata (map 4), proxy_on_grpc_receive per message
 *   (buffer 5), proxy_on_grpc_receive_trailing_metadata (map 5), proxy_on_grpc_close. Maps and the
 *   buffer exist only during their callback (read from any context of the VM through the root).
 *   The entry stays after the remote close until the plugin closes its side (grpc_close).
 * - grpc_send: streams only (a call token or any other kind -> BadArgument; unknown -> NotFound).
 *   grpc_close: a call is cancelled; a stream is half-closed (removed once both sides closed).
 *   grpc_cancel: the call / stream is reset and forgotten; no callback follows.
 */
import { BodyBuffer } from "../http/body-buffer.ts";
import { HeaderMap, type HeaderPair } from "../http/header-map.ts";
import { WasmResult } from "./abi.ts";
import type { GrpcStreamCallbacks, GrpcStreamHandle, GrpcStreamRequest } from "./api.ts";
import type { RootContext } from "./context.ts";
import { parseGrpcService } from "./grpc-service.ts";

const GRPC_OK = 0;
const GRPC_INTERNAL = 13;
const GRPC_UNAVAILABLE = 14;

interface Entry {
  kind: "call" | "stream";
  handle: GrpcStreamHandle;
  /** Unary: the last message received (Envoy keeps only the last). */
  response?: Uint8Array;
  localClosed: boolean;
  remoteClosed: boolean;
}

export interface GrpcStartArgs {
  upstream: Uint8Array;
  service: string;
  method: string;
  metadata: HeaderPair[];
  /** Unary only. */
  message?: Uint8Array;
  timeoutMs: number;
}

export const isGrpcCallToken = (t: number): boolean => (t & 3) === 1;
export const isGrpcStreamToken = (t: number): boolean => (t & 3) === 2;

export class GrpcCallouts {
  private readonly entries = new Map<number, Entry>();

  constructor(private readonly root: RootContext) {}

  get size(): number {
    return this.entries.size;
  }

  start(kind: "call" | "stream", a: GrpcStartArgs): { result: WasmResult; token?: number } {
    const env = this.root.env;
    const dispatcher = env.grpcCalls;
    const proto = parseGrpcService(a.upstream);
    let cluster: string;
    let authority: string | undefined;
    let metadata = a.metadata;
    if (proto === undefined) {
      cluster = new TextDecoder().decode(a.upstream);
      if (!dispatcher?.hasCluster(cluster)) return { result: WasmResult.ParseFailure };
    } else {
      if (!proto.envoyGrpc) return { result: WasmResult.BadArgument };
      cluster = proto.clusterName;
      authority = proto.authority || undefined;
      metadata = [...proto.initialMetadata, ...a.metadata];
    }
    const token = kind === "call" ? this.root.vm.nextGrpcCallToken() : this.root.vm.nextGrpcStreamToken();
    const entry: Entry = { kind, handle: NOOP_HANDLE, localClosed: false, remoteClosed: false };
    this.entries.set(token, entry);
    const request: GrpcStreamRequest = {
      cluster,
      authority,
      service: a.service,
      method: a.method,
      metadata: metadata.map(([k, v]) => [k.toLowerCase(), v]),
      timeoutMs: kind === "call" ? a.timeoutMs : 0,
    };
    const callbacks = this.callbacks(token, entry);
    if (dispatcher?.hasCluster(cluster)) {
      entry.handle = dispatcher.grpcStream(request, callbacks);
    } else {
      // Envoy AsyncStreamImpl::initialize: no thread-local cluster -> Unavailable.
      let live = true;
      env.clock.post(() => live && callbacks.onClose(GRPC_UNAVAILABLE, "Cluster not available"));
      entry.handle = { send() {}, closeSend() {}, cancel: () => void (live = false) };
    }
    if (kind === "call") entry.handle.send(a.message ?? new Uint8Array(0), true);
    return { result: WasmResult.Ok, token };
  }

  send(token: number, message: Uint8Array, endStream: boolean): WasmResult {
    if (!isGrpcStreamToken(token)) return WasmResult.BadArgument;
    const e = this.entries.get(token);
    if (!e) return WasmResult.NotFound;
    if (!e.remoteClosed && !e.localClosed) e.handle.send(message, endStream);
    return WasmResult.Ok;
  }

  close(token: number): WasmResult {
    if (!isGrpcCallToken(token) && !isGrpcStreamToken(token)) return WasmResult.BadArgument;
    const e = this.entries.get(token);
    if (!e) return WasmResult.NotFound;
    if (e.kind === "call") {
      e.handle.cancel();
      this.entries.delete(token);
      return WasmResult.Ok;
    }
    if (!e.remoteClosed && !e.localClosed) e.handle.closeSend();
    e.localClosed = true;
    if (e.remoteClosed) this.entries.delete(token);
    return WasmResult.Ok;
  }

  cancel(token: number): WasmResult {
    if (!isGrpcCallToken(token) && !isGrpcStreamToken(token)) return WasmResult.BadArgument;
    const e = this.entries.get(token);
    if (!e) return WasmResult.NotFound;
    if (!e.remoteClosed) e.handle.cancel();
    this.entries.delete(token);
    return WasmResult.Ok;
  }

  /** Root going away: reset everything without calling into the VM. */
  cancelAll(): void {
    for (const e of this.entries.values()) if (!e.remoteClosed) e.handle.cancel();
    this.entries.clear();
  }

  private live(token: number, entry: Entry): boolean {
    return this.entries.get(token) === entry && !this.root.deleted && !entry.remoteClosed;
  }

  private callbacks(token: number, entry: Entry): GrpcStreamCallbacks {
    const root = this.root;
    const vm = root.vm;
    return {
      onInitialMetadata: (md) => {
        if (!this.live(token, entry) || entry.kind === "call") return;
        root.grpcReceive = { initialMetadata: new HeaderMap(md) };
        try {
          vm.call(root, "proxy_on_grpc_receive_initial_metadata", root.id, token, md.length);
        } finally {
          root.grpcReceive = undefined;
        }
      },
      onMessage: (msg) => {
        if (!this.live(token, entry)) return;
        if (entry.kind === "call") entry.response = msg;
        else this.deliverMessage(token, msg);
      },
      onTrailingMetadata: (md) => {
        if (!this.live(token, entry) || entry.kind === "call") return;
        root.grpcReceive = { trailingMetadata: new HeaderMap(md) };
        try {
          vm.call(root, "proxy_on_grpc_receive_trailing_metadata", root.id, token, md.length);
        } finally {
          root.grpcReceive = undefined;
        }
      },
      onClose: (status, message) => {
        if (!this.live(token, entry)) return;
        entry.remoteClosed = true;
        if (entry.kind === "call") {
          try {
            if (status === GRPC_OK && entry.response) this.deliverMessage(token, entry.response);
            else if (status === GRPC_OK) this.deliverClose(token, GRPC_INTERNAL, "");
            else this.deliverClose(token, status, message);
          } finally {
            this.entries.delete(token);
          }
          return;
        }
        try {
          this.deliverClose(token, status, message);
        } finally {
          if (entry.localClosed && this.entries.get(token) === entry) this.entries.delete(token);
        }
      },
    };
  }

  private deliverMessage(token: number, msg: Uint8Array): void {
    const root = this.root;
    root.grpcReceive = { buffer: new BodyBuffer(msg) };
    try {
      root.vm.call(root, "proxy_on_grpc_receive", root.id, token, msg.length);
    } finally {
      root.grpcReceive = undefined;
    }
  }

  private deliverClose(token: number, status: number, message: string): void {
    const root = this.root;
    root.status = { code: status, message };
    try {
      root.vm.call(root, "proxy_on_grpc_close", root.id, token, status);
    } finally {
      root.status = { code: status, message: "" };
    }
  }
}

const NOOP_HANDLE: GrpcStreamHandle = { send() {}, closeSend() {}, cancel() {} };
