/**
 * gRPC callouts for the proxy-wasm host (Envoy's Grpc::AsyncClientImpl / AsyncStreamImpl,
 * source/common/grpc/async_client_impl.cc, on top of Http::AsyncClient): each stream runs the
 * router filter against the named cluster, as http_call does (async-client.ts), so host choice,
 * the connection pools, circuit breakers, outlier detection and cluster stats are the data plane's.
 *
 * Request (Grpc::Common::prepareHeaders): POST /<service>/<method>, :authority = the
 * GrpcService authority or the cluster name, content-type application/grpc, te: trailers,
 * grpc-timeout when the call has a timeout (which is also the route timeout), x-envoy-internal,
 * then the initial metadata ("-bin" values base64-encoded). Messages go out length-prefixed.
 *
 * Response, as AsyncStreamImpl:
 * - :status 200 headers -> onInitialMetadata(headers); a trailers-only response (end_stream on the
 *   headers) -> onInitialMetadata([]) then the trailers path; a non-200 without grpc-status ->
 *   empty metadata and a stream error with httpToGrpcStatus(:status).
 * - DATA is reassembled into messages (a message may span frames, a frame may hold several);
 *   a compressed message -> stream error 13; DATA with end_stream and no trailers -> error 2.
 * - Trailers -> onTrailingMetadata(trailers), onClose(grpc-status or 2, grpc-message decoded).
 * - A stream error: onTrailingMetadata([]), onClose(status, message), upstream reset.
 * - Router local replies reach the client as Envoy's gRPC local reply (trailers-only, grpc-status =
 *   the reply's or httpToGrpcStatus(http status), grpc-message = body): connect failure / reset
 *   before headers / no healthy upstream -> 14 "upstream connect error ..." / "no healthy
 *   upstream"; the timeout -> 504 -> 14 "upstream request timeout"; unknown cluster -> 14. A reset
 *   after the response started -> 13 (AsyncStreamImpl::onReset).
 * No callback fires synchronously; cancel() resets the upstream and silences every callback.
 */
import { BodyBuffer } from "../../http/body-buffer.ts";
import type { DecoderFilterCallbacks, LocalReply, RouteDecision } from "../../http/filter.ts";
import { httpToGrpcStatus } from "../../http/grpc.ts";
import { HeaderMap, type HeaderPair } from "../../http/header-map.ts";
import { StreamInfo } from "../../http/stream-info.ts";
import type { GrpcCallDispatcher, GrpcStreamCallbacks, GrpcStreamHandle, GrpcStreamRequest } from "../../host/api.ts";
import type { UpstreamClusterManager } from "./cluster-manager.ts";
import { grpcStatusOf } from "./grpc.ts";
import { RouterFilter, type RouterDeps } from "./router-filter.ts";
import { inertDecoderCallbacks } from "./inert-callbacks.ts";

const GRPC_UNKNOWN = 2;
const GRPC_INTERNAL = 13;
const GRPC_UNAVAILABLE = 14;
const PREFIX = 5;

let nextStreamId = 3n << 48n;

export function createAsyncGrpcClient(clusterManager: UpstreamClusterManager, random: () => number = Math.random): GrpcCallDispatcher {
  const deps: RouterDeps = { cluster: (n) => clusterManager.cluster(n), random };
  return {
    hasCluster: (name) => clusterManager.hasCluster(name),
    grpcStream: (request, callbacks) => startStream(deps, request, callbacks),
  };
}

/** Envoy Grpc::Common::toGrpcTimeout: the largest unit keeping the value under 10^8. */
export function grpcTimeoutHeader(ms: number): string {
  if (ms < 1e8) return `${ms}m`;
  const s = Math.ceil(ms / 1000);
  if (s < 1e8) return `${s}S`;
  const m = Math.ceil(s / 60);
  return m < 1e8 ? `${m}M` : `${Math.min(Math.ceil(m / 60), 99_999_999)}H`;
}

/** A length-prefixed gRPC message. */
export function frameMessage(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(PREFIX + message.length);
  new DataView(out.buffer).setUint32(1, message.length);
  out.set(message, PREFIX);
  return out;
}

