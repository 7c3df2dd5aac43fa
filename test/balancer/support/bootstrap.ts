/**
 * Envoy bootstraps for balancing tests and the benchmark: one listener (with its own cluster over
 * the same endpoints) per policy, so that several policies run side by side through one sidecar.
 *
 *  - ROUND_ROBIN, LEAST_REQUEST (least_request_lb_config.choice_count 2, Istio's default);
 *  - BALANCER_SESSION: the grpc-balancer filter in session-header mode, then Envoy's
 *    stateful_session filter (header `x-meshwasm-endpoint`) as Istio places it, over a
 *    LEAST_REQUEST cluster (what Istio's persistent sessions give a Service);
 *  - BALANCER_OVERRIDE: the filter in override_host mode over a cluster whose
 *    load_balancing_policy is override_host (header source) with LEAST_REQUEST as the fallback,
 *    as deploy/istio/balancer's EnvoyFilter patches it.
 *
 * Optional: gRPC health checks on every cluster, an `admin` cluster (HTTP/1.1 to the admin port,
 * Istio's `prometheus_stats` equivalent) for the filter's discovery, a retry policy.
 */
import { HCM_TYPE, ROUTER_TYPE, STRING_VALUE_TYPE, WASM_TYPE, clusterConfig } from "../../support/envoy-config.ts";

export type Policy = "ROUND_ROBIN" | "LEAST_REQUEST" | "BALANCER_SESSION" | "BALANCER_OVERRIDE";

export const SESSION_HEADER = "x-meshwasm-endpoint";
/** The filter's metric labels. */
export const STAT_TAGS = ["cluster", "endpoint", "decision", "result"];
export const OVERRIDE_HEADER = "x-gateway-destination-endpoint";
/** The cluster to the sidecar's admin port (Istio's `prometheus_stats`). */
export const ADMIN_CLUSTER = "admin";

export interface ListenerSpec {
  /** Listener, stat prefix and cluster name. */
  name: string;
  policy: Policy;
  port?: number;
  /** The filter's configuration (mode and header are set from the policy). */
  filter?: Record<string, unknown>;
}

export interface BootstrapOptions {
  endpoints: number[];
  listeners: ListenerSpec[];
  /** The compiled filter, relative to the config file. */
  wasmFile?: string;
  adminPort?: number;
  healthCheckIntervalMs?: number;
  retryOn?: string;
  numRetries?: number;
}

const lbConfig = (type: string, name: string, extra: Record<string, unknown> = {}) => ({
  typed_extension_config: { name, typed_config: { "@type": `type.googleapis.com/${type}`, ...extra } },
});

function cluster(spec: ListenerSpec, o: BootstrapOptions): Record<string, unknown> {
  const c = clusterConfig({ name: spec.name, ports: o.endpoints, lbPolicy: spec.policy === "ROUND_ROBIN" ? "ROUND_ROBIN" : "LEAST_REQUEST" });
  if (spec.policy !== "ROUND_ROBIN") c.least_request_lb_config = { choice_count: 2 };
  if (spec.policy === "BALANCER_OVERRIDE") {
    delete c.lb_policy;
    delete c.least_request_lb_config;
    c.load_balancing_policy = {
      policies: [
        lbConfig("envoy.extensions.load_balancing_policies.override_host.v3.OverrideHost", "envoy.load_balancing_policies.override_host", {
          override_host_sources: [{ header: OVERRIDE_HEADER }],
          fallback_policy: {
            policies: [lbConfig("envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest", "envoy.load_balancing_policies.least_request", { choice_count: 2 })],
          },
        }),
      ],
    };
  }
  if (o.healthCheckIntervalMs) {
    c.health_checks = [
      {
        timeout: "1s",
        interval: `${o.healthCheckIntervalMs / 1000}s`,
        no_traffic_interval: `${o.healthCheckIntervalMs / 1000}s`,
        unhealthy_threshold: 1,
        healthy_threshold: 1,
        grpc_health_check: {},
      },
    ];
  }
  return c;
}

function httpFilters(spec: ListenerSpec, o: BootstrapOptions): unknown[] {
  if (spec.policy !== "BALANCER_SESSION" && spec.policy !== "BALANCER_OVERRIDE") return [];
  const session = spec.policy === "BALANCER_SESSION";
  const configuration = JSON.stringify({
    mode: session ? "SESSION_HEADER" : "OVERRIDE_HOST",
    header: session ? SESSION_HEADER : OVERRIDE_HEADER,
    ...(spec.filter ?? {}),
  });
  const wasm = {
    name: `envoy.filters.http.wasm.${spec.name}`,
    typed_config: {
      "@type": WASM_TYPE,
      config: {
        name: `grpc-balancer-${spec.name}`,
        root_id: "",
        vm_config: { vm_id: `balancer-${spec.name}`, runtime: "envoy.wasm.runtime.v8", code: { local: { filename: o.wasmFile ?? "grpc-balancer.wasm" } } },
        configuration: { "@type": STRING_VALUE_TYPE, value: configuration },
        fail_open: true,
      },
    },
  };
  if (!session) return [wasm];
  return [
    wasm,
    {
      name: "envoy.filters.http.stateful_session",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.stateful_session.v3.StatefulSession",
        session_state: {
          name: "envoy.http.stateful_session.header",
          typed_config: {
            "@type": "type.googleapis.com/envoy.extensions.http.stateful_session.header.v3.HeaderBasedSessionState",
            name: SESSION_HEADER,
          },
        },
      },
    },
  ];
}

export function balancingBootstrap(o: BootstrapOptions): Record<string, unknown> {
  const route: Record<string, unknown> = {};
  if (o.retryOn) route.retry_policy = { retry_on: o.retryOn, num_retries: o.numRetries ?? 1 };
  const listeners = o.listeners.map((spec) => ({
    name: spec.name,
    address: { socket_address: { address: "127.0.0.1", port_value: spec.port ?? 0 } },
    filter_chains: [
      {
        filters: [
          {
            name: "envoy.filters.network.http_connection_manager",
            typed_config: {
              "@type": HCM_TYPE,
              stat_prefix: spec.name,
              codec_type: "AUTO",
              route_config: {
                name: `${spec.name}_route`,
                virtual_hosts: [{ name: spec.name, domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: spec.name, timeout: "0s", ...route } }] }],
              },
              http_filters: [...httpFilters(spec, o), { name: "envoy.filters.http.router", typed_config: { "@type": ROUTER_TYPE } }],
            },
          },
        ],
      },
    ],
  }));
  const clusters = o.listeners.map((spec) => cluster(spec, o));
  if (o.adminPort) clusters.push(clusterConfig({ name: ADMIN_CLUSTER, ports: [o.adminPort], http2: false }));
  const bootstrap: Record<string, unknown> = {
    node: { id: "balancer-node", cluster: "balancer" },
    // Istio's extraStatTags for the filter's labels: `(<tag>=\.=(.*?);\.;)`.
    stats_config: { stats_tags: STAT_TAGS.map((t) => ({ tag_name: t, regex: `(${t}=\\.=(.*?);\\.;)` })) },
    static_resources: { listeners, clusters },
  };
  if (o.adminPort) bootstrap.admin = { address: { socket_address: { address: "127.0.0.1", port_value: o.adminPort } } };
  return bootstrap;
}
