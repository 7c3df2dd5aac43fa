/**
 * The validated, normalized form of the Envoy v3 bootstrap subset the local sidecar runs.
 * Produced by the config parser (parse + validate with path-precise errors) and consumed by
 * the data plane, the proxy-wasm host and the admin endpoints. Every field here maps to an
 * Envoy field; names follow Envoy's in camelCase. Durations are milliseconds, enums are
 * upper-case canonical names, byte values are Uint8Array.
 */

export interface Bootstrap {
  node?: { id?: string; cluster?: string };
  admin?: { address: SocketAddressConfig };
  listeners: Listener[];
  clusters: Cluster[];
  stats: StatsConfig;
  /** The configuration as given (after YAML/JSON parsing), for /config_dump. */
  raw: unknown;
}

export interface SocketAddressConfig {
  address: string;
  portValue: number;
}

export interface StatsConfig {
  useAllDefaultTags: boolean; // default true
  statsTags: Array<{ tagName: string; regex?: string; fixedValue?: string }>;
  /** stats_config.histogram_bucket_settings, in order (first match wins); none means Envoy's default buckets. */
  histogramBucketSettings?: HistogramBucketSetting[];
}

/** One histogram_bucket_settings rule: a StringMatcher on the full stat name and its bucket bounds. */
export interface HistogramBucketSetting {
  match: StringMatcherConfig;
  /** Upper bounds, ascending (Envoy sorts them), each > 0 and unique. */
  buckets: number[];
}

/** envoy.type.matcher.v3.StringMatcher: exactly one of the patterns. */
export interface StringMatcherConfig {
  exact?: string;
  prefix?: string;
  suffix?: string;
  contains?: string;
  /** A JavaScript-compatible pattern (checked as RE2), matched against the whole string. */
  safeRegex?: string;
  /** ignore_case, for exact / prefix / suffix / contains. */
  ignoreCase: boolean;
}

export interface Listener {
  name: string;
  address: SocketAddressConfig;
  /** 0 UNSPECIFIED, 1 INBOUND, 2 OUTBOUND. */
  trafficDirection: number;
  perConnectionBufferLimitBytes: number; // default 1 MiB
  httpConnectionManager: HttpConnectionManager;
  /** filter_chains[0].transport_socket envoy.transport_sockets.tls; undefined: plaintext. */
  tls?: DownstreamTlsContextConfig;
}

export type TlsProtocolVersion = "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3";

/** envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher (OTHER_NAME is not supported). */
export interface SanMatcherConfig {
  sanType: "DNS" | "URI" | "EMAIL" | "IP_ADDRESS";
  matcher: StringMatcherConfig;
}

/** envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext, with its files read. */
export interface DownstreamTlsContextConfig {
  /** Path of the transport_socket, for messages. */
  path: string;
  /** common_tls_context.tls_certificates: PEM chain, PEM key, and the key's password if any. */
  certificates: Array<{ certificateChain: string; privateKey: string; password?: string }>;
  /** common_tls_context.validation_context.trusted_ca (PEM); undefined: peer certificates are not validated. */
  trustedCa?: string;
  /** validation_context.match_typed_subject_alt_names, and match_subject_alt_names for every SAN type. */
  subjectAltNameMatchers: SanMatcherConfig[];
  /** require_client_certificate (default false). */
  requireClientCertificate: boolean;
  /** common_tls_context.alpn_protocols, in preference order. */
  alpnProtocols: string[];
  /** tls_params; Envoy's server defaults are TLSv1.2 .. TLSv1.3. */
  minProtocolVersion: TlsProtocolVersion;
  maxProtocolVersion: TlsProtocolVersion;
  /** tls_params.cipher_suites as an OpenSSL list (Envoy's server default when not set). */
  cipherSuites: string;
  /** tls_params.ecdh_curves as an OpenSSL list (Envoy's default X25519:P-256). */
  ecdhCurves: string;
  /** tls_params.signature_algorithms as an OpenSSL list; undefined: the TLS library's default. */
  signatureAlgorithms?: string;
}

export interface HttpConnectionManager {
  statPrefix: string;
  codecType: "AUTO" | "HTTP1" | "HTTP2";
  routeConfig: RouteConfiguration;
  httpFilters: HttpFilterConfig[];
  /** generate_request_id (default true). */
  generateRequestId: boolean;
  /** use_remote_address (default false). */
  useRemoteAddress: boolean;
  /** stream_idle_timeout (default 5 min) and request_timeout (default 0 = none), ms. */
  streamIdleTimeoutMs: number;
  requestTimeoutMs: number;
}

export interface RouteConfiguration {
  name: string;
  virtualHosts: VirtualHost[];
}

export interface VirtualHost {
  name: string;
  domains: string[];
  routes: Route[];
}

