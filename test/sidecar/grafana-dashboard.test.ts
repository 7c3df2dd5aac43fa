/**
 * The generated Grafana dashboard against a real Prometheus scraping the sidecar: a stand-in
 * guest exports the grpc-metrics filter's metric families (filters/grpc-metrics/README.md:
 * started, handled by code, handling milliseconds, messages each way, in-flight; Istio tag
 * encoding and `stats_tags`), Prometheus adds the `namespace` and `app` labels a cluster's pod
 * scrape adds, and every panel and variable query of deploy/grafana's dashboard is run through
 * test/support/dashboard-queries.ts: each parses and returns data, for "All" and for chosen
 * values. The server error ratio comes out exact: per request the guest counts 3 OK,
 * 1 Unavailable (a server error) and 1 PermissionDenied (not one), so the ratio is 1/5.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { echoClient, unary } from "../support/grpc-echo.ts";
import { startHarness, type Harness } from "../support/sidecar-harness.ts";
import { wasmFilter } from "../support/envoy-config.ts";
import { prometheusGate, singleValue, startPrometheus, type TestPrometheus } from "../support/prometheus.ts";
import { checkDashboardQueries, checkVariableQueries, interpolate, panelQueries } from "../support/dashboard-queries.ts";
import { Guest, OUT_3 } from "../conformance/guest.ts";
import { buildGrpcDashboard } from "../../manager/src/dashboards/grpc-dashboard.ts";
import { QUERIES } from "../../manager/src/dashboards/grpc-queries.ts";

const gate = prometheusGate();
const LABELS = "grpc_type=.=unary;.;grpc_service=.=meshwasm.demo.v1.Echo;.;grpc_method=.=Unary;.;";

/** [kind (0 counter, 1 gauge, 2 histogram), name, per-request action (increment / record values)] */
const FAMILIES: Array<[number, string, "inc" | "set" | "record", number[]]> = [
  [0, `${LABELS}grpc_server_started_total`, "inc", [5]],
  [0, `${LABELS}grpc_code=.=OK;.;grpc_server_handled_total`, "inc", [3]],
  [0, `${LABELS}grpc_code=.=Unavailable;.;grpc_server_handled_total`, "inc", [1]],
  [0, `${LABELS}grpc_code=.=PermissionDenied;.;grpc_server_handled_total`, "inc", [1]],
  [2, `${LABELS}grpc_server_handling_milliseconds`, "record", [3, 40, 700]],
  [0, `${LABELS}grpc_server_msg_received_total`, "inc", [5]],
  [0, `${LABELS}grpc_server_msg_sent_total`, "inc", [10]],
  [1, `${LABELS}grpc_server_in_flight`, "set", [2]],
];

function standInGuest(): Guest {
  const g = new Guest();
  FAMILIES.forEach((_, i) => g.raw(`(global $m${i} (mut i32) (i32.const 0))`));
  g.on(
    "proxy_on_configure",
    FAMILIES.map(([kind, name], i) => `(drop ${g.hc("proxy_define_metric", kind, g.str(name), OUT_3)}) (global.set $m${i} (i32.load (i32.const ${OUT_3})))`).join("\n"),
    "(i32.const 1)",
  );
  const actions = FAMILIES.flatMap(([, , action, values], i) =>
    values.map((v) => `(drop ${g.hc(action === "inc" ? "proxy_increment_metric" : "proxy_record_metric", `(global.get $m${i})`, `(i64.const ${v})`)})`),
  );
  g.on("proxy_on_request_headers", actions.join("\n"), "(i32.const 0)");
  return g;
}

