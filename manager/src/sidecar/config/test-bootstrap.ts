/**
 * YAML text of a minimal Envoy v3 bootstrap for the config parser's tests: one listener
 * (127.0.0.1:10000) whose HTTP connection manager routes everything to cluster `backend`
 * (127.0.0.1:9000), ending its filter chain with envoy.filters.http.router. Text, not an object,
 * because the tests assert on the line and column each error names.
 *
 * `httpFilters`: entries placed before the router, written at the indentation of a
 * `http_filters` list item. `transportSocket`: lines placed after the filter chain's filters,
 * already indented for the filter chain (ten spaces for `transport_socket:`).
 */
export function listenerBootstrap(opts: { httpFilters?: string; transportSocket?: string } = {}): string {
  return `static_resources:
  listeners:
    - name: main
      address: { socket_address: { address: 127.0.0.1, port_value: 10000 } }
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: ingress
                route_config:
                  virtual_hosts:
                    - name: all
                      domains: ["*"]
                      routes:
                        - match: { prefix: / }
                          route: { cluster: backend }
                http_filters:
${opts.httpFilters === undefined ? "" : `${opts.httpFilters}\n`}                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
${opts.transportSocket === undefined ? "" : `${opts.transportSocket}\n`}  clusters:
    - name: backend
      load_assignment:
        cluster_name: backend
        endpoints:
          - lb_endpoints:
              - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 9000 } } }
`;
}
