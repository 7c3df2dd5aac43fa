import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadBootstrapFile } from "./index.ts";

const testdata = join(dirname(fileURLToPath(import.meta.url)), "testdata");
const wasmBytes = new Uint8Array(readFileSync(join(testdata, "plugin.wasm")));
const utf8 = (s: string) => new TextEncoder().encode(s);
const env = { POD_NAME: "app-0" };


const defaultBreakers = [
  { priority: "DEFAULT", maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 },
  { priority: "HIGH", maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 },
];

describe("full bootstrap", () => {
  it("maps every supported field to the model with Envoy's defaults", async () => {
    const b = await loadBootstrapFile(join(testdata, "full.yaml"), env);
    const { raw, ...model } = b;
    expect((raw as { node: { cluster: string } }).node.cluster).toBe("app");
    expect(model).toEqual({
      node: { id: "sidecar~10.0.0.1~app-0.default~default.svc.cluster.local", cluster: "app" },
      admin: { address: { address: "127.0.0.1", portValue: 15000 } },
      stats: {
        useAllDefaultTags: false,
        statsTags: [
          { tagName: "grpc_method", regex: "(;\\.;grpc_method=\\.=(.+?);\\.;)" },
          { tagName: "mesh", fixedValue: "demo" },
        ],
        histogramBucketSettings: [
          { match: { prefix: "wasmcustom.", ignoreCase: false }, buckets: [0.5, 5, 25, 100] },
          { match: { safeRegex: "^cluster\\..*_time$", ignoreCase: false }, buckets: [1] },
        ],
      },
      listeners: [
        {
          name: "inbound",
          address: { address: "0.0.0.0", portValue: 15006 },
          trafficDirection: 1,
          perConnectionBufferLimitBytes: 65536,
          httpConnectionManager: {
            statPrefix: "inbound_http",
            codecType: "HTTP2",
            generateRequestId: false,
            useRemoteAddress: true,
            streamIdleTimeoutMs: 60000,
            requestTimeoutMs: 500,
            routeConfig: {
              name: "local_route",
              virtualHosts: [
                {
                  name: "backend",
                  domains: ["*"],
                  routes: [
                    {
                      name: "grpc-echo",
                      match: {
                        prefix: "/echo.Echo/",
                        caseSensitive: false,
                        grpc: true,
                        headers: [
                          { name: "x-tenant", exact: "blue", invertMatch: false },
                          { name: "x-canary", prefix: "v2", invertMatch: true },
                          { name: "x-debug", present: true, invertMatch: false },
                        ],
                      },
                      route: {
                        cluster: "echo",
                        timeoutMs: 0,
                        retryPolicy: {
                          retryOn: ["unavailable", "cancelled", "reset", "retriable-status-codes"],
                          numRetries: 3,
                          perTryTimeoutMs: 250,
                          retriableStatusCodes: [503],
                          baseIntervalMs: 100,
                          maxIntervalMs: 1000,
                        },
                        maxStreamDurationMs: 30000,
                        grpcTimeoutHeaderMaxMs: 10000,
                      },
                      requestHeadersToAdd: [{ key: "x-via", value: "sidecar", append: false }],
                      responseHeadersToAdd: [{ key: "x-served-by", value: "echo", append: true }],
                    },
                    {
                      name: "",
                      match: { safeRegex: "^/split/(?<id>[0-9]+)$", caseSensitive: true, headers: [], grpc: false },
                      route: {
                        weightedClusters: [
                          { name: "echo", weight: 90 },
                          { name: "echo-dns", weight: 10 },
                        ],
                        timeoutMs: 15000,
                        prefixRewrite: "/",
                        hostRewriteLiteral: "echo.internal",
                      },
                      requestHeadersToAdd: [],
                      responseHeadersToAdd: [],
                    },
                    {
                      name: "",
                      match: { path: "/healthz", caseSensitive: true, headers: [], grpc: false },
                      directResponse: { status: 200, body: "ok" },
                      requestHeadersToAdd: [],
                      responseHeadersToAdd: [],
                    },
                  ],
                },
              ],
            },
            httpFilters: [
              {
                kind: "wasm",
                name: "grpc-auth",
                path: "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0]",
                plugin: {
                  name: "grpc-auth",
                  rootId: "auth_root",
                  vmId: "auth_vm",
                  runtime: "envoy.wasm.runtime.v8",
                  code: wasmBytes,
                  codeSource: join(testdata, "plugin.wasm"),
                  vmConfiguration: utf8("vm-config"),
                  configuration: utf8('{"deny":"x-debug"}'),
                  environmentVariables: { POD_NAME: "app-0", MESH: "demo" },
                  failurePolicy: "FAIL_RELOAD",
                  reloadBackoffBaseMs: 2000,
                  allowOnHeadersStopIteration: true,
                },
              },
              {
                kind: "stateful_session",
                name: "envoy.filters.http.stateful_session",
                path: "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[1]",
                headerName: "x-session",
                strict: true,
              },
              {
                kind: "router",
                name: "envoy.filters.http.router",
                path: "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[2]",
              },
            ],
          },
        },
      ],
      clusters: [
        {
          name: "echo",
          type: "STATIC",
          connectTimeoutMs: 250,
          dnsRefreshRateMs: 5000,
          lbPolicy: { kind: "LEAST_REQUEST", choiceCount: 3, activeRequestBias: 0.5 },
          overrideHostStatuses: ["HEALTHY", "DEGRADED"],
          endpoints: [
            { address: "10.0.0.2", port: 9000, loadBalancingWeight: 2, healthCheckPort: 9001, healthStatus: "HEALTHY" },
            { address: "::1", port: 9000, loadBalancingWeight: 1 },
          ],
          upstreamProtocol: "HTTP2",
          http2MaxConcurrentStreams: 100,
          healthChecks: [
            {
              timeoutMs: 1000,
              intervalMs: 5000,
              unhealthyThreshold: 2,
              healthyThreshold: 1,
              grpcServiceName: "echo.Echo",
              grpcAuthority: "echo.local",
              noTrafficIntervalMs: 30000,
              unhealthyIntervalMs: 10000,
              healthyEdgeIntervalMs: 1000,
              unhealthyEdgeIntervalMs: 2000,
            },
          ],
          outlierDetection: {
            consecutive5xx: 3,
            consecutiveGatewayFailure: 2,
            enforcingConsecutive5xx: 50,
            enforcingConsecutiveGatewayFailure: 100,
            intervalMs: 1000,
            baseEjectionTimeMs: 5000,
            maxEjectionTimeMs: 60000,
            maxEjectionPercent: 50,
          },
          circuitBreakers: [
            defaultBreakers[0],
            { priority: "HIGH", maxConnections: 10, maxPendingRequests: 20, maxRequests: 30, maxRetries: 4 },
          ],
          perConnectionBufferLimitBytes: 32768,
        },
        {
          name: "echo-dns",
          type: "STRICT_DNS",
          connectTimeoutMs: 5000,
          dnsRefreshRateMs: 1000,
          lbPolicy: { kind: "LEAST_REQUEST", choiceCount: 2, activeRequestBias: 1 },
          overrideHost: {
            headers: ["x-gateway-destination-endpoint"],
            fallback: { kind: "LEAST_REQUEST", choiceCount: 2, activeRequestBias: 1 },
          },
          overrideHostStatuses: ["UNKNOWN", "HEALTHY", "DEGRADED"],
          endpoints: [{ address: "echo.default.svc", port: 9000, loadBalancingWeight: 1 }],
          upstreamProtocol: "HTTP2",
          http2MaxConcurrentStreams: 2147483647,
          healthChecks: [
            {
              timeoutMs: 1000,
              intervalMs: 2000,
              unhealthyThreshold: 3,
              healthyThreshold: 2,
              httpPath: "/healthz",
              noTrafficIntervalMs: 60000,
              unhealthyIntervalMs: 2000,
              healthyEdgeIntervalMs: 2000,
              unhealthyEdgeIntervalMs: 2000,
            },
          ],
          circuitBreakers: defaultBreakers,
          perConnectionBufferLimitBytes: 1048576,
        },
        {
          name: "logical",
          type: "LOGICAL_DNS",
          connectTimeoutMs: 5000,
          dnsRefreshRateMs: 5000,
          lbPolicy: { kind: "RANDOM" },
          overrideHostStatuses: ["UNKNOWN", "HEALTHY", "DEGRADED"],
          endpoints: [{ address: "localhost", port: 8080, loadBalancingWeight: 1 }],
          upstreamProtocol: "HTTP1",
          http2MaxConcurrentStreams: 2147483647,
          healthChecks: [],
          circuitBreakers: defaultBreakers,
          perConnectionBufferLimitBytes: 1048576,
        },
      ],
    });
  });
});
