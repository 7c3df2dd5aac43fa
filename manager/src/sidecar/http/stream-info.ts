/**
 * What the data plane knows about one HTTP stream: the facts behind Envoy's attributes
 * (request.*, response.*, source.*, destination.*, connection.*, upstream.*, xds.*),
 * response flags, and filter state. The data plane fills it in as the stream advances;
 * the proxy-wasm host reads it to answer proxy_get_property and writes filter state.
 */
import type { HeaderMap } from "./header-map.ts";
import { systemTime } from "../host/clock.ts";
import type { SslConnectionInfo } from "../tls/connection-info.ts";

export interface SocketAddress {
  address: string; // IP literal, e.g. "127.0.0.1" or "::1"
  port: number;
}

/** Envoy response flags (short form as in %RESPONSE_FLAGS%). */
export type ResponseFlag =
  | "UH" // no healthy upstream
  | "UF" // upstream connection failure
  | "UO" // upstream overflow (circuit breaker)
  | "NR" // no route
  | "URX" // upstream retry limit exceeded
  | "UT" // upstream request timeout
  | "UC" // upstream connection termination
  | "UR" // upstream remote reset
  | "LR" // local reset
  | "DC" // downstream connection termination
  | "DT" // downstream request timeout (max stream duration / grpc-timeout)
  | "DI" // delay injected
  | "RL" // rate limited
  | "UAEX" // unauthorized external service
  | "SI" // stream idle timeout
  | "DPE" // downstream protocol error
  | "UPE" // upstream protocol error
  | "NFCF"; // no filter config found (an ECDS filter without a configuration)

/** A value stored in filter state, as Envoy's FilterState objects reduce to for Wasm. */
export interface FilterStateValue {
  /** Serialized value as proxy_get_property returns it. */
  bytes: Uint8Array;
  /** Type declared by the `declare_property` foreign function (default "bytes"). */
  type: "bytes" | "string" | "protobuf" | "flatbuffers";
  readOnly: boolean;
  /** Life span from declare_property: 0 FilterChain, 1 DownstreamRequest, 2 DownstreamConnection. */
  span: number;
}

export class FilterState {
  private readonly values = new Map<string, FilterStateValue>();
  get(key: string): FilterStateValue | undefined {
    return this.values.get(key);
  }
  /** Returns false when the key exists and is read-only (Envoy refuses the write). */
  set(key: string, value: FilterStateValue): boolean {
    const existing = this.values.get(key);
    if (existing && existing.readOnly) return false;
    this.values.set(key, value);
    return true;
  }
  has(key: string): boolean {
    return this.values.has(key);
  }
  keys(): string[] {
    return [...this.values.keys()];
  }
}

/** Static facts about the listener / plugin environment (xds.*, node). */
export interface XdsInfo {
  nodeId?: string;
  nodeCluster?: string;
  /** 0 UNSPECIFIED, 1 INBOUND, 2 OUTBOUND (envoy.config.core.v3.TrafficDirection). */
  listenerDirection?: number;
  listenerName?: string;
  filterChainName?: string;
}

/** The xds facts of a stream nobody filled in (shared: StreamInfo replaces, never edits, them). */
const NO_XDS: XdsInfo = Object.freeze({});

/**
 * Most streams never set a response flag, filter state or dynamic metadata, so those are
 * created on first use (a Set and two Maps fewer per request); reading them behaves as before.
 */
export class StreamInfo {
  /** Wall-clock start, ns since the epoch (Envoy's startTime(), nanosecond resolution). */
  readonly startTimeNs: bigint;
  /** Monotonic start, ns (process.hrtime.bigint(), the clock endNs and the upstream times use). */
  readonly startMonotonicNs: bigint;
  protocol: "HTTP/1.0" | "HTTP/1.1" | "HTTP/2" = "HTTP/2";
  connectionId = 0;
  downstreamLocalAddress?: SocketAddress;
  downstreamRemoteAddress?: SocketAddress;
  /** The downstream connection's TLS facts (Envoy's connection ssl()); undefined on plaintext. */
  downstreamSsl?: SslConnectionInfo;

  requestHeaders?: HeaderMap;
  requestTrailers?: HeaderMap;
  responseHeaders?: HeaderMap;
  responseTrailers?: HeaderMap;
  requestId?: string;
  /** Bytes of request / response body seen so far. */
  bytesReceived = 0;
  bytesSent = 0;

  xds: XdsInfo = NO_XDS;
  routeName?: string;
  virtualHostName?: string;
  /** Cluster the router forwards to (set when the route is resolved). */
  clusterName?: string;
  upstreamHost?: SocketAddress;
  upstreamLocalAddress?: SocketAddress;
  upstreamTransportFailureReason?: string;
  upstreamRequestAttemptCount = 0;
  /** Upstream request start / first response byte, monotonic ns (for backend_latency). */
  upstreamStartNs?: bigint;
  upstreamFirstByteNs?: bigint;
  /** Set when the stream completes, monotonic ns. */
  endNs?: bigint;

  responseCode?: number;
  responseCodeDetails?: string;
  /** grpc-status the stream ended with, when known. */
  grpcStatus?: number;

  private flags?: Set<ResponseFlag>;
  private state?: FilterState;
  private metadata?: Map<string, Record<string, unknown>>;

  /**
   * `now` fixes the start time (tests; wall time in ns, or in ms); by default both clocks are
   * read from the host's SystemTime, the source proxy_get_current_time_nanoseconds reads.
   */
  constructor(now?: { wallMs?: number; wallNs?: bigint; monoNs: bigint }) {
    this.startTimeNs = now ? (now.wallNs ?? BigInt(now.wallMs ?? 0) * 1_000_000n) : systemTime.wallNs();
    this.startMonotonicNs = now ? now.monoNs : systemTime.monoNs();
  }

  /** Wall-clock start, ms since the epoch. */
  get startTimeMs(): number {
    return Number(this.startTimeNs / 1_000_000n);
  }

  /** Envoy response flags set on this stream (created on first use). */
  get responseFlags(): Set<ResponseFlag> {
    return (this.flags ??= new Set<ResponseFlag>());
  }

  /** Filter state of the stream (created on first use). */
  get filterState(): FilterState {
    return (this.state ??= new FilterState());
  }

  /** Dynamic metadata: filter namespace -> JSON-like struct (created on first use). */
  get dynamicMetadata(): Map<string, Record<string, unknown>> {
    return (this.metadata ??= new Map<string, Record<string, unknown>>());
  }

  /** Envoy's %RESPONSE_FLAGS% rendering ("-" when none). */
  responseFlagsString(): string {
    const flags = this.flags;
    return flags === undefined || flags.size === 0 ? "-" : [...flags].join(",");
  }
}
