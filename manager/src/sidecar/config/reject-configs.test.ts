import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, parseBootstrap } from "./index.ts";

const testdata = join(dirname(fileURLToPath(import.meta.url)), "testdata");
const minimal = readFileSync(join(testdata, "minimal.yaml"), "utf8");

const L0 = "static_resources.listeners[0]";
const HCM = `${L0}.filter_chains[0].filters[0].typed_config`;
const VH = `${HCM}.route_config.virtual_hosts[0]`;
const R0 = `${VH}.routes[0]`;
const C0 = "static_resources.clusters[0]";

function edit(from: string, to: string): string {
  expect(minimal.split(from).length, `fixture must contain ${JSON.stringify(from)} once`).toBe(2);
  return minimal.replace(from, to);
}

const ROUTER = `                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router`;
const wasm = (body: string) => `                  - name: plugin
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
                      config:
                        vm_config:
                          runtime: envoy.wasm.runtime.v8
${body}`;
const withFilter = (f: string) => edit(ROUTER, `${f}\n${ROUTER}`);
const withCluster = (fields: string) => edit("    - name: backend\n", `    - name: backend\n${fields}`);
const ROUTE = "route: { cluster: backend }";

/** Line (1-based) of the first line containing `marker` in `text`. */
function lineOf(text: string, marker: string): number {
  const i = text.split("\n").findIndex((l) => l.includes(marker));
  expect(i, `marker ${JSON.stringify(marker)} not found`).toBeGreaterThanOrEqual(0);
  return i + 1;
}

interface Case {
  name: string;
  text: string;
  path: string;
  /** Text on the line the error must point at. */
  at: string;
  message: string;
  sourceName?: string;
}