export interface HeaderMatcher {
  name: string;
  /** exactly one of these */
  exact?: string;
  prefix?: string;
  suffix?: string;
  contains?: string;
  safeRegex?: string;
  present?: boolean;
  invertMatch: boolean;
}

export interface RouteMatch {
  prefix?: string;
  path?: string;
  safeRegex?: string;
  caseSensitive: boolean; // default true
  headers: HeaderMatcher[];
  /** match.grpc: {} — only gRPC requests (content-type application/grpc*). */
  grpc: boolean;
}

export interface RetryPolicy {
  /** Normalized retry_on conditions, e.g. "5xx", "reset", "connect-failure", "unavailable", "cancelled", "deadline-exceeded", "resource-exhausted", "internal", "retriable-status-codes", "gateway-error", "retriable-4xx", "refused-stream". */
  retryOn: string[];
  numRetries: number; // default 1
  perTryTimeoutMs: number; // 0 = none
  retriableStatusCodes: number[];
  /** retry_back_off base / max, ms (Envoy default 25 ms base, 10x max). */
  baseIntervalMs: number;
  maxIntervalMs: number;
}

export interface RouteAction {
  cluster?: string;
  weightedClusters?: Array<{ name: string; weight: number }>;
  timeoutMs: number; // Envoy default 15000; 0 disables
  retryPolicy?: RetryPolicy;
  /** max_stream_duration.grpc_timeout_header_max, ms; undefined = grpc-timeout not honoured (Envoy default). */
  grpcTimeoutHeaderMaxMs?: number;
  /** max_stream_duration.max_stream_duration, ms. */
  maxStreamDurationMs?: number;
  prefixRewrite?: string;
  hostRewriteLiteral?: string;
}

export interface Route {
  name: string;
  match: RouteMatch;
  route?: RouteAction;
  directResponse?: { status: number; body?: string };
  requestHeadersToAdd: Array<{ key: string; value: string; append: boolean }>;
  responseHeadersToAdd: Array<{ key: string; value: string; append: boolean }>;
}

export type HttpFilterConfig = WasmFilterConfig | StatefulSessionFilterConfig | JwtAuthnFilterConfig | RouterFilterConfig;

/** envoy.filters.http.jwt_authn (envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication). */
export interface JwtAuthnFilterConfig {
  kind: "jwt_authn";
  name: string;
  path: string;
  /** providers, in the order the configuration lists them. */
  providers: Map<string, JwtProviderConfig>;
  /** rules, first match wins; `requires` undefined = no verification. */
  rules: Array<{ match: RouteMatch; requires?: JwtRequirementConfig }>;
  bypassCorsPreflight: boolean;
  stripFailureResponse: boolean;
}

export interface JwtProviderConfig {
  issuer: string;
  audiences: string[];
  /** local_jwks as text (a JWKS that does not parse leaves the provider without keys, as in Envoy). */
  localJwks: string;
  forward: boolean;
  fromHeaders: Array<{ name: string; valuePrefix: string }>;
  fromParams: string[];
  fromCookies: string[];
  forwardPayloadHeader: string;
  padForwardPayloadHeader: boolean;
  payloadInMetadata: string;
  headerInMetadata: string;
  failedStatusInMetadata: string;
  /** normalize_payload_in_metadata.space_delimited_claims. */
  spaceDelimitedClaims: string[];
  /** clock_skew_seconds; 0 = Envoy's default of 60. */
  clockSkewSeconds: number;
  claimToHeaders: Array<{ headerName: string; claimName: string }>;
  clearRouteCache: boolean;
}

/** JwtRequirement; an empty requirement (`none`) needs no JWT. */
export type JwtRequirementConfig =
  | { kind: "provider"; providerName: string; audiences?: string[] }
  | { kind: "requires_any"; requirements: JwtRequirementConfig[] }
  | { kind: "requires_all"; requirements: JwtRequirementConfig[] }
  | { kind: "allow_missing" }
  | { kind: "allow_missing_or_failed" }
  | { kind: "none" };

export interface WasmFilterConfig {
  kind: "wasm";
  /** Name in http_filters[].name. */
  name: string;
  /** Config path (e.g. "static_resources.listeners[0]...http_filters[1]") for error messages. */
  path: string;
  plugin: WasmPluginConfig;
}

