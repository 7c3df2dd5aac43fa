import { afterEach, describe, expect, it } from "vitest";
import { startAdminServer, type AdminServer } from "./server.ts";
import { MemoryStatsStore } from "../stats/store.ts";
import { buildTagExtractors } from "../stats/tag-extractor.ts";
import type { ClusterView, HostView } from "../proxy/upstream/types.ts";

function host(over: Partial<HostView>): HostView {
  return {
    address: { address: "127.0.0.1", port: 9001 },
    hostname: "",
    weight: 1,
    healthFlags: [],
    rqActive: 0,
    rqTotal: 0,
    rqError: 0,
    rqSuccess: 0,
    rqTimeout: 0,
    cxActive: 0,
    cxTotal: 0,
    cxConnectFail: 0,
    ...over,
  };
}

const clusters: ClusterView[] = [
  {
    name: "backend",
    hosts: () => [
      host({ rqTotal: 7, rqSuccess: 6, rqError: 1, rqActive: 2, cxTotal: 1, cxActive: 1 }),
      host({ address: { address: "::1", port: 9002 }, hostname: "b2", weight: 3, healthFlags: ["/failed_active_hc", "/failed_outlier_check"] }),
    ],
    circuitBreakers: { maxConnections: 100, maxPendingRequests: 50, maxRequests: 200, maxRetries: 4 },
    addedViaApi: false,
  },
];

let server: AdminServer | undefined;
let ready = false;

async function start(): Promise<string> {
  const stats = new MemoryStatsStore();
  stats.counter("cluster.backend.upstream_rq_200").add(3);
  stats.counter("wasmcustom.result=.=deny;.;calls").add(2);
  stats.gauge("server.live").set(1);
  const extractors = buildTagExtractors({
    useAllDefaultTags: true,
    statsTags: [{ tagName: "result", regex: "(result=\\.=(.*?);\\.;)" }],
  });
  server = await startAdminServer({
    address: "127.0.0.1",
    port: 0,
    stats,
    extractors,
    clusters: () => clusters,
    configDump: () => ({
      static_resources: { clusters: [{ name: "backend" }], listeners: [{ name: "ingress" }] },
    }),
    ready: () => ready,
    listeners: () => [{ name: "ingress", address: { address: "0.0.0.0", port: 10000 } }],
  });
  return `http://127.0.0.1:${server.port}`;
}

afterEach(async () => {
  await server?.close();
  server = undefined;
  ready = false;
});