const cases: Case[] = [
  {
    name: "unsupported hash_policy",
    text: edit(ROUTE, "route: { cluster: backend, hash_policy: [{ header: { header_name: x-user } }] }"),
    path: `${R0}.route.hash_policy`,
    at: "hash_policy",
    message: "not supported by the local sidecar",
  },
  {
    name: "unknown field",
    text: edit("      filter_chains:", "      colour: red\n      filter_chains:"),
    path: `${L0}.colour`,
    at: "colour: red",
    message: "unknown field",
  },
  {
    name: "duration in ms",
    text: edit("stat_prefix: ingress", "stat_prefix: ingress\n                request_timeout: 10ms"),
    path: `${HCM}.request_timeout`,
    at: "request_timeout: 10ms",
    message: 'invalid duration "10ms"',
  },
  {
    name: "port out of range",
    text: edit("port_value: 10000", "port_value: 70000"),
    path: `${L0}.address.socket_address.port_value`,
    at: "port_value: 70000",
    message: "must be between 0 and 65535 (got 70000)",
  },
  {
    name: "hostname as listener address",
    text: edit("address: 127.0.0.1, port_value: 10000", "address: localhost, port_value: 10000"),
    path: `${L0}.address.socket_address.address`,
    at: "address: localhost",
    message: 'malformed IP address "localhost"',
  },
  {
    name: "route to an unknown cluster",
    text: edit(ROUTE, "route: { cluster: nowhere }"),
    path: `${R0}.route.cluster`,
    at: "cluster: nowhere",
    message: 'unknown cluster "nowhere"',
  },
  {
    name: "router not last",
    text: edit(ROUTER, `${ROUTER}\n${wasm("                          code: { local: { inline_string: x } }")}`),
    path: `${HCM}.http_filters[0]`,
    at: "- name: envoy.filters.http.router",
    message: "must be the last filter in the http filter chain",
  },
  {
    name: "two http connection managers",
    text: edit(
      "            - name: envoy.filters.network.http_connection_manager\n",
      `            - name: first
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: a
                route_config: {}
                http_filters: [{ name: r, typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router } }]
            - name: envoy.filters.network.http_connection_manager\n`,
    ),
    path: `${L0}.filter_chains[0].filters[1]`,
    at: "- name: envoy.filters.network.http_connection_manager",
    message: "only one http_connection_manager is allowed",
  },
  {
    name: "missing stat_prefix",
    text: edit("                stat_prefix: ingress\n", ""),
    path: `${HCM}.stat_prefix`,
    at: '"@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager',
    message: "is required",
  },
  {
    name: "wasm code.remote",
    text: withFilter(wasm("                          code: { remote: { http_uri: { uri: https://x/p.wasm } } }")),
    path: `${HCM}.http_filters[0].typed_config.config.vm_config.code.remote`,
    at: "code: { remote",
    message: "not supported by the local sidecar: use code.local.filename",
  },
  {
    name: "missing wasm file",
    text: withFilter(wasm("                          code: { local: { filename: missing.wasm } }")),
    path: `${HCM}.http_filters[0].typed_config.config.vm_config.code.local.filename`,
    at: "missing.wasm",
    message: `cannot read Wasm file ${join(testdata, "missing.wasm")}: no such file`,
  },
  {
    name: "bad base64 in inline_bytes",
    text: withFilter(wasm("                          code: { local: { inline_bytes: \"not base64!\" } }")),
    path: `${HCM}.http_filters[0].typed_config.config.vm_config.code.local.inline_bytes`,
    at: "inline_bytes",
    message: "invalid base64",
  },
  {
    name: "null wasm runtime",
    text: withFilter(wasm("                          code: { local: { inline_string: x } }").replace("envoy.wasm.runtime.v8", "envoy.wasm.runtime.null")),
    path: `${HCM}.http_filters[0].typed_config.config.vm_config.runtime`,
    at: "runtime: envoy.wasm.runtime.null",
    message: "not supported by the local sidecar: envoy.wasm.runtime.null",
  },
  {
    name: "least request choice_count 1",
    text: withCluster("      lb_policy: LEAST_REQUEST\n      least_request_lb_config: { choice_count: 1 }\n"),
    path: `${C0}.least_request_lb_config.choice_count`,
    at: "least_request_lb_config",
    message: "must be between 2 and 4294967295 (got 1)",
  },
  {
    name: "LOGICAL_DNS with two endpoints",
    text: withCluster("      type: LOGICAL_DNS\n").replace(
      "              - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 9000 } } }",
      "              - endpoint: { address: { socket_address: { address: a.example, port_value: 9000 } } }\n              - endpoint: { address: { socket_address: { address: b.example, port_value: 9000 } } }",
    ),
    path: `${C0}.load_assignment.endpoints[0].lb_endpoints[1]`,
    at: "b.example",
    message: "LOGICAL_DNS clusters must have exactly one endpoint (found 2)",
  },
  {
    name: "STATIC cluster with a hostname",
    text: edit("address: 127.0.0.1, port_value: 9000", "address: backend.local, port_value: 9000"),
    path: `${C0}.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address`,
    at: "backend.local",
    message: 'malformed IP address "backend.local": STATIC clusters need IP addresses',
  },
  {
    name: "bad regex in safe_regex",
    text: edit("match: { prefix: / }", 'match: { safe_regex: { regex: "/api/(unclosed" } }'),
    path: `${R0}.match.safe_regex.regex`,
    at: "unclosed",
    message: "invalid regex",
  },
  {
    name: "lookahead, which RE2 rejects",
    text: edit("match: { prefix: / }", 'match: { safe_regex: { regex: "/a(?=b)" } }'),
    path: `${R0}.match.safe_regex.regex`,
    at: "(?=b)",
    message: "invalid regex: RE2 does not support lookahead or lookbehind",
  },
  {
    name: "bad regex in stats_tags",
    text: `stats_config:\n  stats_tags:\n    - tag_name: t\n      regex: "(["\n${minimal}`,
    path: "stats_config.stats_tags[0].regex",
    at: 'regex: "(["',
    message: "invalid regex",
  },
  {
    name: "weighted clusters not adding up to total_weight",
    text: edit(ROUTE, "route: { weighted_clusters: { clusters: [{ name: backend, weight: 30 }], total_weight: 100 } }"),
    path: `${R0}.route.weighted_clusters.total_weight`,
    at: "total_weight",
    message: "the sum of weights (30) must equal total_weight (100)",
  },
  {
    name: "unknown lb_policy",
    text: withCluster("      lb_policy: FASTEST\n"),
    path: `${C0}.lb_policy`,
    at: "lb_policy: FASTEST",
    message: 'invalid value "FASTEST"; expected one of ROUND_ROBIN, LEAST_REQUEST, RING_HASH, RANDOM, MAGLEV',
  },
  {
    name: "unsupported lb_policy RING_HASH",
    text: withCluster("      lb_policy: RING_HASH\n"),
    path: `${C0}.lb_policy`,
    at: "lb_policy: RING_HASH",
    message: "not supported by the local sidecar: RING_HASH",
  },
  {
    name: "unknown retry_on condition",
    text: edit(ROUTE, 'route: { cluster: backend, retry_policy: { retry_on: "5xx,unavailble" } }'),
    path: `${R0}.route.retry_policy.retry_on`,
    at: "unavailble",
    message: 'unknown retry_on condition "unavailble"',
  },
  {
    name: "invalid YAML",
    text: edit("stat_prefix: ingress", "stat_prefix: ingress\n                stat_prefix: again"),
    path: "",
    at: "stat_prefix: again",
    message: "Map keys must be unique",
  },
  {
    name: "invalid JSON",
    text: '{\n  "static_resources": {\n    "clusters": [,]\n  }\n}\n',
    sourceName: "envoy.json",
    path: "",
    at: '"clusters": [,]',
    message: "invalid JSON: unexpected \",\"",
  },
  {
    name: "duplicate cluster names",
    text: minimal + "    - { name: backend, connect_timeout: 1s }\n",
    path: "static_resources.clusters[1].name",
    at: "{ name: backend, connect_timeout: 1s }",
    message: 'duplicate cluster name "backend"',
  },
  {
    name: "metadata override host source",
    text: withCluster(`      load_balancing_policy:
        policies:
          - typed_extension_config:
              name: envoy.load_balancing_policies.override_host
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.load_balancing_policies.override_host.v3.OverrideHost
                override_host_sources: [{ metadata: { key: envoy.lb, path: [{ key: x-dest }] } }]
                fallback_policy:
                  policies: [{ typed_extension_config: { name: rr, typed_config: { "@type": type.googleapis.com/envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin } } }]
`),
    path: `${C0}.load_balancing_policy.policies[0].typed_extension_config.typed_config.override_host_sources[0].metadata`,
    at: "override_host_sources",
    message: "not supported by the local sidecar: Wasm filters cannot write dynamic metadata",
  },
  {
    name: "duplicate domains across virtual hosts",
    text: edit("                      routes:\n", `                      routes:
                        - match: { prefix: /b }
                          route: { cluster: backend }
                    - name: other
                      domains: ["API.example.com", "*"]
                      routes:\n`),
    path: `${HCM}.route_config.virtual_hosts[1].domains[1]`,
    at: '"API.example.com", "*"',
    message: 'only a single wildcard domain "*" is permitted',
  },
  {
    name: "unknown @type",
    text: edit(
      '"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
      '"@type": type.googleapis.com/example.Router',
    ),
    path: `${HCM}.http_filters[0].typed_config.@type`,
    at: "example.Router",
    message: "unknown or unsupported type example.Router",
  },
  {
    name: "retry back-off max below base",
    text: edit(ROUTE, "route: { cluster: backend, retry_policy: { retry_back_off: { base_interval: 1s, max_interval: 0.5s } } }"),
    path: `${R0}.route.retry_policy.retry_back_off.max_interval`,
    at: "max_interval",
    message: "max_interval must be greater than or equal to base_interval",
  },
  {
    name: "wrong type",
    text: edit("port_value: 10000", "port_value: [1]"),
    path: `${L0}.address.socket_address.port_value`,
    at: "port_value: [1]",
    message: "expected integer",
  },
  {
    name: "direct response status below 200",
    text: edit(ROUTE, "direct_response: { status: 100 }"),
    path: `${R0}.direct_response.status`,
    at: "status: 100",
    message: "must be between 200 and 599 (got 100)",
  },
  {
    name: "adding a pseudo-header",
    text: edit(ROUTE, `${ROUTE}\n                          request_headers_to_add: [{ header: { key: ":path", value: /x } }]`),
    path: `${R0}.request_headers_to_add[0].header.key`,
    at: ":path",
    message: "':'-prefixed or host headers may not be modified",
  },
  {
    name: "RDS",
    text: edit("stat_prefix: ingress", "stat_prefix: ingress\n                rds: { route_config_name: r }"),
    path: `${HCM}.rds`,
    at: "rds:",
    message: "not supported by the local sidecar",
  },
  {
    name: "zero connect_timeout",
    text: withCluster("      connect_timeout: 0s\n"),
    path: `${C0}.connect_timeout`,
    at: "connect_timeout: 0s",
    message: "must be greater than 0s",
  },
  {
    name: "http filter without typed_config",
    text: edit(ROUTER, "                  - name: envoy.filters.http.router"),
    path: `${HCM}.http_filters[0].typed_config`,
    at: "- name: envoy.filters.http.router",
    message: "is required (Envoy selects the filter by its typed_config @type)",
  },
  {
    name: "unsupported network filter type",
    text: edit(
      '"@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
      '"@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
    ).replace("  clusters:", "  clusters:"),
    path: `${L0}.filter_chains[0].filters[0]`,
    at: "- name: envoy.filters.network.http_connection_manager",
    message: "not supported by the local sidecar: network filter envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
  },
];