/** grpc-message is percent-encoded on the wire (gRPC over HTTP/2). */
function percentDecode(s: string): string {
  if (!s.includes("%")) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const hex = s.slice(i + 1, i + 3);
    if (s[i] === "%" && /^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      for (const b of new TextEncoder().encode(s[i]!)) bytes.push(b);
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

function requestHeaders(req: GrpcStreamRequest): HeaderMap {
  const h = new HeaderMap([
    [":method", "POST"],
    [":path", `/${req.service}/${req.method}`],
    [":authority", req.authority || req.cluster],
    [":scheme", "http"],
    ["content-type", "application/grpc"],
    ["te", "trailers"],
  ]);
  if (req.timeoutMs > 0) h.add("grpc-timeout", grpcTimeoutHeader(req.timeoutMs));
  h.add("x-envoy-internal", "true");
  for (const [k, v] of req.metadata) {
    // Envoy base64EscapeBinHeaders: "-bin" metadata goes out base64-encoded.
    h.add(k, k.endsWith("-bin") ? Buffer.from(v, "latin1").toString("base64") : v);
  }
  return h;
}

function startStream(deps: RouterDeps, req: GrpcStreamRequest, cb: GrpcStreamCallbacks): GrpcStreamHandle {
  let cancelled = false;
  /** The stream is over for the plugin (close delivered or cancelled). */
  let done = false;
  let pending = new Uint8Array(0);
  const emit = (fn: () => void): void => {
    setImmediate(() => {
      if (!cancelled) fn();
    });
  };
  const router = new RouterFilter(deps);
  const close = (status: number, message: string): void => {
    if (done) return;
    done = true;
    emit(() => cb.onClose(status, message));
  };
  const streamError = (status: number, message = ""): void => {
    if (done) return;
    emit(() => cb.onTrailingMetadata([]));
    close(status, message);
    router.onDestroy();
  };
  const onTrailers = (t: HeaderPair[]): void => {
    if (done) return;
    const map = new HeaderMap(t);
    emit(() => cb.onTrailingMetadata(t));
    close(grpcStatusOf(map) ?? GRPC_UNKNOWN, percentDecode(map.get("grpc-message") ?? ""));
  };
  const onHeaders = (h: HeaderMap, end: boolean): void => {
    if (done) return;
    const status = Number(h.get(":status") ?? "0");
    if (status !== 200) {
      emit(() => cb.onInitialMetadata([]));
      if (end && grpcStatusOf(h) !== undefined) onTrailers(h.pairs());
      else streamError(httpToGrpcStatus(status));
      return;
    }
    if (end) {
      emit(() => cb.onInitialMetadata([]));
      onTrailers(h.pairs());
      return;
    }
    const md = h.pairs();
    emit(() => cb.onInitialMetadata(md));
  };
  const onData = (chunk: Uint8Array, end: boolean): void => {
    if (done) return;
    if (chunk.length > 0) {
      const joined = new Uint8Array(pending.length + chunk.length);
      joined.set(pending);
      joined.set(chunk, pending.length);
      pending = joined;
    }
    while (pending.length >= PREFIX) {
      const len = new DataView(pending.buffer, pending.byteOffset).getUint32(1);
      if (pending.length < PREFIX + len) break;
      const flags = pending[0]!;
      const msg = pending.slice(PREFIX, PREFIX + len);
      pending = pending.subarray(PREFIX + len);
      if (len > 0 && flags !== 0) return streamError(GRPC_INTERNAL);
      emit(() => cb.onMessage(msg));
    }
    if (end) streamError(GRPC_UNKNOWN);
  };

  const route: RouteDecision = {
    routeName: "async_client",
    virtualHostName: "async_client",
    clusterName: req.cluster,
    timeoutMs: req.timeoutMs,
  };
  const callbacks: DecoderFilterCallbacks = {
    streamInfo: new StreamInfo(),
    streamId: nextStreamId++,
    bufferLimit: 1 << 30,
    // Envoy's Http::AsyncStream local reply for a gRPC request: trailers-only, status 200.
    sendLocalReply(reply: LocalReply): boolean {
      const body = reply.body === undefined ? "" : typeof reply.body === "string" ? reply.body : new TextDecoder().decode(reply.body);
      const grpcStatus = reply.grpcStatus ?? httpToGrpcStatus(reply.status);
      const h = new HeaderMap([
        [":status", "200"],
        ["content-type", "application/grpc"],
        ["grpc-status", String(grpcStatus)],
      ]);
      if (body) h.add("grpc-message", body);
      onHeaders(h, true);
      return true;
    },
    resetStream: () => streamError(GRPC_INTERNAL),
    ...inertDecoderCallbacks(route),
    encodeHeaders: (h: HeaderMap, end: boolean) => onHeaders(h, end),
    encodeData: (d: BodyBuffer, end: boolean) => onData(d.slice(), end),
    encodeTrailers: (t: HeaderMap) => onTrailers(t.pairs()),
    readDisable: () => {},
    onDownstreamWatermark: () => {},
  };
  router.setDecoderFilterCallbacks(callbacks);
  if (!deps.cluster(req.cluster)) {
    // Envoy AsyncStreamImpl::initialize without a thread-local cluster.
    close(GRPC_UNAVAILABLE, "Cluster not available");
  } else {
    router.decodeHeaders(requestHeaders(req), false);
  }
  let localEnded = false;
  return {
    send(message: Uint8Array, endStream: boolean): void {
      if (done || localEnded) return;
      localEnded = endStream;
      router.decodeData(new BodyBuffer(frameMessage(message)), endStream);
    },
    closeSend(): void {
      if (done || localEnded) return;
      localEnded = true;
      router.decodeData(new BodyBuffer(), true);
    },
    cancel(): void {
      if (cancelled) return;
      cancelled = true;
      if (!done) {
        done = true;
        router.onDestroy();
      }
    },
  };
}
