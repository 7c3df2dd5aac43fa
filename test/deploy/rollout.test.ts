/**
 * Rollouts in waves on a real kube-apiserver: one object per target workload, moved wave by wave
 * (a named canary, then shares of the rest), the journal in the plugin's history; and the API
 * server going away in the middle of a wave (a TCP proxy in front of it resets every
 * connection): the command fails with one line, the journal records exactly which waves were
 * applied and which one is `applying`, and the next deploy settles it: it resumes the same
 * revision, or reverts it before rolling out a different one.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubernetesObject } from "@kubernetes/client-node";
import { Cluster } from "../../manager/src/k8s/cluster/client.ts";
import { loadClusterTarget } from "../../manager/src/k8s/cluster/kubeconfig.ts";
import { runDeploy } from "../../manager/src/k8s/deploy/deploy.ts";
import { collectStatus, formatStatus } from "../../manager/src/k8s/deploy/status.ts";
import { decodeHistory } from "../../manager/src/k8s/history/model.ts";
import { deployGate, deploymentFile, kubeconfigVia, startDeployEnv, startSwitchProxy, type DeployEnv, type SwitchProxy } from "./support.ts";

const unavailable = deployGate();
if (unavailable) console.warn(`skipping the rollout tests: ${unavailable}`);
const WP = "extensions.istio.io/v1alpha1";
const WAVES = "rollout:\n  waves: [{ name: canary, workloads: [svc-c] }, { name: half, percent: 50 }, { name: all, percent: 100 }]";

/** A Cluster that takes the proxy down right after its n-th real (not dry-run) apply. */
class CuttingCluster extends Cluster {
  applies = 0;
  cutAfter = Number.POSITIVE_INFINITY;
  constructor(kubeconfig: string, private readonly proxy: SwitchProxy) {
    super(loadClusterTarget({ kubeconfig }));
  }
  override async apply<T extends KubernetesObject>(object: T, opts: { dryRun?: boolean; force?: boolean } = {}): Promise<T> {
    const result = await super.apply(object, opts);
    if (!opts.dryRun && ++this.applies === this.cutAfter) this.proxy.down();
    return result;
  }
}