describe("rejected configurations", () => {
  it.each(cases)("$name", ({ text, path, at, message, sourceName }) => {
    const name = sourceName ?? "envoy.yaml";
    let err: unknown;
    try {
      parseBootstrap(text, { sourceName: name, baseDir: testdata, env: {} });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const ce = err as ConfigError;
    const first = ce.errors[0]!;
    expect({ path: first.path, line: first.line }).toEqual({ path, line: lineOf(text, at) });
    expect(first.message).toContain(message);
    const lines = ce.message.split("\n");
    expect(lines).toHaveLength(1);
    const prefix = path ? `${name}:${first.line}:${first.column}: ${path}: ` : `${name}:${first.line}:${first.column}: `;
    expect(ce.message.startsWith(prefix)).toBe(true);
  });

  it("formats the message exactly as <file>:<line>:<col>: <path>: <problem>", () => {
    const text = edit(ROUTE, "route: { cluster: backend, hash_policy: [] }");
    expect(() => parseBootstrap(text, { sourceName: "envoy.yaml", baseDir: testdata })).toThrow(
      `envoy.yaml:17:54: ${R0}.route.hash_policy: not supported by the local sidecar`,
    );
  });

  it("collects every error, in document order, and says how many more there are", () => {
    let text = edit("port_value: 10000", "port_value: 70000");
    text = text.replace(ROUTE, "route: { cluster: nowhere, timeout: 5 }");
    text = text.replace("      load_assignment:", "      connect_timeout: 1m\n      load_assignment:");
    let err: ConfigError | undefined;
    try {
      parseBootstrap(text, { sourceName: "envoy.yaml", baseDir: testdata });
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err!.errors.map((e) => [e.line, e.path])).toEqual([
      [4, `${L0}.address.socket_address.port_value`],
      [17, `${R0}.route.cluster`],
      [17, `${R0}.route.timeout`],
      [24, `${C0}.connect_timeout`],
    ]);
    expect(err!.message).toMatch(/^envoy\.yaml:4:\d+: .*port_value: must be between 0 and 65535 \(got 70000\) \(and 3 more\)$/);
  });

  it("reports a top level that is not an object", () => {
    expect(() => parseBootstrap("- a\n- b\n", { sourceName: "envoy.yaml", baseDir: testdata })).toThrow(
      "envoy.yaml:1:1: the bootstrap must be an object",
    );
  });
});
