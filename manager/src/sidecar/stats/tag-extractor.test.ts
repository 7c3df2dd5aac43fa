import { describe, expect, it } from "vitest";
import { buildTagExtractors, defaultTagExtractors, extractTags } from "./tag-extractor.ts";

const defaults = defaultTagExtractors();

describe("extractTags with Envoy's default tags", () => {
  const table: Array<[string, string, Array<[string, string]>]> = [
    ["cluster.backend.upstream_rq_200", "cluster.upstream_rq", [["envoy.response_code", "200"], ["envoy.cluster_name", "backend"]]],
    ["cluster.backend.upstream_rq_5xx", "cluster.upstream_rq_xx", [["envoy.response_code_class", "5"], ["envoy.cluster_name", "backend"]]],
    ["cluster.backend.upstream_rq_total", "cluster.upstream_rq_total", [["envoy.cluster_name", "backend"]]],
    ["cluster.backend.outlier_detection.ejections_active", "cluster.outlier_detection.ejections_active", [["envoy.cluster_name", "backend"]]],
    ["http.ingress_http.downstream_rq_2xx", "http.downstream_rq_xx", [["envoy.response_code_class", "2"], ["envoy.http_conn_manager_prefix", "ingress_http"]]],
    ["http.ingress_http.downstream_rq_time", "http.downstream_rq_time", [["envoy.http_conn_manager_prefix", "ingress_http"]]],
    ["listener.127.0.0.1_10000.downstream_cx_total", "listener.downstream_cx_total", [["envoy.listener_address", "127.0.0.1_10000"]]],
    ["listener.[__1]_10000.downstream_cx_total", "listener.downstream_cx_total", [["envoy.listener_address", "[__1]_10000"]]],
    ["listener.admin.downstream_cx_total", "listener.admin.downstream_cx_total", []],
    ["listener.127.0.0.1_10000.http.ingress_http.downstream_rq_2xx", "listener.http.downstream_rq_xx", [["envoy.response_code_class", "2"], ["envoy.http_conn_manager_prefix", "ingress_http"], ["envoy.listener_address", "127.0.0.1_10000"]]],
    ["cluster.grpcsvc.grpc.Greeter.SayHello.success", "cluster.grpc.success", [["envoy.grpc_bridge_method", "SayHello"], ["envoy.grpc_bridge_service", "Greeter"], ["envoy.cluster_name", "grpcsvc"]]],
    // Envoy's known pitfall with dotted gRPC package names.
    ["cluster.pubsub.grpc.google.pubsub.v1.Publisher.ListTopics.0", "cluster.grpc.v1.Publisher.ListTopics.0", [["envoy.grpc_bridge_method", "pubsub"], ["envoy.grpc_bridge_service", "google"], ["envoy.cluster_name", "pubsub"]]],
    ["vhost.vh.vcluster.vc.upstream_rq_200", "vhost.vcluster.upstream_rq", [["envoy.response_code", "200"], ["envoy.virtual_cluster", "vc"], ["envoy.virtual_host", "vh"]]],
    ["listener_manager.worker_3.dispatcher.loop_duration_us", "listener_manager.worker_dispatcher.loop_duration_us", [["envoy.worker_id", "3"]]],
    ["server.live", "server.live", []],
  ];
  it.each(table)("%s -> %s", (name, extracted, tags) => {
    const r = extractTags(name, defaults);
    expect(r.tagExtractedName).toBe(extracted);
    expect(r.tags.map((t) => [t.name, t.value])).toEqual(tags);
  });
});

describe("extractTags with user stats_tags", () => {
  it("Go SDK metrics example: first group removed, second is the value", () => {
    const ex = buildTagExtractors({
      useAllDefaultTags: true,
      statsTags: [
        { tagName: "value", regex: "(_value=([a-zA-Z]+))" },
        { tagName: "reporter", regex: "(_reporter=([a-zA-Z]+))" },
      ],
    });
    const r = extractTags("wasmcustom.custom_header_value_counts_value=foo_reporter=wasmgosdk", ex);
    expect(r.tagExtractedName).toBe("wasmcustom.custom_header_value_counts");
    expect(r.tags).toEqual([{ name: "value", value: "foo" }, { name: "reporter", value: "wasmgosdk" }]);
  });

  it("Istio extraStatTags regex form (<tag>=\\.=(.*?);\\.;) with use_all_default_tags false", () => {
    const ex = buildTagExtractors({
      useAllDefaultTags: false,
      statsTags: [
        { tagName: "reporter", regex: "(reporter=\\.=(.*?);\\.;)" },
        { tagName: "result", regex: "(result=\\.=(.*?);\\.;)" },
        { tagName: "grpc_method", regex: "(grpc_method=\\.=(.*?);\\.;)" },
      ],
    });
    const r = extractTags(
      "wasmcustom.reporter=.=destination;.;result=.=deny;.;grpc_method=.=helloworld.Greeter/SayHello;.;my_filter_requests_total",
      ex,
    );
    expect(r.tagExtractedName).toBe("wasmcustom.my_filter_requests_total");
    expect(r.tags).toEqual([
      { name: "reporter", value: "destination" },
      { name: "result", value: "deny" },
      { name: "grpc_method", value: "helloworld.Greeter/SayHello" },
    ]);
  });

  it("a one-group regex uses the removed text as the value", () => {
    const ex = buildTagExtractors({ useAllDefaultTags: false, statsTags: [{ tagName: "t", regex: "\\.(v\\d+)$" }] });
    expect(extractTags("api.v2", ex)).toEqual({ tagExtractedName: "api.", tags: [{ name: "t", value: "v2" }] });
  });

  it("fixed_value tags apply to every stat; a bare tag_name selects Envoy's default extractor", () => {
    const ex = buildTagExtractors({
      useAllDefaultTags: false,
      statsTags: [{ tagName: "zone", fixedValue: "z1" }, { tagName: "envoy.cluster_name" }],
    });
    expect(extractTags("cluster.b.upstream_rq_200", ex)).toEqual({
      tagExtractedName: "cluster.upstream_rq_200",
      tags: [{ name: "zone", value: "z1" }, { name: "envoy.cluster_name", value: "b" }],
    });
    expect(() => buildTagExtractors({ useAllDefaultTags: false, statsTags: [{ tagName: "nope" }] })).toThrow(
      "No regex specified for tag specifier and no default regex for name: 'nope'",
    );
    expect(() => buildTagExtractors({ useAllDefaultTags: false, statsTags: [{ tagName: "x", regex: "(" }] })).toThrow(
      "Invalid regex '('",
    );
  });

  it("only the first matching extractor of a duplicated tag name applies", () => {
    const ex = buildTagExtractors({
      useAllDefaultTags: true,
      statsTags: [{ tagName: "envoy.response_code", regex: "(response_code=\\.=(.+?);\\.;)" }],
    });
    const r = extractTags("wasmcustom.response_code=.=404;.;calls_upstream_rq_200", ex);
    expect(r.tags).toEqual([{ name: "envoy.response_code", value: "200" }]);
    expect(r.tagExtractedName).toBe("wasmcustom.response_code=.=404;.;calls_upstream_rq");
  });
});
