/**
 * Builds Envoy v3 bootstrap configs for tests, in the exact shape real Envoy takes, and
 * writes them to a temporary directory (with any Wasm modules next to them, referenced by
 * relative filename as a config on disk would be).
 *
 * `envoyConfig(opts)` returns the bootstrap as a plain object (edit it freely);
 * `writeEnvoyConfig(obj, files)` serializes it to YAML in a fresh temp dir and returns its
 * path plus a cleanup function.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";

export const HCM_TYPE =
  "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
export const ROUTER_TYPE = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";
export const WASM_TYPE = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm";
export const STRING_VALUE_TYPE = "type.googleapis.com/google.protobuf.StringValue";

export interface TestCluster {
  name: string;
  /** Loopback ports of the endpoints. */
  ports: number[];
  lbPolicy?: "ROUND_ROBIN" | "LEAST_REQUEST" | "RANDOM";
  /** Defaults to HTTP/2 upstream (gRPC). */
  http2?: boolean;
  connectTimeout?: string;
}

export interface EnvoyConfigOptions {
  clusters: TestCluster[];
  /** Routes of the single virtual host "local" (domains ["*"]); default: prefix "/" to the first cluster. */
  routes?: unknown[];
  virtualHosts?: unknown[];
  /** http_filters before the router. */
  httpFilters?: unknown[];
  codecType?: "AUTO" | "HTTP1" | "HTTP2";
  listenerPort?: number;
  statPrefix?: string;
  admin?: boolean;
  /** Extra fields merged into the HttpConnectionManager typed_config. */
  hcm?: Record<string, unknown>;
  perConnectionBufferLimitBytes?: number;
}

export function clusterConfig(c: TestCluster): Record<string, unknown> {
  const cluster: Record<string, unknown> = {
    name: c.name,
    type: "STATIC",
    connect_timeout: c.connectTimeout ?? "1s",
    lb_policy: c.lbPolicy ?? "ROUND_ROBIN",
    load_assignment: {
      cluster_name: c.name,
      endpoints: [
        {
          lb_endpoints: c.ports.map((port) => ({
            endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: port } } },
          })),
        },
      ],
    },
  };
  if (c.http2 !== false) {
    cluster.typed_extension_protocol_options = {
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
        explicit_http_config: { http2_protocol_options: {} },
      },
    };
  }
  return cluster;
}

/** A wasm http filter entry with a local .wasm file (relative to the config file). */
export function wasmFilter(opts: {
  name?: string;
  filename: string;
  rootId?: string;
  vmId?: string;
  configuration?: string;
  failOpen?: boolean;
  failurePolicy?: "FAIL_CLOSED" | "FAIL_OPEN" | "FAIL_RELOAD";
}): Record<string, unknown> {
  const config: Record<string, unknown> = {
    name: opts.name ?? "test-plugin",
    root_id: opts.rootId ?? "",
    vm_config: {
      vm_id: opts.vmId ?? "",
      runtime: "envoy.wasm.runtime.v8",
      code: { local: { filename: opts.filename } },
    },
  };
  if (opts.configuration !== undefined) {
    config.configuration = { "@type": STRING_VALUE_TYPE, value: opts.configuration };
  }
  if (opts.failOpen !== undefined) config.fail_open = opts.failOpen;
  if (opts.failurePolicy !== undefined) config.failure_policy = opts.failurePolicy;
  return {
    name: `envoy.filters.http.wasm.${opts.name ?? "test-plugin"}`,
    typed_config: { "@type": WASM_TYPE, config },
  };
}

export function envoyConfig(opts: EnvoyConfigOptions): Record<string, unknown> {
  const first = opts.clusters[0]?.name ?? "backend";
  const virtualHosts = opts.virtualHosts ?? [
    {
      name: "local",
      domains: ["*"],
      routes: opts.routes ?? [{ match: { prefix: "/" }, route: { cluster: first } }],
    },
  ];
  const listener: Record<string, unknown> = {
    name: "ingress",
    address: { socket_address: { address: "127.0.0.1", port_value: opts.listenerPort ?? 0 } },
    filter_chains: [
      {
        filters: [
          {
            name: "envoy.filters.network.http_connection_manager",
            typed_config: {
              "@type": HCM_TYPE,
              stat_prefix: opts.statPrefix ?? "ingress_http",
              codec_type: opts.codecType ?? "AUTO",
              route_config: { name: "local_route", virtual_hosts: virtualHosts },
              http_filters: [
                ...(opts.httpFilters ?? []),
                { name: "envoy.filters.http.router", typed_config: { "@type": ROUTER_TYPE } },
              ],
              ...(opts.hcm ?? {}),
            },
          },
        ],
      },
    ],
  };
  if (opts.perConnectionBufferLimitBytes !== undefined) {
    listener.per_connection_buffer_limit_bytes = opts.perConnectionBufferLimitBytes;
  }
  const bootstrap: Record<string, unknown> = {
    node: { id: "test-node", cluster: "test-cluster" },
    static_resources: { listeners: [listener], clusters: opts.clusters.map(clusterConfig) },
  };
  if (opts.admin) {
    bootstrap.admin = { address: { socket_address: { address: "127.0.0.1", port_value: 0 } } };
  }
  return bootstrap;
}

export interface WrittenConfig {
  dir: string;
  path: string;
  cleanup(): Promise<void>;
}

/** Writes `config` as envoy.yaml (plus `files`, name -> bytes/text) into a new temp dir. */
export async function writeEnvoyConfig(
  config: unknown,
  files: Record<string, Uint8Array | string> = {},
): Promise<WrittenConfig> {
  const dir = await mkdtemp(join(tmpdir(), "meshwasm-envoy-"));
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  const path = join(dir, "envoy.yaml");
  await writeFile(path, typeof config === "string" ? config : stringify(config));
  return { dir, path, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
