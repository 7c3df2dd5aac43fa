import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseBootstrap, type Bootstrap, type WasmFilterConfig } from "./index.ts";
import { encodeStruct } from "./struct-proto.ts";

const testdata = join(dirname(fileURLToPath(import.meta.url)), "testdata");
const minimal = readFileSync(join(testdata, "minimal.yaml"), "utf8");

function parse(text: string, sourceName = "envoy.yaml"): Bootstrap {
  return parseBootstrap(text, { sourceName, baseDir: testdata, env: {} });
}

/** The minimal bootstrap with `from` replaced by `to` (a single textual edit). */
function edit(from: string, to: string): string {
  expect(minimal).toContain(from);
  return minimal.replace(from, to);
}

const ROUTER_FILTER = `                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router`;

function withFilterBefore(filter: string): string {
  return edit(ROUTER_FILTER, `${filter}\n${ROUTER_FILTER}`);
}

function wasmFilter(b: Bootstrap): WasmFilterConfig {
  const f = b.listeners[0]!.httpConnectionManager.httpFilters[0]!;
  expect(f.kind).toBe("wasm");
  return f as WasmFilterConfig;
}

const hcm = (b: Bootstrap) => b.listeners[0]!.httpConnectionManager;

describe("forms Envoy accepts", () => {
  it("accepts the minimal bootstrap with defaults filled in", () => {
    const b = parse(minimal);
    expect(hcm(b)).toMatchObject({
      statPrefix: "ingress",
      codecType: "AUTO",
      generateRequestId: true,
      useRemoteAddress: false,
      streamIdleTimeoutMs: 300000,
      requestTimeoutMs: 0,
    });
    expect(b.listeners[0]).toMatchObject({ trafficDirection: 0, perConnectionBufferLimitBytes: 1048576 });
    expect(b.clusters[0]).toMatchObject({ type: "STATIC", connectTimeoutMs: 5000, lbPolicy: { kind: "ROUND_ROBIN" }, upstreamProtocol: "HTTP1" });
    expect(b.stats).toEqual({ useAllDefaultTags: true, statsTags: [], histogramBucketSettings: [] });
    expect(hcm(b).routeConfig.virtualHosts[0]!.routes[0]!.route!.timeoutMs).toBe(15000);
  });

  it("unwraps udpa.type.v1.TypedStruct and xds.type.v3.TypedStruct", () => {
    const b = parse(readFileSync(join(testdata, "typed-struct.yaml"), "utf8"));
    expect(hcm(b).statPrefix).toBe("ingress");
    expect(hcm(b).httpFilters.map((f) => f.kind)).toEqual(["router"]);
    expect(b.listeners[0]!.name).toBe("0.0.0.0_8080");
    expect(hcm(b).routeConfig.virtualHosts[0]!.routes[0]!.directResponse).toEqual({ status: 204 });
    const xds = withFilterBefore(`                  - name: my-plugin
                    typed_config:
                      "@type": type.googleapis.com/xds.type.v3.TypedStruct
                      type_url: type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
                      value:
                        config:
                          vm_config:
                            runtime: envoy.wasm.runtime.v8
                            code: { local: { filename: plugin.wasm } }`);
    expect(wasmFilter(parse(xds)).plugin.runtime).toBe("envoy.wasm.runtime.v8");
  });

  it("selects filters by @type, so deprecated names still work", () => {
    let text = minimal.replace("name: envoy.filters.network.http_connection_manager", "name: envoy.http_connection_manager");
    text = text.replace("name: envoy.filters.http.router", "name: envoy.router");
    text = text.replace(ROUTER_FILTER.replace("envoy.filters.http.router", "envoy.router"), `                  - name: envoy.wasm
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
                      config: { vm_config: { runtime: envoy.wasm.runtime.wamr, code: { local: { filename: plugin.wasm } } } }
${ROUTER_FILTER.replace("envoy.filters.http.router", "envoy.router")}`);
    const b = parse(text);
    expect(hcm(b).httpFilters.map((f) => [f.kind, f.name])).toEqual([
      ["wasm", "envoy.wasm"],
      ["router", "envoy.router"],
    ]);
  });

  it.each([
    ["codec_type: http2", "HTTP2"],
    ["codec_type: Http1", "HTTP1"],
    ["codec_type: 2", "HTTP2"],
    ["codec_type: \"1\"", "HTTP1"],
  ])("parses enum %s case-insensitively or by number", (line, expected) => {
    const b = parse(edit("stat_prefix: ingress", `stat_prefix: ingress\n                ${line}`));
    expect(hcm(b).codecType).toBe(expected);
  });

  it("parses other enums in any case", () => {
    let text = edit("    - name: backend\n", "    - name: backend\n      type: strict_dns\n      lb_policy: least_request\n");
    text = text.replace("      filter_chains:", "      traffic_direction: outbound\n      filter_chains:");
    const b = parse(text);
    expect(b.clusters[0]).toMatchObject({ type: "STRICT_DNS", lbPolicy: { kind: "LEAST_REQUEST", choiceCount: 2, activeRequestBias: 1 } });
    expect(b.listeners[0]!.trafficDirection).toBe(2);
  });

  it.each([
    ["0.25s", 250],
    ["1s", 1000],
    ["1.5s", 1500],
    ["3600s", 3600000],
    ["0.000001s", 0.001],
    ["{ seconds: 2, nanos: 500000000 }", 2500],
    ['{ seconds: "3" }', 3000],
  ])("parses duration %s", (value, ms) => {
    const b = parse(edit("stat_prefix: ingress", `stat_prefix: ingress\n                request_timeout: ${value}`));
    expect(hcm(b).requestTimeoutMs).toBe(ms);
  });

  it("accepts lowerCamelCase field names, quoted integers and YAML 1.1 booleans as Envoy does", () => {
    let text = minimal.replace("port_value: 10000", 'portValue: "10000"').replace("stat_prefix: ingress", "statPrefix: ingress\n                generate_request_id: no");
    text = text.replace("      load_assignment:", "      connectTimeout: 2s\n      load_assignment:");
    const b = parse(text);
    expect(b.listeners[0]!.address.portValue).toBe(10000);
    expect(hcm(b).statPrefix).toBe("ingress");
    expect(hcm(b).generateRequestId).toBe(false);
    expect(b.clusters[0]!.connectTimeoutMs).toBe(2000);
  });

  it("reads JSON (by extension or sniffed) with the same model", () => {
    const json = JSON.stringify({
      static_resources: {
        listeners: [
          {
            name: "main",
            address: { socketAddress: { address: "127.0.0.1", portValue: 10000 } },
            filterChains: [
              {
                filters: [
                  {
                    name: "hcm",
                    typedConfig: {
                      "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                      statPrefix: "ingress",
                      routeConfig: { virtualHosts: [{ name: "all", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "backend" } }] }] },
                      httpFilters: [{ name: "router", typedConfig: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } }],
                    },
                  },
                ],
              },
            ],
          },
        ],
        clusters: [{ name: "backend", connectTimeout: "1s" }],
      },
    }, null, 2);
    const viaExt = parse(json, "envoy.json");
    const sniffed = parse(json, "envoy.conf");
    const { raw: _a, ...a } = viaExt;
    const { raw: _b, ...c } = sniffed;
    expect(a).toEqual(c);
    expect(hcm(viaExt).statPrefix).toBe("ingress");
    expect(viaExt.clusters[0]!.connectTimeoutMs).toBe(1000);
  });

  it("turns Wasm configuration Anys into the bytes Envoy passes", () => {
    const b = parse(withFilterBefore(`                  - name: w
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
                      config:
                        fail_open: true
                        configuration:
                          "@type": type.googleapis.com/google.protobuf.Struct
                          value: { a: 1, b: [true, "x"], c: null }
                        vm_config:
                          runtime: envoy.wasm.runtime.v8
                          code: { local: { inline_bytes: AGFzbQEAAAA= } }
                          configuration:
                            "@type": type.googleapis.com/google.protobuf.BytesValue
                            value: AAEC`));
    const w = wasmFilter(b).plugin;
    expect(w.code).toEqual(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
    expect(w.codeSource).toBe("<inline>");
    expect(w.vmConfiguration).toEqual(new Uint8Array([0, 1, 2]));
    expect(w.configuration).toEqual(encodeStruct({ a: 1, b: [true, "x"], c: null }));
    expect(w.failurePolicy).toBe("FAIL_OPEN");
    expect(w).toMatchObject({ name: "", rootId: "", vmId: "", reloadBackoffBaseMs: 1000, allowOnHeadersStopIteration: false, environmentVariables: {} });
  });

  it("encodes a Struct as protobuf (field 1 map entries of key/Value)", () => {
    // {"k": "v"}: entry(1){ key(1)="k", value(2)=Value{ string_value(3)="v" } }
    expect([...encodeStruct({ k: "v" })]).toEqual([0x0a, 0x08, 0x0a, 0x01, 0x6b, 0x12, 0x03, 0x1a, 0x01, 0x76]);
  });

  it.each([
    ["failure_policy: FAIL_CLOSED\n                        fail_open: true", "FAIL_CLOSED"],
    ["failure_policy: UNSPECIFIED\n                        fail_open: true", "FAIL_OPEN"],
    ["failure_policy: fail_open", "FAIL_OPEN"],
    ["fail_open: false", "FAIL_CLOSED"],
  ])("resolves %s to %s", (lines, expected) => {
    const b = parse(withFilterBefore(`                  - name: w
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
                      config:
                        ${lines}
                        vm_config: { runtime: envoy.wasm.runtime.v8, code: { local: { inline_string: "x" } } }`));
    expect(wasmFilter(b).plugin.failurePolicy).toBe(expected);
  });

  it("ignores lb_policy when load_balancing_policy is set and skips policy types Envoy does not know", () => {
    const b = parse(edit("    - name: backend\n", `    - name: backend
      lb_policy: CLUSTER_PROVIDED
      load_balancing_policy:
        policies:
          - typed_extension_config:
              name: custom
              typed_config: { "@type": type.googleapis.com/example.com.MyPolicy }
          - typed_extension_config:
              name: envoy.load_balancing_policies.random
              typed_config: { "@type": type.googleapis.com/envoy.extensions.load_balancing_policies.random.v3.Random }
`));
    expect(b.clusters[0]!.lbPolicy).toEqual({ kind: "RANDOM" });
    expect(b.clusters[0]!.overrideHost).toBeUndefined();
  });

  it("treats a header matcher with no specifier as a presence match and lower-cases domains", () => {
    const b = parse(edit('domains: ["*"]', 'domains: ["API.Example.com", "*.example.com", "example.*"]'));
    expect(hcm(b).routeConfig.virtualHosts[0]!.domains).toEqual(["api.example.com", "*.example.com", "example.*"]);
  });

  it("keeps the parsed document in raw", () => {
    const b = parse(minimal);
    expect((b.raw as { static_resources: { clusters: Array<{ name: string }> } }).static_resources.clusters[0]!.name).toBe("backend");
  });
});
