/**
 * End to end from gRPC traffic to the Grafana dashboard's panels: @grpc/grpc-js calls through the
 * sidecar running the real grpc-metrics filter (build/filters/grpc-metrics.wasm, built by
 * `npm test`), Istio's `stats_tags` for its labels, a real Prometheus scraping `/stats/prometheus`
 * every second with the `namespace` and `app` labels a cluster's pod scrape adds, and every panel
 * and variable query of the generated dashboard run against it (test/support/dashboard-queries.ts).
 * Traffic per round: 3 OK unary calls, 1 UNAVAILABLE (a server error), 1 PERMISSION_DENIED (not
 * one) and a server-streaming call of 3 messages.
 */
import { readFile } from "node:fs/promises";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { echoClient, unary, type EchoClient } from "../support/grpc-echo.ts";
import { startHarness, type Harness } from "../support/sidecar-harness.ts";
import { wasmFilter } from "../support/envoy-config.ts";
import { prometheusGate, singleValue, startPrometheus, type TestPrometheus } from "../support/prometheus.ts";
import { checkDashboardQueries, checkVariableQueries, interpolate, panelQueries } from "../support/dashboard-queries.ts";
import { buildGrpcDashboard } from "../../manager/src/dashboards/grpc-dashboard.ts";
import { QUERIES } from "../../manager/src/dashboards/grpc-queries.ts";

const gate = prometheusGate();
const ROUNDS = 20;
const PER_ROUND = { OK: 4, Unavailable: 1, PermissionDenied: 1 };
const TAGS = ["grpc_type", "grpc_service", "grpc_method", "grpc_code"];

async function serverStream(client: EchoClient): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const call = client.ServerStream({ message: "s", count: 3 });
    call.on("data", () => {});
    call.on("error", reject);
    call.on("end", () => resolve());
  });
}

async function round(client: EchoClient): Promise<void> {
  for (let i = 0; i < 3; i++) await unary(client, { message: "ok" });
  const codes = [grpc.status.UNAVAILABLE, grpc.status.PERMISSION_DENIED];
  for (const code of codes) {
    const err = (await unary(client, { message: "fail", fail_code: code, fail_message: "no" }).catch((e) => e)) as grpc.ServiceError;
    expect(err.code).toBe(code);
  }
  await serverStream(client);
}

describe.skipIf(gate.skip)(`the gRPC dashboard on the grpc-metrics filter's data${gate.skip ? ` (skipped: ${gate.reason})` : ""}`, () => {
  let h: Harness;
  let prom: TestPrometheus;
  const full = buildGrpcDashboard();
  // The gRPC rows: the collapsed Auth and Balancer rows read other filters' metrics (their own tests:
  // test/auth/dashboard-queries.test.ts and the balancer's).
  const dashboard = { ...full, panels: (full.panels ?? []).filter((p) => !(p.type === "row" && ["Auth", "Balancer"].includes((p as { title?: string }).title ?? ""))) };
  const total = ROUNDS * (PER_ROUND.OK + PER_ROUND.Unavailable + PER_ROUND.PermissionDenied);

  beforeAll(async () => {
    // `npm test` builds the filters first; a missing build is a failure, not a skip.
    const wasm = await readFile("build/filters/grpc-metrics.wasm");
    h = await startHarness({
      files: { "grpc-metrics.wasm": wasm },
      config: () => ({ admin: true, httpFilters: [wasmFilter({ name: "grpc-metrics", filename: "grpc-metrics.wasm", configuration: "{}" })] }),
      edit: (b) => {
        b.stats_config = { use_all_default_tags: false, stats_tags: TAGS.map((t) => ({ tag_name: t, regex: `(${t}=\\.=(.*?);\\.;)` })) };
      },
    });
    prom = await startPrometheus({
      targets: [{ job: "sidecar", address: `127.0.0.1:${h.sidecar.adminPort}`, metricsPath: "/stats/prometheus", labels: { namespace: "demo", app: "echo" } }],
    });
    await prom.waitForQuery('up{job="sidecar"}', (r) => singleValue(r) === 1);
    const client = echoClient(h.port);
    try {
      for (let i = 0; i < ROUNDS; i++) {
        await round(client);
        await new Promise((r) => setTimeout(r, 150));
      }
    } finally {
      client.close();
    }
    await prom.waitForQuery("sum(grpc_server_handled_total)", (r) => singleValue(r) === total);
  }, 120_000);

  afterAll(async () => {
    await prom?.stop();
    await h?.stop();
  });

  it("the filter's counters reached Prometheus with their labels and exact values", async () => {
    const byCode = await prom.query('sum by (grpc_code) (grpc_server_handled_total{namespace="demo",app="echo",grpc_service="meshtest.Echo"})');
    const values = byCode.resultType === "vector" ? Object.fromEntries(byCode.result.map((s) => [s.metric.grpc_code, Number(s.value[1])])) : {};
    expect(values).toEqual({ OK: ROUNDS * PER_ROUND.OK, Unavailable: ROUNDS, PermissionDenied: ROUNDS });
    expect(singleValue(await prom.query("sum(grpc_server_in_flight)"))).toBe(0);
  });

  it("every panel query parses and returns data, with All and with one service and method", async () => {
    const all = await checkDashboardQueries(prom, dashboard, { rateInterval: "10s", range: "2m" });
    expect(all.length).toBe(panelQueries(dashboard).length);
    await checkDashboardQueries(prom, dashboard, {
      rateInterval: "10s",
      range: "2m",
      values: { namespace: "demo", workload: "echo", service: "meshtest.Echo", method: ["Unary", "ServerStream"] },
    });
  });

  it("the variables offer what was scraped", async () => {
    const offered = await checkVariableQueries(prom, dashboard);
    expect(offered).toMatchObject({ namespace: ["demo"], workload: ["echo"], service: ["meshtest.Echo"] });
    expect(offered.method).toEqual(["ServerStream", "Unary"]);
  });

  it("the server error ratio counts UNAVAILABLE and not PERMISSION_DENIED", async () => {
    // over the whole run the counters give exactly 1/6; the panel's rate window sees about that
    const exact = await prom.query(
      interpolate(QUERIES.errorRatio.replace(/rate\((\w+)(\{[^}]*\})\[\$__rate_interval\]\)/g, "$1$2"), dashboard),
    );
    expect(singleValue(exact)).toBeCloseTo(1 / 6, 12);
    const windowed = singleValue(await prom.query(interpolate(QUERIES.errorRatio, dashboard, { rateInterval: "10s" })))!;
    expect(windowed).toBeGreaterThan(0.1);
    expect(windowed).toBeLessThan(0.25);
  });

  it("latency quantiles come out in seconds, below a second on loopback", async () => {
    const p99 = singleValue(await prom.query(interpolate(QUERIES.latency(0.99), dashboard, { rateInterval: "10s" })))!;
    expect(p99).toBeGreaterThan(0);
    expect(p99).toBeLessThan(1);
  });
});
