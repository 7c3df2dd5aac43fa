/**
 * The dashboard's Auth row on real data: @grpc/grpc-js calls through the local sidecar running the
 * grpc-auth filter (compiled from source, release build) with Istio-style `stats_tags` for its
 * labels, a real Prometheus scraping the sidecar's `/stats/prometheus` every second with the
 * `namespace` and `app` labels a cluster's pod scrape adds, and every query of the row run as
 * Grafana would send it (test/support/dashboard-queries.ts): each returns exactly the series the
 * traffic made, and — with the rate windows replaced by the counters themselves — exactly the
 * counts.
 *
 * Traffic per round, against a policy with API keys `ci` and `reporting`:
 *   4 Unary with the ci key          -> allowed by echo-keys
 *   1 Unary with the reporting key   -> allowed by echo-keys, shadow-denied (7) by the dry-run
 *                                       DENY rule unary-under-review
 *   2 Unary without a key            -> denied 16 by _default (credentials required)
 *   1 Unary with an unknown key      -> denied 16 by _authn
 *   1 ServerStream, reporting key    -> denied 7 by reporting-no-stream
 */
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compilePolicy, hashApiKey } from "../../manager/src/policy/index.ts";
import { buildGrpcDashboard } from "../../manager/src/dashboards/grpc-dashboard.ts";
import { AUTH_QUERIES } from "../../manager/src/dashboards/auth-queries.ts";
import { AUTH_PANEL_TITLES, AUTH_ROW_TITLE } from "../../manager/src/dashboards/auth-row.ts";
import { authWasm, policyOf } from "../../filters/grpc-auth/test/harness.ts";
import { echoClient, unary, type EchoClient } from "../support/grpc-echo.ts";
import { startHarness, type Harness } from "../support/sidecar-harness.ts";
import { wasmFilter } from "../support/envoy-config.ts";
import { prometheusGate, singleValue, startPrometheus, type QueryResult, type TestPrometheus } from "../support/prometheus.ts";
import { checkDashboardQueries, interpolate, panelQueries, type DashboardLike } from "../support/dashboard-queries.ts";

const gate = prometheusGate();
const ROUNDS = 10;
const TAGS = ["auth_rule", "auth_decision", "grpc_code", "grpc_service", "grpc_method"];
const KEYS = { ci: "dash-ci-key-3a8f01", reporting: "dash-reporting-key-77c2e9" };

const POLICY = `apiVersion: meshwasm.io/v1alpha1
kind: GrpcAuthPolicy
metadata: { name: dashboard-test }
spec:
  credentials:
    apiKeys:
      keys:
        - { name: ci, sha256: ${hashApiKey(KEYS.ci)} }
        - { name: reporting, sha256: ${hashApiKey(KEYS.reporting)} }
  rules:
    - name: unary-under-review
      action: DENY
      dryRun: true
      methods: ["/meshtest.Echo/Unary"]
      from: { apiKeys: [reporting] }
    - name: reporting-no-stream
      action: DENY
      methods: ["/meshtest.Echo/ServerStream"]
      from: { apiKeys: [reporting] }
    - name: echo-keys
      action: ALLOW
      methods: ["/meshtest.Echo/*"]
      from: { apiKeys: ["*"] }
`;

function keyed(key?: string): grpc.Metadata {
  const md = new grpc.Metadata();
  if (key !== undefined) md.set("x-api-key", key);
  return md;
}

async function expectCode(p: Promise<unknown>, code: number): Promise<void> {
  const err = (await p.then(() => ({ code: 0 }), (e: grpc.ServiceError) => e)) as { code: number };
  expect(err.code).toBe(code);
}

function serverStream(client: EchoClient, md: grpc.Metadata): Promise<void> {
  return new Promise((resolve, reject) => {
    const call = client.ServerStream({ message: "s", count: 2 }, md);
    call.on("data", () => {});
    call.on("error", reject);
    call.on("end", () => resolve());
  });
}

async function round(client: EchoClient): Promise<void> {
  for (let i = 0; i < 4; i++) await expectCode(unary(client, { message: "ci" }, { metadata: keyed(KEYS.ci) }), grpc.status.OK);
  await expectCode(unary(client, { message: "reporting" }, { metadata: keyed(KEYS.reporting) }), grpc.status.OK);
  for (let i = 0; i < 2; i++) await expectCode(unary(client, { message: "anonymous" }), grpc.status.UNAUTHENTICATED);
  await expectCode(unary(client, { message: "bad key" }, { metadata: keyed("not-a-key") }), grpc.status.UNAUTHENTICATED);
  await expectCode(serverStream(client, keyed(KEYS.reporting)), grpc.status.PERMISSION_DENIED);
}

/** label set (the named labels, sorted "k=v" joined by ",") -> value, of a vector result. */
function byLabels(r: QueryResult, labels: string[]): Record<string, number> {
  if (r.resultType !== "vector") throw new Error(`expected a vector, got ${r.resultType}`);
  return Object.fromEntries(r.result.map((s) => [labels.map((l) => `${l}=${s.metric[l] ?? ""}`).join(","), Number(s.value[1])]));
}

/** The query with each `rate(m{…}[$__rate_interval])` / `increase(m{…}[$__range])` replaced by `m{…}`: exact totals. */
function totals(expr: string): string {
  return expr.replace(/(?:rate|increase)\((\w+)(\{[^}]*\})\[\$__(?:rate_interval|range)\]\)/g, "$1$2");
}