export interface WasmPluginConfig {
  /** config.name */
  name: string;
  rootId: string;
  vmId: string;
  runtime: string; // e.g. "envoy.wasm.runtime.v8"
  /** Bytes of the module (code.local.filename resolved relative to the config file, or inline_bytes). */
  code: Uint8Array;
  /** Where the code came from, for messages. */
  codeSource: string;
  /** vm_config.configuration as Envoy passes it (StringValue/BytesValue raw, Struct as JSON). */
  vmConfiguration: Uint8Array;
  /** configuration as Envoy passes it. */
  configuration: Uint8Array;
  /** vm_config.environment_variables: host_env_keys resolved + key_values. */
  environmentVariables: Record<string, string>;
  /** FAIL_CLOSED (default), FAIL_OPEN (also from fail_open: true), FAIL_RELOAD. */
  failurePolicy: "FAIL_CLOSED" | "FAIL_OPEN" | "FAIL_RELOAD";
  /** Base backoff for FAIL_RELOAD (reload_config.backoff.base_interval), ms, default 1000. */
  reloadBackoffBaseMs: number;
  /** allow_on_headers_stop_iteration (default false). */
  allowOnHeadersStopIteration: boolean;
  /**
   * The traffic_direction of the listener whose filter chain holds this plugin (0 unspecified,
   * 1 INBOUND, 2 OUTBOUND): Envoy's Plugin::direction_, which `xds.listener_direction` reads in
   * the root context as in the streams. Set by the sidecar per listener; absent outside one.
   */
  listenerDirection?: number;
}

export interface StatefulSessionFilterConfig {
  kind: "stateful_session";
  name: string;
  path: string;
  /** envoy.http.stateful_session.header: header name; value is base64("ip:port"). */
  headerName: string;
  strict: boolean;
}

export interface RouterFilterConfig {
  kind: "router";
  name: string;
  path: string;
}

export interface Endpoint {
  address: string; // hostname for STRICT_DNS / LOGICAL_DNS, IP for STATIC
  port: number;
  loadBalancingWeight: number; // default 1
  /** Optional health_check_config.port_value. */
  healthCheckPort?: number;
}

export interface HealthCheckConfig {
  timeoutMs: number;
  intervalMs: number;
  unhealthyThreshold: number;
  healthyThreshold: number;
  /** grpc_health_check.service_name (empty = overall server health). */
  grpcServiceName?: string;
  grpcAuthority?: string;
  /** http_health_check.path (HTTP/1.1 or HTTP/2 GET, 200 = healthy). */
  httpPath?: string;
  noTrafficIntervalMs: number; // default 60000
  unhealthyIntervalMs?: number;
  healthyEdgeIntervalMs?: number;
  unhealthyEdgeIntervalMs?: number;
}

export interface OutlierDetectionConfig {
  consecutive5xx: number; // default 5
  consecutiveGatewayFailure: number; // default 5
  enforcingConsecutive5xx: number; // percent, default 100
  enforcingConsecutiveGatewayFailure: number; // percent, default 0
  intervalMs: number; // default 10000
  baseEjectionTimeMs: number; // default 30000
  maxEjectionTimeMs: number; // default 300000
  maxEjectionPercent: number; // default 10
}

export interface CircuitBreakerThresholds {
  priority: "DEFAULT" | "HIGH";
  maxConnections: number; // default 1024
  maxPendingRequests: number; // default 1024
  maxRequests: number; // default 1024
  maxRetries: number; // default 3
}

export interface OverrideHostPolicy {
  /** override_host_sources[].header */
  headers: string[];
  /** fallback_policy: the inner policy used when no valid override host is given. */
  fallback: LbPolicyConfig;
}

export type LbPolicyConfig =
  | { kind: "ROUND_ROBIN" }
  | { kind: "LEAST_REQUEST"; choiceCount: number; activeRequestBias: number }
  | { kind: "RANDOM" };

export interface Cluster {
  name: string;
  type: "STATIC" | "STRICT_DNS" | "LOGICAL_DNS";
  connectTimeoutMs: number; // default 5000
  dnsRefreshRateMs: number; // default 5000
  lbPolicy: LbPolicyConfig;
  /** load_balancing_policy with envoy.load_balancing_policies.override_host. */
  overrideHost?: OverrideHostPolicy;
  /** common_lb_config.override_host_status; default UNKNOWN, HEALTHY, DEGRADED. */
  overrideHostStatuses: Array<"UNKNOWN" | "HEALTHY" | "UNHEALTHY" | "DRAINING" | "TIMEOUT" | "DEGRADED">;
  endpoints: Endpoint[];
  /** "HTTP2" when explicit_http_config.http2_protocol_options (or http2_protocol_options) is set. */
  upstreamProtocol: "HTTP1" | "HTTP2";
  /** http2_protocol_options.max_concurrent_streams (default 2147483647). */
  http2MaxConcurrentStreams: number;
  healthChecks: HealthCheckConfig[];
  outlierDetection?: OutlierDetectionConfig;
  circuitBreakers: CircuitBreakerThresholds[];
  perConnectionBufferLimitBytes: number;
}