describe.skipIf(gate.skip)(`the gRPC dashboard's queries on a real Prometheus${gate.skip ? ` (skipped: ${gate.reason})` : ""}`, () => {
  let h: Harness;
  let prom: TestPrometheus;
  const full = buildGrpcDashboard();
  // The gRPC rows only: the collapsed Auth and Balancer rows read grpc-auth's and grpc-balancer's
  // metrics, proven by test/auth/dashboard-queries.test.ts and test/balancer/dashboard-queries.test.ts.
  const dashboard = { ...full, panels: (full.panels ?? []).filter((p) => !(p.type === "row" && ["Auth", "Balancer"].includes((p as { title?: string }).title ?? ""))) };

  beforeAll(async () => {
    h = await startHarness({
      files: { "m.wasm": await standInGuest().build() },
      config: () => ({ admin: true, httpFilters: [wasmFilter({ name: "grpc-metrics", filename: "m.wasm" })] }),
      edit: (b) => {
        b.stats_config = {
          use_all_default_tags: false,
          stats_tags: ["grpc_type", "grpc_service", "grpc_method", "grpc_code"].map((t) => ({ tag_name: t, regex: `(${t}=\\.=(.*?);\\.;)` })),
        };
      },
    });
    prom = await startPrometheus({
      targets: [{ job: "sidecar", address: `127.0.0.1:${h.sidecar.adminPort}`, metricsPath: "/stats/prometheus", labels: { namespace: "demo", app: "echo" } }],
    });
    // Traffic across several scrapes (the first comes a few seconds after start, when Prometheus
    // applies its targets), so that rates have samples before and during it.
    await prom.waitForQuery('up{job="sidecar"}', (r) => singleValue(r) === 1);
    const client = echoClient(h.port);
    try {
      for (let i = 0; i < 25; i++) {
        await unary(client, { message: `r${i}` });
        await new Promise((r) => setTimeout(r, 150));
      }
    } finally {
      client.close();
    }
    await prom.waitForQuery("sum(grpc_server_started_total)", (r) => singleValue(r) === 125);
  }, 90_000);

  afterAll(async () => {
    await prom?.stop();
    await h?.stop();
  });

  it("every panel query parses and returns data, with All and with chosen values", async () => {
    const all = await checkDashboardQueries(prom, dashboard, { rateInterval: "10s", range: "1m" });
    expect(all.length).toBe(panelQueries(dashboard).length);
    expect(all.length).toBeGreaterThanOrEqual(13);
    const chosen = await checkDashboardQueries(prom, dashboard, {
      rateInterval: "10s",
      range: "1m",
      values: { namespace: "demo", workload: ["echo", "other"], service: "meshwasm.demo.v1.Echo", method: "Unary" },
    });
    expect(chosen[0]!.interpolated).toContain('namespace=~"demo",app=~"(echo|other)",grpc_service=~"meshwasm\\\\.demo\\\\.v1\\\\.Echo",grpc_method=~"Unary"');
    // a selection that matches nothing returns no data, and the helper says which panels
    await expect(checkDashboardQueries(prom, dashboard, { values: { namespace: "elsewhere" } })).rejects.toThrow(/Request rate \[A\]: no data/);
  });

  it("the variables offer the scraped namespace, workload, service and method", async () => {
    expect(await checkVariableQueries(prom, dashboard)).toEqual({
      namespace: ["demo"],
      workload: ["echo"],
      service: ["meshwasm.demo.v1.Echo"],
      method: ["Unary"],
    });
  });

  it("the server error ratio counts Unavailable and not PermissionDenied: exactly 1/5", async () => {
    const ratio = singleValue(await prom.query(interpolate(QUERIES.errorRatio, dashboard, { rateInterval: "10s" })));
    expect(ratio).toBeCloseTo(0.2, 9);
    const byCode = await prom.query(interpolate(QUERIES.ratesByCode, dashboard, { rateInterval: "10s" }));
    expect(byCode.resultType === "vector" && byCode.result.map((s) => s.metric.grpc_code).sort()).toEqual(["OK", "PermissionDenied", "Unavailable"]);
  });

  it("latency quantiles are in seconds; in-flight is the gauge", async () => {
    const p99 = singleValue(await prom.query(interpolate(QUERIES.latency(0.99), dashboard, { rateInterval: "10s" })));
    // samples 3, 40 and 700 ms: the top third lies in the (500, 1000] ms bucket
    expect(p99).toBeGreaterThan(0.5);
    expect(p99).toBeLessThanOrEqual(1);
    expect(singleValue(await prom.query(interpolate(QUERIES.inFlight, dashboard)))).toBe(2);
  });
});