describe.skipIf(Boolean(unavailable))("rollouts in waves on a real API server", () => {
  let env: DeployEnv;
  let proxy: SwitchProxy;
  let viaProxy: string;
  const digests: Record<string, string> = {};
  const log: string[] = [];

  beforeAll(async () => {
    env = await startDeployEnv();
    for (const v of ["1.0.0", "2.0.0", "3.0.0", "4.0.0"]) digests[v] = await env.push("meshwasm/guard", v);
    proxy = await startSwitchProxy(Number(new URL(env.api.ready.server).port));
    viaProxy = await env.write("kubeconfig-via-proxy", kubeconfigVia(env.api.kubeconfigPath, proxy.url));
    await env.namespace("shop");
    for (const n of ["svc-a", "svc-b", "svc-c", "svc-d"]) await env.workload("shop", n, { app: n, tier: "api" });
    await env.workload("shop", "billing", { app: "billing", tier: "batch" });
  }, 240_000);
  afterAll(async () => {
    await proxy?.stop();
    await env?.stop();
  });

  const file = (version: string) => env.write(`shop-${version}.yaml`, deploymentFile({ namespace: "shop", image: `${env.registry.host}/meshwasm/guard:${version}`, selector: { tier: "api" }, rollout: WAVES }));
  const shaOf = async (workload: string) => (await env.cluster().read(WP, "WasmPlugin", "shop", `guard-${workload}`))?.spec?.sha256;
  const shas = async () => Object.fromEntries(await Promise.all(["svc-a", "svc-b", "svc-c", "svc-d"].map(async (w) => [w, await shaOf(w)])));
  const history = async () => decodeHistory((await env.core.readNamespacedConfigMap({ name: "meshwasm-history-guard", namespace: "shop" })).data, "guard", "test");

  it("gives each targeted workload its own object and moves them wave by wave", async () => {
    const [outcome] = await runDeploy(env.cluster(), { file: await file("1.0.0"), log: (l) => log.push(l) });
    expect(outcome).toMatchObject({ action: "deployed", revision: 1 });
    const live = await env.cluster().list(WP, "WasmPlugin", "shop");
    expect(live.map((o) => [o.metadata?.name, (o.spec?.selector as { matchLabels: unknown }).matchLabels, o.metadata?.labels?.["meshwasm.io/workload"]]).sort()).toEqual([
      ["guard-svc-a", { app: "svc-a", tier: "api" }, "svc-a"],
      ["guard-svc-b", { app: "svc-b", tier: "api" }, "svc-b"],
      ["guard-svc-c", { app: "svc-c", tier: "api" }, "svc-c"],
      ["guard-svc-d", { app: "svc-d", tier: "api" }, "svc-d"],
    ]);
    expect(log.filter((l) => l.includes("applied:"))).toEqual([
      "guard: revision 1 wave 1/3 (canary) applied: svc-c",
      "guard: revision 1 wave 2/3 (half) applied: svc-a",
      "guard: revision 1 wave 3/3 (all) applied: svc-b, svc-d",
    ]);
    const h = await history();
    expect(h.state.lastRollout).toEqual({ revision: 1, outcome: "complete", waves: [{ name: "canary", state: "passed", workloads: ["svc-c"] }, { name: "half", state: "passed", workloads: ["svc-a"] }, { name: "all", state: "passed", workloads: ["svc-b", "svc-d"] }] });
  }, 60_000);

  it("the API server going away in the middle of a wave: one line, the journal says which wave is applying; the next deploy resumes it", async () => {
    const cluster = new CuttingCluster(viaProxy, proxy);
    cluster.cutAfter = 3; // canary (svc-c), half (svc-a), then svc-b of the last wave
    const error = await runDeploy(cluster, { file: await file("2.0.0"), log: () => {} }).then(() => undefined, (e: Error) => e);
    expect(error?.message).toMatch(/^the API server https:\/\/127\.0\.0\.1:\d+ \(context "admin"\) is unreachable while applying WasmPlugin shop\/guard-svc-d: ECONNRESET$/);
    expect(await shas()).toEqual({ "svc-a": digests["2.0.0"], "svc-b": digests["2.0.0"], "svc-c": digests["2.0.0"], "svc-d": digests["1.0.0"] });
    const h = await history();
    expect(h.state.current).toBe(1);
    expect(h.state.rollout).toMatchObject({ revision: 2, from: 1, waves: [{ name: "canary", state: "passed" }, { name: "half", state: "passed" }, { name: "all", state: "applying" }] });
    expect(formatStatus(await collectStatus(env.cluster(), "shop"))).toContain("rollout:    revision 2 INTERRUPTED: canary passed, half passed, all applying (the next deploy, rollback or undeploy settles it)");

    proxy.up();
    const [resumed] = await runDeploy(new Cluster(loadClusterTarget({ kubeconfig: viaProxy })), { file: await file("2.0.0"), log: () => {} });
    expect(resumed).toMatchObject({ action: "resumed", revision: 2 });
    expect(new Set(Object.values(await shas()))).toEqual(new Set([digests["2.0.0"]]));
    const after = await history();
    expect(after.state).toMatchObject({ current: 2, next: 3 });
    expect(after.state.rollout).toBeUndefined();
    expect(after.revisions.map((r) => [r.revision, r.outcome])).toEqual([[1, "complete"], [2, "complete"]]);
  }, 90_000);

  it("an interrupted rollout superseded by a different revision is reverted first, then the new one rolls out from the last complete one", async () => {
    const cluster = new CuttingCluster(viaProxy, proxy);
    cluster.cutAfter = 2; // after the last object of wave "half": its "applied" record cannot be written any more
    await expect(runDeploy(cluster, { file: await file("3.0.0"), log: () => {} })).rejects.toThrow(/is unreachable while/);
    expect((await history()).state.rollout).toMatchObject({ revision: 3, from: 2, waves: [{ state: "passed" }, { state: "applying" }, { state: "pending" }] });
    proxy.up();
    const lines: string[] = [];
    const [outcome] = await runDeploy(env.cluster(), { file: await file("4.0.0"), log: (l) => lines.push(l) });
    expect(lines[0]).toBe("guard: reverting the interrupted rollout of revision 3 to revision 2");
    expect(outcome).toMatchObject({ action: "deployed", revision: 4 });
    expect(new Set(Object.values(await shas()))).toEqual(new Set([digests["4.0.0"]]));
    const h = await history();
    expect(h.revisions.map((r) => [r.revision, r.outcome])).toEqual([[1, "complete"], [2, "complete"], [3, "interrupted"], [4, "complete"]]);
    expect(h.state.current).toBe(4);
  }, 90_000);

  it("refuses waves whose workloads cannot be told apart, before writing anything", async () => {
    await env.workload("shop", "svc-a-canary", { app: "svc-a", tier: "api", track: "canary" });
    const before = await history();
    const error = await runDeploy(env.cluster(), { file: await file("1.0.0"), log: () => {} }).then(() => undefined, (e: Error) => e);
    expect(error?.message).toBe("plugin guard: Deployment svc-a's selector app=svc-a,tier=api also selects the pods of Deployment svc-a-canary, so a wave could not reach one without the other; give them distinct labels or roll out without waves");
    expect((await history()).revisions.length).toBe(before.revisions.length);
    await env.apps.deleteNamespacedDeployment({ name: "svc-a-canary", namespace: "shop" });
  }, 60_000);
});
