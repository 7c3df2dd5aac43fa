/**
 * The Envoy bootstrap of the demo's balancer scene (a plain Envoy v3 bootstrap, written to a file
 * and loaded as a user's would be): two listeners over the same demo backends, side by side,
 *
 *  - `balanced` -> cluster `demo_backends` (LEAST_REQUEST, what Istio gives a Service) with
 *    Envoy's stateful_session filter (header `x-meshwasm-endpoint`) before the router, as
 *    Istio's persistent sessions place it: grpc-balancer (from the demo's WasmPlugins, which
 *    balance `demo_backends`) writes the endpoint it chose, the session filter routes there;
 *  - `least_request` -> cluster `demo_backends_least_request` (LEAST_REQUEST, choice_count 2,
 *    Istio's default) with no session filter: the same WasmPlugins run there, but the cluster is
 *    not in grpc-balancer's `clusters`, so Envoy's least-request chooses every RPC.
 *
 * Each cluster counts per-host requests (admin `/clusters`: `<cluster>::<ip:port>::rq_total`),
 * which is where the scene reads the traffic share from; `stats_tags` give grpc-balancer's
 * metrics their labels (its cost gauge per endpoint is shown too). Pure.
 */
import { stringify } from "yaml";

export const BALANCED_CLUSTER = "demo_backends";
export const LEAST_REQUEST_CLUSTER = "demo_backends_least_request";
export const SESSION_HEADER = "x-meshwasm-endpoint";
/** grpc-balancer's metric labels. */
export const BALANCER_TAGS = ["cluster", "endpoint", "decision", "result"];

export interface SceneConfigInput {
  backendPorts: number[];
  /** Listener ports (0: system-chosen). */
  balancedPort?: number;
  leastRequestPort?: number;
  adminPort?: number;
}

const ROUTER = { name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } };
const SESSION_FILTER = {
  name: "envoy.filters.http.stateful_session",
  typed_config: {
    "@type": "type.googleapis.com/envoy.extensions.filters.http.stateful_session.v3.StatefulSession",
    session_state: {
      name: "envoy.http.stateful_session.header",
      typed_config: { "@type": "type.googleapis.com/envoy.extensions.http.stateful_session.header.v3.HeaderBasedSessionState", name: SESSION_HEADER },
    },
  },
};

function listener(name: string, port: number, cluster: string, filters: unknown[]): Record<string, unknown> {
  return {
    name,
    address: { socket_address: { address: "127.0.0.1", port_value: port } },
    filter_chains: [{
      filters: [{
        name: "envoy.filters.network.http_connection_manager",
        typed_config: {
          "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
          stat_prefix: name,
          codec_type: "AUTO",
          route_config: {
            name: `${name}_routes`,
            virtual_hosts: [{ name, domains: ["*"], routes: [{ match: { prefix: "/", grpc: {} }, route: { cluster, timeout: "5s" } }] }],
          },
          http_filters: [...filters, ROUTER],
        },
      }],
    }],
  };
}

function cluster(name: string, ports: number[]): Record<string, unknown> {
  return {
    name,
    type: "STATIC",
    connect_timeout: "1s",
    lb_policy: "LEAST_REQUEST",
    least_request_lb_config: { choice_count: 2 },
    typed_extension_protocol_options: {
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: ports.map((port) => ({ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: port } } } })) }],
    },
  };
}

/** The scene's bootstrap as YAML. */
export function renderSceneConfig(input: SceneConfigInput): string {
  const bootstrap = {
    node: { id: "demo-balancer-scene", cluster: "demo" },
    // grpc-balancer's labels, as Istio's extraStatTags turn them into tags: `(<tag>=\.=(.*?);\.;)`.
    stats_config: { stats_tags: BALANCER_TAGS.map((t) => ({ tag_name: t, regex: `(${t}=\\.=(.*?);\\.;)` })) },
    admin: { address: { socket_address: { address: "127.0.0.1", port_value: input.adminPort ?? 0 } } },
    static_resources: {
      listeners: [
        listener("balanced", input.balancedPort ?? 0, BALANCED_CLUSTER, [SESSION_FILTER]),
        listener("least_request", input.leastRequestPort ?? 0, LEAST_REQUEST_CLUSTER, []),
      ],
      clusters: [cluster(BALANCED_CLUSTER, input.backendPorts), cluster(LEAST_REQUEST_CLUSTER, input.backendPorts)],
    },
  };
  return `# The demo's balancer scene: grpc-balancer (session header) beside Envoy's LEAST_REQUEST.\n${stringify(bootstrap)}`;
}