describe.skipIf(gate.skip)(`the dashboard's Auth row on the grpc-auth filter's data${gate.skip ? ` (skipped: ${gate.reason})` : ""}`, () => {
  let h: Harness;
  let prom: TestPrometheus;
  const dashboard = buildGrpcDashboard();
  const authRowOnly: DashboardLike = {
    templating: dashboard.templating,
    panels: (dashboard.panels ?? []).filter((p) => p.type === "row" && (p as { title?: string }).title === AUTH_ROW_TITLE),
  };
  const exact = async (expr: string, labels: string[], values: Record<string, string | string[]> = {}) =>
    byLabels(await prom.query(interpolate(totals(expr), dashboard, { values })), labels);

  beforeAll(async () => {
    const config = compilePolicy(policyOf(POLICY));
    h = await startHarness({
      files: { "grpc-auth.wasm": await authWasm() },
      config: () => ({ admin: true, httpFilters: [wasmFilter({ name: "grpc-auth", filename: "grpc-auth.wasm", configuration: config, failurePolicy: "FAIL_CLOSED" })] }),
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
    await prom.waitForQuery("sum(grpc_auth_decisions_total)", (r) => singleValue(r) === ROUNDS * 10);
  }, 180_000);

  afterAll(async () => {
    await prom?.stop();
    await h?.stop();
  });

  it("the row holds its six panels, and every query parses and returns data, with All and with one service and method", async () => {
    const row = authRowOnly.panels![0] as { collapsed?: boolean; panels?: Array<{ title: string }> };
    expect(row.collapsed).toBe(true);
    expect(row.panels!.map((p) => p.title)).toEqual([...AUTH_PANEL_TITLES]);
    const all = await checkDashboardQueries(prom, authRowOnly, { rateInterval: "2m", range: "5m" });
    expect(all.length).toBe(panelQueries(authRowOnly).length);
    expect(all.length).toBe(7);
    await checkDashboardQueries(prom, authRowOnly, {
      rateInterval: "2m",
      range: "5m",
      values: { namespace: "demo", workload: "echo", service: "meshtest.Echo", method: "Unary" },
    });
  });

  it("decisions by rule: allowed, denied and shadow-denied, each counted once per call", async () => {
    expect(await exact(AUTH_QUERIES.decisionsByRule, ["auth_rule", "auth_decision"])).toEqual({
      "auth_rule=echo-keys,auth_decision=allowed": 5 * ROUNDS,
      "auth_rule=_default,auth_decision=denied": 2 * ROUNDS,
      "auth_rule=_authn,auth_decision=denied": ROUNDS,
      "auth_rule=reporting-no-stream,auth_decision=denied": ROUNDS,
      "auth_rule=unary-under-review,auth_decision=shadow_denied": ROUNDS,
    });
    // The panel's own query over a window that holds the whole run: the same series.
    const windowed = byLabels(await prom.query(interpolate(AUTH_QUERIES.decisionsByRule, dashboard, { rateInterval: "5m" })), ["auth_rule", "auth_decision"]);
    expect(Object.keys(windowed).sort()).toEqual(Object.keys(await exact(AUTH_QUERIES.decisionsByRule, ["auth_rule", "auth_decision"])).sort());
    for (const v of Object.values(windowed)) expect(v).toBeGreaterThan(0);
  });

  it("denied share: denials over enforced decisions (shadow denials let calls through and do not count)", async () => {
    expect(singleValue(await prom.query(interpolate(totals(AUTH_QUERIES.deniedRatio), dashboard)))).toBeCloseTo(4 / 9, 12);
  });

  it("denials by code: Unauthenticated (16) from _default and _authn, PermissionDenied (7) from the DENY rule", async () => {
    expect(await exact(AUTH_QUERIES.denialsByCode, ["grpc_code", "auth_rule"])).toEqual({
      "grpc_code=Unauthenticated,auth_rule=_default": 2 * ROUNDS,
      "grpc_code=Unauthenticated,auth_rule=_authn": ROUNDS,
      "grpc_code=PermissionDenied,auth_rule=reporting-no-stream": ROUNDS,
    });
  });

  it("denials by method and code, narrowed by the method variable", async () => {
    const labels = ["grpc_service", "grpc_method", "grpc_code"];
    expect(await exact(AUTH_QUERIES.denialsByMethod, labels)).toEqual({
      "grpc_service=meshtest.Echo,grpc_method=Unary,grpc_code=Unauthenticated": 3 * ROUNDS,
      "grpc_service=meshtest.Echo,grpc_method=ServerStream,grpc_code=PermissionDenied": ROUNDS,
    });
    expect(await exact(AUTH_QUERIES.denialsByMethod, labels, { service: "meshtest.Echo", method: "ServerStream" })).toEqual({
      "grpc_service=meshtest.Echo,grpc_method=ServerStream,grpc_code=PermissionDenied": ROUNDS,
    });
    expect(await exact(AUTH_QUERIES.topDenied, labels)).toEqual(await exact(AUTH_QUERIES.denialsByMethod, labels));
  });

  it("shadow denials: the dry-run rule and the method it would have denied, and nothing else", async () => {
    expect(await exact(AUTH_QUERIES.shadowByRule, ["auth_rule", "grpc_code"])).toEqual({ "auth_rule=unary-under-review,grpc_code=PermissionDenied": ROUNDS });
    expect(await exact(AUTH_QUERIES.shadowByMethod, ["grpc_service", "grpc_method", "grpc_code"])).toEqual({
      "grpc_service=meshtest.Echo,grpc_method=Unary,grpc_code=PermissionDenied": ROUNDS,
    });
  });

  it("another namespace or workload selects nothing", async () => {
    expect(await exact(AUTH_QUERIES.decisionsByRule, ["auth_rule"], { namespace: "prod" })).toEqual({});
    expect(await exact(AUTH_QUERIES.denialsByMethod, ["grpc_method"], { workload: "other" })).toEqual({});
  });
});
