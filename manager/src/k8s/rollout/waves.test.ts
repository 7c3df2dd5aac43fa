import { describe, expect, it } from "vitest";
import type { WorkloadInfo } from "../cluster/client.ts";
import { planWaves } from "./waves.ts";

const w = (name: string, labels: Record<string, string>, extra: Partial<WorkloadInfo> = {}): WorkloadInfo => ({
  kind: "Deployment",
  name,
  templateLabels: labels,
  matchLabels: labels,
  hasExpressions: false,
  ...extra,
});
const spec = { selector: { matchLabels: { tier: "api" } }, url: "oci://r/x@sha256:1" };
const fleet = ["a", "b", "c", "d", "e", "f", "g", "h"].map((n) => w(`svc-${n}`, { app: `svc-${n}`, tier: "api" }));

describe("planWaves", () => {
  it("a named canary, then cumulative shares in name order, the last wave everything else", () => {
    const waves = planWaves("grpc-metrics", spec, "ns", [...fleet, w("other", { app: "other" })], [
      { name: "canary", workloads: ["svc-e"] },
      { name: "quarter", percent: 25 },
      { name: "all", percent: 100 },
    ]);
    expect(waves.map((x) => [x.name, x.objects.map((o) => o.workload)])).toEqual([
      ["canary", ["svc-e"]],
      ["quarter", ["svc-a"]],
      ["all", ["svc-b", "svc-c", "svc-d", "svc-f", "svc-g", "svc-h"]],
    ]);
    expect(waves[0]!.objects[0]).toEqual({ name: "grpc-metrics-svc-e", workload: "svc-e", selector: { app: "svc-e", tier: "api" } });
  });

  it("rounds shares up and drops waves left empty", () => {
    const two = fleet.slice(0, 2);
    expect(planWaves("p", spec, "ns", two, [{ name: "canary", workloads: ["svc-a"] }, { name: "quarter", percent: 25 }, { name: "all", percent: 100 }]).map((x) => x.name)).toEqual(["canary", "all"]);
    expect(planWaves("p", spec, "ns", fleet.slice(0, 5), [{ name: "half", percent: 50 }, { name: "all", percent: 100 }]).map((x) => x.objects.length)).toEqual([3, 2]);
  });

  it.each([
    ["no workload matches", { selector: { matchLabels: { tier: "db" } } }, fleet, /selector tier=db matches no Deployment, StatefulSet or DaemonSet in namespace ns$/],
    ["targetRefs", { targetRefs: [{ kind: "Gateway", name: "gw" }] }, fleet, /rollout waves need a workload selector/],
    ["matchExpressions", spec, [w("svc-a", { tier: "api", app: "a" }, { hasExpressions: true })], /Deployment svc-a selects its pods with matchExpressions/],
    ["a selector that also selects another workload", spec, [w("svc-a", { tier: "api", app: "a", track: "stable" }, { matchLabels: { app: "a" } }), w("svc-a-canary", { tier: "api", app: "a", track: "canary" })], /Deployment svc-a's selector app=a also selects the pods of Deployment svc-a-canary/],
  ])("refuses %s", (_what, s, workloads, message) => {
    expect(() => planWaves("p", s, "ns", workloads, [{ name: "all", percent: 100 }])).toThrow(message);
  });

  it("refuses a wave naming a workload that is not targeted", () => {
    expect(() => planWaves("p", spec, "ns", fleet, [{ name: "canary", workloads: ["svc-z"] }, { name: "all", percent: 100 }])).toThrow(/rollout wave names workload svc-z, which is not among the targeted workloads/);
  });
});
