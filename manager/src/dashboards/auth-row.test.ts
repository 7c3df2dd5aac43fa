import { describe, expect, it } from "vitest";
import { AUTH_PANEL_TITLES, authRow } from "./auth-row.ts";
import { AUTH_METRICS, AUTH_QUERIES } from "./auth-queries.ts";
import { buildGrpcDashboard } from "./grpc-dashboard.ts";

type AnyPanel = { type: string; id?: number; title?: string; collapsed?: boolean; panels?: AnyPanel[]; datasource?: unknown; gridPos?: { x: number; y: number; w: number; h: number }; targets?: Array<{ expr: string; datasource?: unknown }> };

/** Labels the grpc-auth filter's two counters carry (filters/grpc-auth/README.md, "Stats"). */
const LABELS: Record<string, string[]> = {
  grpc_auth_decisions_total: ["auth_rule", "auth_decision", "grpc_code"],
  grpc_auth_denials_total: ["grpc_service", "grpc_method", "grpc_code", "auth_decision"],
};

describe("the Auth row", () => {
  const row = authRow().build() as unknown as AnyPanel;

  it("is a collapsed row holding decisions by rule, the denied share, denials by code and by method, shadow denials and the top denied methods", () => {
    expect([row.type, row.title, row.collapsed]).toEqual(["row", "Auth", true]);
    expect(row.panels!.map((p) => p.title)).toEqual([...AUTH_PANEL_TITLES]);
    expect(row.panels!.map((p) => p.id)).toEqual([101, 102, 103, 104, 105, 106]);
  });

  it("every query reads the chosen datasource, filters by namespace and workload, and uses only the filter's metrics and labels", () => {
    for (const p of row.panels!) {
      expect(p.datasource).toEqual({ type: "prometheus", uid: "${datasource}" });
      for (const t of p.targets!) {
        expect(t.datasource).toEqual({ type: "prometheus", uid: "${datasource}" });
        const selectors = [...t.expr.matchAll(/(grpc_auth_[a-z_]+)\{([^}]*)\}/g)];
        expect(selectors.length).toBeGreaterThan(0);
        for (const [, metric, body] of selectors) {
          expect(Object.values(AUTH_METRICS)).toContain(metric);
          expect(body).toMatch(/^namespace=~"\$namespace",app=~"\$workload"/);
          // every matcher is positive, on a label the metric has
          for (const m of body!.split(",").slice(2)) {
            const [, label, op] = /^(\w+)(=~|=|!=|!~)/.exec(m)!;
            expect(LABELS[metric!]).toContain(label);
            expect(op === "=" || op === "=~").toBe(true);
          }
          // the method variables only where the series have method labels
          if (metric === AUTH_METRICS.decisions) expect(body).not.toMatch(/\$service|\$method/);
          else expect(body).toContain('grpc_service=~"$service",grpc_method=~"$method"');
        }
        for (const by of t.expr.matchAll(/by \(([^)]*)\)/g)) {
          const metric = selectors[0]![1]!;
          for (const l of by[1]!.split(",").map((x) => x.trim())) expect(LABELS[metric]).toContain(l);
        }
      }
    }
  });

  it("counts shadow denials apart from denials, and leaves AUDIT matches out of the decisions", () => {
    expect(AUTH_QUERIES.decisionsByRule).toContain('auth_decision=~"allowed|denied|shadow_denied"');
    expect(AUTH_QUERIES.deniedRatio).toMatch(/auth_decision="denied".* \/ .*auth_decision=~"allowed\|denied"/);
    expect(AUTH_QUERIES.shadowByRule).toContain('auth_decision="shadow_denied"');
    expect(AUTH_QUERIES.denialsByMethod).toContain('auth_decision="denied"');
    for (const q of Object.values(AUTH_QUERIES)) expect(q).not.toContain("audited");
  });

  it("sits after the Top methods row in the gRPC dashboard, its panels below it on a 24-column grid, ids unique", () => {
    const panels = (buildGrpcDashboard().panels ?? []) as AnyPanel[];
    const at = panels.findIndex((p) => p.type === "row" && p.title === "Auth");
    expect(panels.slice(0, at).filter((p) => p.type === "row").at(-1)?.title).toBe("Top methods");
    const auth = panels[at]!;
    for (const p of auth.panels!) {
      expect(p.gridPos!.y).toBeGreaterThan(auth.gridPos!.y);
      expect(p.gridPos!.x + p.gridPos!.w).toBeLessThanOrEqual(24);
    }
    const ids = [...panels.map((p) => p.id), ...panels.flatMap((p) => (p.panels ?? []).map((c) => c.id))];
    expect(new Set(ids).size).toBe(ids.length);
  });
});
