import { describe, expect, it } from "vitest";
import { MemoryStatsStore } from "./store.ts";
import { clusterStats, httpStats, listenerHttpStats, listenerStatAddress, listenerStats } from "./builtin.ts";
import { defaultTagExtractors } from "./tag-extractor.ts";
import { renderPrometheus } from "./render-prometheus.ts";
import { parseStatsParams } from "./render-support.ts";

const usedOnly = parseStatsParams(new URLSearchParams("usedonly"));

describe("built-in stats", () => {
  it("cluster response codes render as Envoy's envoy_cluster_upstream_rq family", () => {
    const store = new MemoryStatsStore();
    const c = clusterStats(store, "backend");
    c.upstream_rq_total.inc();
    c.chargeResponse(200);
    c.upstream_cx_active.set(1);
    expect(store.find("cluster.backend.upstream_rq_200")?.name).toBe("cluster.backend.upstream_rq_200");
    expect(store.counter("cluster.backend.external.upstream_rq_2xx").value()).toBe(1n);
    const lines = renderPrometheus(store, defaultTagExtractors(), usedOnly).split("\n");
    expect(lines).toContain('envoy_cluster_upstream_rq{envoy_response_code="200",envoy_cluster_name="backend"} 1');
    expect(lines).toContain('envoy_cluster_upstream_rq_xx{envoy_response_code_class="2",envoy_cluster_name="backend"} 1');
    expect(lines).toContain('envoy_cluster_upstream_rq_completed{envoy_cluster_name="backend"} 1');
    expect(lines).toContain('envoy_cluster_external_upstream_rq{envoy_response_code="200",envoy_cluster_name="backend"} 1');
    expect(lines).toContain('envoy_cluster_upstream_rq_total{envoy_cluster_name="backend"} 1');
    expect(lines).toContain('envoy_cluster_upstream_cx_active{envoy_cluster_name="backend"} 1');
  });

  it("creates Envoy's fixed stat names eagerly", () => {
    const store = new MemoryStatsStore();
    clusterStats(store, "b");
    httpStats(store, "ingress_http");
    listenerStats(store, listenerStatAddress("127.0.0.1", 10000));
    const names = new Set([...store.counters(), ...store.gauges(), ...store.histograms()].map((s) => s.name));
    for (const n of [
      "cluster.b.upstream_rq_timeout", "cluster.b.upstream_rq_retry_overflow", "cluster.b.membership_healthy",
      "cluster.b.health_check.healthy", "cluster.b.outlier_detection.ejections_active",
      "cluster.b.outlier_detection.ejections_enforced_consecutive_5xx", "cluster.b.lb_healthy_panic",
      "cluster.b.upstream_rq_time", "http.ingress_http.downstream_rq_time", "http.ingress_http.no_route",
      "http.ingress_http.rq_direct_response", "http.ingress_http.downstream_rq_active",
      "listener.127.0.0.1_10000.downstream_cx_active",
    ]) expect(names).toContain(n);
    expect(store.gauges().map((g) => g.name)).toContain("cluster.b.membership_total");
    expect(store.histograms().map((h) => h.name)).toContain("http.ingress_http.downstream_rq_time");
  });

  it("http and listener response classes", () => {
    const store = new MemoryStatsStore();
    const h = httpStats(store, "in");
    h.chargeResponse(503);
    const l = listenerHttpStats(store, listenerStatAddress("::1", 8080), "in");
    l.chargeResponse(204);
    expect(store.counter("http.in.downstream_rq_5xx").value()).toBe(1n);
    expect(store.counter("http.in.downstream_rq_completed").value()).toBe(1n);
    expect(store.counter("listener.[__1]_8080.http.in.downstream_rq_2xx").value()).toBe(1n);
    const lines = renderPrometheus(store, defaultTagExtractors(), usedOnly).split("\n");
    expect(lines).toContain(
      'envoy_listener_http_downstream_rq_xx{envoy_response_code_class="2",envoy_http_conn_manager_prefix="in",envoy_listener_address="[__1]_8080"} 1',
    );
    expect(lines).toContain('envoy_http_downstream_rq_xx{envoy_response_code_class="5",envoy_http_conn_manager_prefix="in"} 1');
  });
});