describe("admin server", () => {
  it("/ready reports INITIALIZING with 503, then LIVE with 200", async () => {
    const base = await start();
    let r = await fetch(`${base}/ready`);
    expect([r.status, await r.text()]).toEqual([503, "INITIALIZING\n"]);
    ready = true;
    r = await fetch(`${base}/ready`);
    expect([r.status, await r.text()]).toEqual([200, "LIVE\n"]);
  });

  it("/stats, /stats?format=json, /stats/prometheus and a bad filter", async () => {
    const base = await start();
    expect(await (await fetch(`${base}/stats`)).text()).toBe(
      "cluster.backend.upstream_rq_200: 3\nresult=.=deny;.;calls: 2\nserver.live: 1\n",
    );
    const json = await (await fetch(`${base}/stats?format=json&filter=server`)).json();
    expect(json).toEqual({ stats: [{ name: "server.live", value: 1 }] });
    const prom = await fetch(`${base}/stats/prometheus`);
    expect(prom.headers.get("content-type")).toBe("text/plain; charset=UTF-8");
    expect(await prom.text()).toBe(
      [
        "# TYPE envoy_cluster_upstream_rq counter",
        'envoy_cluster_upstream_rq{envoy_response_code="200",envoy_cluster_name="backend"} 3',
        "# TYPE calls counter",
        'calls{result="deny"} 2',
        "# TYPE envoy_server_live gauge",
        "envoy_server_live{} 1",
        "",
      ].join("\n"),
    );
    expect((await fetch(`${base}/stats?format=prometheus&filter=live`)).status).toBe(200);
    const bad = await fetch(`${base}/stats?filter=(`);
    expect(bad.status).toBe(400);
  });

  it("/clusters in Envoy's text format", async () => {
    const base = await start();
    const text = await (await fetch(`${base}/clusters`)).text();
    expect(text.slice(0, text.indexOf("backend::[::1]"))).toBe(
      [
        "backend::observability_name::backend",
        "backend::default_priority::max_connections::100",
        "backend::default_priority::max_pending_requests::50",
        "backend::default_priority::max_requests::200",
        "backend::default_priority::max_retries::4",
        "backend::high_priority::max_connections::1024",
        "backend::high_priority::max_pending_requests::1024",
        "backend::high_priority::max_requests::1024",
        "backend::high_priority::max_retries::3",
        "backend::added_via_api::false",
        "backend::127.0.0.1:9001::cx_active::1",
        "backend::127.0.0.1:9001::cx_connect_fail::0",
        "backend::127.0.0.1:9001::cx_total::1",
        "backend::127.0.0.1:9001::rq_active::2",
        "backend::127.0.0.1:9001::rq_error::1",
        "backend::127.0.0.1:9001::rq_success::6",
        "backend::127.0.0.1:9001::rq_timeout::0",
        "backend::127.0.0.1:9001::rq_total::7",
        "backend::127.0.0.1:9001::hostname::",
        "backend::127.0.0.1:9001::health_flags::healthy",
        "backend::127.0.0.1:9001::weight::1",
        "backend::127.0.0.1:9001::region::",
        "backend::127.0.0.1:9001::zone::",
        "backend::127.0.0.1:9001::sub_zone::",
        "backend::127.0.0.1:9001::canary::false",
        "backend::127.0.0.1:9001::priority::0",
        "backend::127.0.0.1:9001::success_rate::-1",
        "backend::127.0.0.1:9001::local_origin_success_rate::-1",
      ].join("\n") + "\n",
    );
    expect(text).toContain("backend::[::1]:9002::health_flags::/failed_active_hc/failed_outlier_check\n");
    expect(text).toContain("backend::[::1]:9002::hostname::b2\n");
    expect(text.endsWith("backend::[::1]:9002::local_origin_success_rate::-1\n")).toBe(true);
    expect(text).toContain("backend::[::1]:9002::weight::3\n");
  });

  it("/clusters?format=json as Envoy's proto3 JSON ClusterStatuses", async () => {
    const base = await start();
    const r = await fetch(`${base}/clusters?format=json`);
    expect(r.headers.get("content-type")).toBe("application/json");
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const body = (await r.json()) as any;
    expect(body.cluster_statuses).toHaveLength(1);
    const c = body.cluster_statuses[0];
    expect(c.name).toBe("backend");
    expect(c.added_via_api).toBeUndefined();
    expect(c.circuit_breakers.thresholds[0]).toEqual({
      max_connections: 100, max_pending_requests: 50, max_requests: 200, max_retries: 4,
    });
    expect(c.circuit_breakers.thresholds[1].priority).toBe("HIGH");
    expect(c.host_statuses[0]).toEqual({
      address: { socket_address: { address: "127.0.0.1", port_value: 9001 } },
      stats: [
        { name: "cx_connect_fail" },
        { value: "1", name: "cx_total" },
        { value: "1", name: "rq_error" },
        { value: "6", name: "rq_success" },
        { name: "rq_timeout" },
        { value: "7", name: "rq_total" },
        { type: "GAUGE", value: "1", name: "cx_active" },
        { type: "GAUGE", value: "2", name: "rq_active" },
      ],
      health_status: { eds_health_status: "HEALTHY" },
      weight: 1,
      locality: {},
    });
    expect(c.host_statuses[1].health_status).toEqual({
      failed_active_health_check: true,
      failed_outlier_check: true,
      eds_health_status: "HEALTHY",
    });
    expect(c.host_statuses[1].hostname).toBe("b2");
    expect(c.host_statuses[1].address.socket_address).toEqual({ address: "::1", port_value: 9002 });
  });

  it("/config_dump, /listeners, /server_info, / and unknown paths", async () => {
    const base = await start();
    const dump = (await (await fetch(`${base}/config_dump`)).json()) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(dump.configs.map((c: { "@type": string }) => c["@type"])).toEqual([
      "type.googleapis.com/envoy.admin.v3.BootstrapConfigDump",
      "type.googleapis.com/envoy.admin.v3.ClustersConfigDump",
      "type.googleapis.com/envoy.admin.v3.ListenersConfigDump",
    ]);
    expect(dump.configs[0].bootstrap.static_resources.clusters[0].name).toBe("backend");
    expect(dump.configs[1].static_clusters[0].cluster).toEqual({
      "@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster",
      name: "backend",
    });
    expect(dump.configs[2].static_listeners[0].listener.name).toBe("ingress");
    expect(await (await fetch(`${base}/listeners`)).text()).toBe("ingress::0.0.0.0:10000\n");
    expect(await (await fetch(`${base}/listeners?format=json`)).json()).toEqual({
      listener_statuses: [{ name: "ingress", local_address: { socket_address: { address: "0.0.0.0", port_value: 10000 } } }],
    });
    ready = true;
    const info = (await (await fetch(`${base}/server_info`)).json()) as { state: string; version: string };
    expect([info.state, info.version]).toEqual(["LIVE", "meshwasm-sidecar"]);
    const home = await (await fetch(`${base}/`)).text();
    expect(home).toContain("  /stats/prometheus: print server stats in prometheus format\n");
    const missing = await fetch(`${base}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toMatch(/^invalid path\. admin commands are:\n/);
    expect((await fetch(`${base}/stats`, { method: "DELETE" })).status).toBe(405);
  });
});
