import { readFile } from "node:fs/promises";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { buildGrpcDashboard, GRPC_DASHBOARD_UID } from "./grpc-dashboard.ts";
import { configMapYaml, dashboardConfigMap } from "./configmap.ts";
import { renderDashboardFiles } from "./index.ts";
import { QUERIES, SERVER_ERROR_CODES } from "./grpc-queries.ts";

type AnyPanel = { type: string; id?: number; title?: string; panels?: unknown[]; datasource?: unknown; targets?: Array<{ expr: string; datasource?: unknown }> };

describe("the gRPC dashboard", () => {
  const d = buildGrpcDashboard();
  const panels = (d.panels ?? []) as AnyPanel[];

  it("has the datasource, namespace, workload, service and method variables, in that order", () => {
    const vars = d.templating.list ?? [];
    expect(vars.map((v) => [v.name, v.type])).toEqual([
      ["datasource", "datasource"],
      ["namespace", "query"],
      ["workload", "query"],
      ["service", "query"],
      ["method", "query"],
    ]);
    expect(vars[0]!.query).toBe("prometheus");
    for (const v of vars.slice(1)) expect({ multi: v.multi, includeAll: v.includeAll, allValue: v.allValue }).toEqual({ multi: true, includeAll: true, allValue: ".*" });
    // each variable narrows by the ones before it
    expect(vars[4]!.query).toBe('label_values({__name__=~"grpc_server_started_total|grpc_client_started_total",namespace=~"$namespace",app=~"$workload",grpc_service=~"$service"}, grpc_method)');
    // a workload is listed when it exports any meshwasm family, so a pure caller (balancer, client metrics) is too
    expect(vars[2]!.query).toBe(
      'label_values({__name__=~"grpc_server_started_total|grpc_client_started_total|grpc_balancer_picks_total|grpc_auth_decisions_total",namespace=~"$namespace"}, app)',
    );
  });

  it("has the rows in order, the last two the Auth and Balancer rows (their panels are tested with each row)", () => {
    const rows = panels.filter((p) => p.type === "row");
    expect(rows.map((r) => r.title)).toEqual(["Traffic", "Errors", "Latency", "Messages and in-flight", "Top methods", "Auth", "Balancer"]);
    expect(panels.slice(-2).map((p) => [p.type, p.title])).toEqual([
      ["row", "Auth"],
      ["row", "Balancer"],
    ]);
  });

  it("every panel and query reads the chosen datasource and filters by all four variables", () => {
    const queryPanels = panels.filter((p) => p.type !== "row");
    expect(queryPanels.length).toBe(9);
    for (const p of queryPanels) {
      expect(p.datasource).toEqual({ type: "prometheus", uid: "${datasource}" });
      for (const t of p.targets ?? []) {
        expect(t.datasource).toEqual({ type: "prometheus", uid: "${datasource}" });
        for (const v of ["$namespace", "$workload", "$service", "$method"]) expect(t.expr).toContain(v);
      }
    }
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(panels.length);
  });

  it("the error ratio counts OpenTelemetry's server errors by gRPC code, positively, not HTTP status", () => {
    expect(SERVER_ERROR_CODES).toEqual(["Unknown", "DeadlineExceeded", "Unimplemented", "Internal", "Unavailable", "DataLoss"]);
    expect(QUERIES.errorRatio).toContain('grpc_code=~"Unknown|DeadlineExceeded|Unimplemented|Internal|Unavailable|DataLoss"');
    expect(QUERIES.errorRatio).not.toMatch(/grpc_code!|response_code|5\.\./);
    for (const code of ["PermissionDenied", "Unauthenticated", "InvalidArgument", "NotFound", "OK"]) expect(QUERIES.errorRatio).not.toContain(code);
  });

  it("latency panel: p50, p90, p99 from the handling-time histogram buckets", () => {
    const latency = panels.find((p) => p.title === "Handling time p50 / p90 / p99")!;
    expect(latency.targets!.map((t) => t.expr.slice(0, 24))).toEqual(["histogram_quantile(0.5, ", "histogram_quantile(0.9, ", "histogram_quantile(0.99,"]);
    for (const t of latency.targets!) {
      expect(t.expr).toContain("grpc_server_handling_milliseconds_bucket{");
      expect(t.expr.endsWith(" / 1000")).toBe(true); // the panel's unit is seconds
    }
  });
});

describe("the dashboard ConfigMap", () => {
  it("round-trips through a YAML parser: grafana_dashboard label, the dashboard JSON as data", () => {
    const dashboard = buildGrpcDashboard();
    const cm = dashboardConfigMap(GRPC_DASHBOARD_UID, dashboard);
    const parsed = parse(configMapYaml(cm)) as typeof cm;
    expect(parsed).toEqual(cm);
    expect(parsed.metadata.labels.grafana_dashboard).toBe("1");
    expect(Object.keys(parsed.data)).toEqual(["meshwasm-grpc.json"]);
    expect(JSON.parse(parsed.data["meshwasm-grpc.json"]!)).toEqual(JSON.parse(JSON.stringify(dashboard)));
  });
});

describe("deploy/grafana", () => {
  it("holds exactly what meshwasm dashboard writes (regenerate with `meshwasm dashboard`)", async () => {
    for (const f of renderDashboardFiles()) {
      const committed = await readFile(new URL(`../../../deploy/grafana/${f.name}`, import.meta.url), "utf8");
      expect(committed, f.name).toBe(f.content);
    }
  });
});
