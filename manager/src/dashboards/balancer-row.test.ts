import { describe, expect, it } from "vitest";
import { balancerRow } from "./balancer-row.ts";
import { BALANCER_METRICS, BALANCER_QUERIES } from "./balancer-queries.ts";
import { buildGrpcDashboard } from "./grpc-dashboard.ts";

type AnyPanel = { type: string; id?: number; title?: string; collapsed?: boolean; panels?: AnyPanel[]; datasource?: unknown; gridPos?: { x: number; y: number; w: number; h: number }; targets?: Array<{ expr: string; datasource?: unknown; legendFormat?: string }> };

describe("the Balancer row", () => {
  const row = balancerRow().build() as unknown as AnyPanel;

  it("is a collapsed row holding the issue's panels: picks, cost, directed vs explored, penalties (and in-flight)", () => {
    expect([row.type, row.title, row.collapsed]).toEqual(["row", "Balancer", true]);
    expect(row.panels!.map((p) => p.title)).toEqual([
      "Picks per endpoint", "Cost per endpoint", "Directed vs explored", "Directed share", "Penalties recorded", "In flight per endpoint",
    ]);
    expect(row.panels!.map((p) => p.id)).toEqual([201, 202, 203, 204, 205, 206]);
  });

  it("every query reads the chosen datasource, filters by namespace and workload, and uses the filter's metric names and labels", () => {
    const names = Object.values(BALANCER_METRICS) as string[];
    for (const p of row.panels!) {
      expect(p.datasource).toEqual({ type: "prometheus", uid: "${datasource}" });
      for (const t of p.targets!) {
        expect(t.datasource).toEqual({ type: "prometheus", uid: "${datasource}" });
        expect(t.expr).toContain('namespace=~"$namespace",app=~"$workload"');
        // The filter's series have no gRPC service or method labels.
        expect(t.expr).not.toMatch(/\$service|\$method/);
        const used = [...t.expr.matchAll(/(grpc_balancer_[a-z_]+)\{/g)].map((m) => m[1]);
        expect(used.length).toBeGreaterThan(0);
        for (const n of used) expect(names).toContain(n);
        for (const label of t.expr.matchAll(/by \(([^)]*)\)/g)) {
          for (const l of label[1]!.split(",").map((x) => x.trim())) expect(["cluster", "endpoint", "decision"]).toContain(l);
        }
      }
    }
    expect(BALANCER_QUERIES.costByEndpoint.endsWith(" / 1000000")).toBe(true); // the gauge is in millionths
    expect(BALANCER_QUERIES.directedShare).toContain('decision="directed"');
  });

  it("sits last in the gRPC dashboard, its panels laid out below the row on a 24-column grid", () => {
    const panels = (buildGrpcDashboard().panels ?? []) as AnyPanel[];
    const last = panels[panels.length - 1]!;
    expect([last.type, last.title]).toEqual(["row", "Balancer"]);
    const y = last.gridPos!.y;
    for (const p of last.panels!) {
      expect(p.gridPos!.y).toBeGreaterThan(y);
      expect(p.gridPos!.x + p.gridPos!.w).toBeLessThanOrEqual(24);
    }
    const ids = [...panels.map((p) => p.id), ...panels.flatMap((p) => (p.panels ?? []).map((c) => c.id))];
    expect(new Set(ids).size).toBe(ids.length);
  });
});
