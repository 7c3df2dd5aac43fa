/**
 * deploy / diff / status / rollback / undeploy against a real kube-apiserver (the Istio CRDs with
 * their CEL rules, server-side apply, RBAC, client-certificate authentication) and a real
 * registry with htpasswd auth: images are pulled with the namespace's imagePullSecret exactly as
 * istio-agent would pull them. Library calls for the flows, the `meshwasm` bin for exit codes and
 * one-line errors.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubernetesObjectApi, PatchStrategy } from "@kubernetes/client-node";
import { readFile } from "node:fs/promises";
import { runDeploy } from "../../manager/src/k8s/deploy/deploy.ts";
import { runRollback } from "../../manager/src/k8s/deploy/rollback.ts";
import { runUndeploy } from "../../manager/src/k8s/deploy/undeploy.ts";
import { collectStatus, formatStatus } from "../../manager/src/k8s/deploy/status.ts";
import { decodeHistory } from "../../manager/src/k8s/history/model.ts";
import { startBin } from "../cli/bin-process.ts";
import { deployGate, deploymentFile, startDeployEnv, type DeployEnv } from "./support.ts";

const unavailable = deployGate();
if (unavailable) console.warn(`skipping the deploy tests: ${unavailable}`);

const WP = "extensions.istio.io/v1alpha1";
let shared: DeployEnv;
afterAll(async () => shared?.stop());

describe.skipIf(Boolean(unavailable))("meshwasm deploy on a real API server", () => {
  let env: DeployEnv;
  let v1: string;
  let v2: string;
  let nsCounter = 0;
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);

  beforeAll(async () => {
    env = shared = await startDeployEnv();
    v1 = await env.push("meshwasm/guard", "1.0.0");
    v2 = await env.push("meshwasm/guard", "2.0.0");
  }, 240_000);

  async function freshNamespace(opts?: Parameters<DeployEnv["namespace"]>[1]): Promise<string> {
    const ns = `deploy-${++nsCounter}`;
    await env.namespace(ns, opts);
    await env.workload(ns, "checkout", { app: "checkout" }, 2);
    return ns;
  }
  const image = (version: string) => `${env.registry.host}/meshwasm/guard:${version}`;
  const read = (ns: string, name: string) => env.cluster().read(WP, "WasmPlugin", ns, name);
  async function history(ns: string, plugin = "guard") {
    const cm = await env.core.readNamespacedConfigMap({ name: `meshwasm-history-${plugin}`, namespace: ns });
    return { ...decodeHistory(cm.data, plugin, "test"), resourceVersion: cm.metadata?.resourceVersion };
  }
  async function deployFile(ns: string, text: string, opts: Partial<Parameters<typeof runDeploy>[1]> = {}) {
    const file = await env.write(`${ns}-${Math.random().toString(36).slice(2)}.yaml`, text);
    return runDeploy(env.cluster(), { file, log, ...opts });
  }
  async function failure(p: Promise<unknown>): Promise<string> {
    const e = await p.then(() => undefined, (err: Error) => err);
    if (!e) throw new Error("expected a failure");
    expect(e.message.split("\n")).toHaveLength(1);
    return e.message;
  }

  it("applies a WasmPlugin pinned by digest with field manager meshwasm and records revision 1; re-applying is a no-op", async () => {
    const ns = await freshNamespace();
    const text = deploymentFile({ namespace: ns, image: image("1.0.0") });
    const [outcome] = await deployFile(ns, text);
    expect(outcome).toMatchObject({ plugin: "guard", action: "deployed", revision: 1 });
    const live = await read(ns, "guard");
    expect(live?.spec).toEqual({
      selector: { matchLabels: { app: "checkout" } },
      url: `oci://${env.registry.host}/meshwasm/guard@sha256:${v1}`,
      sha256: v1,
      imagePullSecret: "registry-creds",
      phase: "UNSPECIFIED_PHASE",
      failStrategy: "FAIL_OPEN",
      pluginConfig: { request_header_name: "x-guard", request_header_value: "v1" },
    });
    expect(live?.metadata?.annotations).toMatchObject({ "meshwasm.io/revision": "1", "meshwasm.io/version": "1.0.0" });
    expect(live?.metadata?.managedFields?.map((f) => [f.manager, f.operation])).toEqual([["meshwasm", "Apply"]]);
    const h1 = await history(ns);
    expect(h1.state).toMatchObject({ current: 1, next: 2 });
    expect(h1.revisions[0]).toMatchObject({ revision: 1, digest: v1, version: "1.0.0", who: "meshwasm-admin", outcome: "complete", objects: [{ name: "guard" }] });

    const [again] = await deployFile(ns, text);
    expect(again).toMatchObject({ action: "unchanged", revision: 1 });
    expect((await read(ns, "guard"))?.metadata?.resourceVersion).toBe(live?.metadata?.resourceVersion);
    expect((await history(ns)).resourceVersion).toBe(h1.resourceVersion);
  }, 60_000);

  it("a field another manager owns is a conflict naming it, and nothing is written; --force-conflicts takes it over", async () => {
    const ns = await freshNamespace();
    await deployFile(ns, deploymentFile({ namespace: ns, image: image("1.0.0") }));
    const objects = KubernetesObjectApi.makeApiClient(env.api.kubeConfig);
    await objects.patch({ apiVersion: WP, kind: "WasmPlugin", metadata: { name: "guard", namespace: ns }, spec: { url: `oci://${env.registry.host}/meshwasm/guard@sha256:${v1}`, priority: 5 } }, undefined, undefined, "gitops-controller", true, PatchStrategy.ServerSideApply);
    const text = deploymentFile({ namespace: ns, image: image("2.0.0") }).replace("    failStrategy: FAIL_OPEN", "    failStrategy: FAIL_OPEN\n    priority: 10");
    const message = await failure(deployFile(ns, text));
    expect(message).toMatch(/^conflict while dry-run applying WasmPlugin deploy-\d+\/guard: field manager "gitops-controller" owns \.spec\.priority, \.spec\.url; re-run with --force-conflicts to take them over$/);
    expect((await read(ns, "guard"))?.spec?.sha256).toBe(v1);
    expect((await history(ns)).state).toMatchObject({ current: 1, next: 2 });

    const [forced] = await deployFile(ns, text, { force: true });
    expect(forced).toMatchObject({ action: "deployed", revision: 2 });
    const live = await read(ns, "guard");
    expect(live?.spec).toMatchObject({ sha256: v2, priority: 10 });
    expect(live?.metadata?.managedFields?.find((f) => f.manager === "meshwasm")?.fieldsV1).toHaveProperty(["f:spec", "f:priority"]);
  }, 60_000);

  it("rolls back to each earlier revision, restoring digest and configuration exactly; rollback is itself a revision", async () => {
    const ns = await freshNamespace();
    const texts = [
      deploymentFile({ namespace: ns, image: image("1.0.0") }),
      deploymentFile({ namespace: ns, image: image("2.0.0") }),
      deploymentFile({ namespace: ns, image: image("2.0.0"), pluginConfig: { request_header_name: "x-guard", request_header_value: "v3" } }),
    ];
    for (const t of texts) await deployFile(ns, t);
    const revisions = (await history(ns)).revisions;
    expect(revisions.map((r) => [r.revision, r.digest, (r.spec.pluginConfig as { request_header_value: string }).request_header_value])).toEqual([[1, v1, "v1"], [2, v2, "v1"], [3, v2, "v3"]]);
    let expected = 4;
    for (const to of [1, 2, 3, 1]) {
      const result = await runRollback(env.cluster(), { namespace: ns, plugin: "guard", to, log });
      expect(result).toEqual({ revision: expected, restored: to });
      const live = await read(ns, "guard");
      expect(live?.spec).toEqual(revisions[to - 1]!.spec);
      expect(live?.metadata?.annotations?.["meshwasm.io/revision"]).toBe(String(expected));
      const h = await history(ns);
      expect(h.state.current).toBe(expected);
      expect(h.revisions.find((r) => r.revision === expected)).toMatchObject({ rollbackOf: to, digest: revisions[to - 1]!.digest, outcome: "complete" });
      expected++;
    }
    // Without --to: the previous complete revision (3, before the rollback to 1 that is revision 7).
    expect(await runRollback(env.cluster(), { namespace: ns, plugin: "guard", log })).toEqual({ revision: 8, restored: 6 });
    expect(await failure(runRollback(env.cluster(), { namespace: ns, plugin: "guard", to: 42, log }))).toBe("plugin guard has no revision 42 (kept: 1, 2, 3, 4, 5, 6, 7, 8)");
  }, 90_000);

  it("the CRD's CEL rules: selector with targetRefs is refused offline with the server's message; a bad url scheme by the server", async () => {
    const ns = await freshNamespace();
    const both = deploymentFile({ namespace: ns, image: image("1.0.0") }).replace("    failStrategy:", "    targetRefs: [{ kind: Service, name: checkout }]\n    selector: { app: checkout }\n    failStrategy:");
    const offline = await failure(deployFile(ns, both));
    expect(offline).toMatch(/plugins\[0\] \(guard\): WasmPlugin deploy-\d+\/guard: spec: Invalid value: "object": only one of targetRefs or selector can be set$/);
    const server = await failure(env.cluster().apply({ apiVersion: WP, kind: "WasmPlugin", metadata: { name: "guard", namespace: ns }, spec: { url: "oci://r/x:1", selector: { matchLabels: { app: "checkout" } }, targetRefs: [{ kind: "Service", name: "checkout" }] } }));
    expect(server).toContain("only one of targetRefs or selector can be set");
    const scheme = await failure(env.cluster().apply({ apiVersion: WP, kind: "WasmPlugin", metadata: { name: "guard", namespace: ns }, spec: { url: "ftp://r/x.wasm" } }));
    expect(scheme).toMatch(/^the API server rejected the object while applying WasmPlugin deploy-\d+\/guard: .*spec\.url: Invalid value: "ftp:\/\/r\/x\.wasm": url must have schema one of \[http, https, file, oci\]/);
    expect(await failure(deployFile(ns, deploymentFile({ namespace: ns, image: "ftp://r/x.wasm" })))).toMatch(/plugins\[0\]\.image: malformed image reference "ftp:\/\/r\/x\.wasm": unsupported scheme/);
    expect((await env.cluster().list(WP, "WasmPlugin", ns)).length).toBe(0);
  }, 60_000);

  it("a missing namespace, pull secret or selected workload, or credentials the registry refuses: one line, nothing applied", async () => {
    expect(await failure(deployFile("x", deploymentFile({ namespace: "no-such-namespace", image: image("1.0.0") })))).toMatch(/^namespace "no-such-namespace" does not exist \(context "admin", https:\/\/127\.0\.0\.1:\d+\); nothing was applied$/);
    const noSecret = await freshNamespace({ pullSecret: false });
    expect(await failure(deployFile(noSecret, deploymentFile({ namespace: noSecret, image: image("1.0.0") })))).toBe('plugins[0] (guard): imagePullSecret "registry-creds" does not exist in namespace deploy-' + noSecret.slice(7) + "; nothing was applied");
    const badPassword = await freshNamespace({ password: "wrong" });
    expect(await failure(deployFile(badPassword, deploymentFile({ namespace: badPassword, image: image("1.0.0") })))).toMatch(/:9:12: plugins\[0\]\.image: istio-agent would not load it \(pulled with imagePullSecret registry-creds\): could not fetch Wasm OCI image: could not fetch manifest: .*401.*; nothing was applied$/);
    const ns = await freshNamespace();
    expect(await failure(deployFile(ns, deploymentFile({ namespace: ns, image: image("1.0.0"), selector: { app: "nothing" } })))).toMatch(/^plugins\[0\] \(guard\): selector app=nothing selects no pod and no Deployment, StatefulSet or DaemonSet in namespace deploy-\d+; nothing was applied$/);
    expect(await failure(deployFile(ns, deploymentFile({ namespace: ns, image: image("9.9.9") })))).toMatch(/plugins\[0\]\.image: istio-agent would not load it .*manifest unknown/i);
    for (const n of [noSecret, badPassword, ns]) expect((await env.cluster().list(WP, "WasmPlugin", n)).length).toBe(0);
  }, 60_000);

  it("--dry-run and diff show the change and change nothing", async () => {
    const ns = await freshNamespace();
    await deployFile(ns, deploymentFile({ namespace: ns, image: image("1.0.0") }));
    const before = await read(ns, "guard");
    const [planned] = await deployFile(ns, deploymentFile({ namespace: ns, image: image("2.0.0") }), { dryRun: true });
    expect(planned!.action).toBe("planned");
    expect(planned!.diffs).toHaveLength(1);
    expect(planned!.diffs[0]).toContain(`-    meshwasm.io/revision: "1"\n`);
    expect(planned!.diffs[0]).toContain(`+    meshwasm.io/revision: "2"\n`);
    expect(planned!.diffs[0]).toContain(`\n-  sha256: ${v1}\n`);
    expect(planned!.diffs[0]).toContain(`\n+  sha256: ${v2}\n`);
    expect((await read(ns, "guard"))?.metadata?.resourceVersion).toBe(before?.metadata?.resourceVersion);
    expect((await history(ns)).state.next).toBe(2);
    const [same] = await deployFile(ns, deploymentFile({ namespace: ns, image: image("1.0.0") }), { dryRun: true });
    expect(same!.diffs).toEqual([]);
  }, 60_000);

  it("status tells revision, digest, version, selected pods and workloads, history; undeploy keeps the history for rollback", async () => {
    const ns = await freshNamespace();
    await deployFile(ns, deploymentFile({ namespace: ns, image: image("1.0.0") }));
    await deployFile(ns, deploymentFile({ namespace: ns, image: image("2.0.0") }));
    const [s] = await collectStatus(env.cluster(), ns);
    expect(s).toMatchObject({ plugin: "guard", current: { revision: 2, digest: v2, version: "2.0.0" }, objects: [{ kind: "WasmPlugin", name: "guard", revision: 2, digest: v2, version: "2.0.0", pods: ["checkout-0", "checkout-1"], workloads: ["Deployment/checkout"] }] });
    const text = formatStatus([s!]);
    expect(text).toMatch(/in effect: {2}revision 2 {2}2\.0\.0 {2}sha256:[a-f0-9]{12}… {2}config sha256:[a-f0-9]{12}… {2}by meshwasm-admin at /);
    expect(text).toContain("selects pods checkout-0, checkout-1 (Deployment/checkout)");
    expect(text).toMatch(/history:\n +2 {2}deploy {2}2\.0\.0 .* complete\n +1 {2}deploy {2}1\.0\.0 .* complete\n/);

    expect(await runUndeploy(env.cluster(), { namespace: ns, plugins: ["guard"], log })).toEqual([{ plugin: "guard", deleted: ["WasmPlugin/guard"] }]);
    expect(await read(ns, "guard")).toBeUndefined();
    const [gone] = await collectStatus(env.cluster(), ns);
    expect(gone!.current).toBeUndefined();
    expect(gone!.state.undeployedAt).toBeDefined();
    expect(await runRollback(env.cluster(), { namespace: ns, plugin: "guard", log })).toEqual({ revision: 3, restored: 2 });
    expect((await read(ns, "guard"))?.spec?.sha256).toBe(v2);
  }, 90_000);
});

describe.skipIf(Boolean(unavailable))("the meshwasm bin against a real API server: bad input is one line and exit 1", () => {
  let env: DeployEnv;
  let file: string;
  let kubeconfig: string;

  beforeAll(async () => {
    env = shared;
    await env.namespace("shop");
    await env.workload("shop", "checkout", { app: "checkout" });
    file = await env.write("shop.yaml", deploymentFile({ namespace: "shop", image: `${env.registry.host}/meshwasm/guard:1.0.0` }));
    kubeconfig = env.api.kubeconfigPath;
  }, 60_000);

  async function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const p = startBin(args);
    const { code } = await p.exited;
    return { code, stdout: p.stdout(), stderr: p.stderr() };
  }
  function oneLine(r: { code: number | null; stderr: string }, pattern: RegExp): void {
    expect(r.code).toBe(1);
    const errors = r.stderr.trim().split("\n").filter((l) => l.startsWith("meshwasm: "));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(pattern);
    expect(r.stderr).not.toMatch(/BEGIN|PRIVATE KEY|client-key-data|password/i);
  }

  it("a wrong context, expired credentials, a user without RBAC bindings", async () => {
    oneLine(await run(["deploy", "-f", file, "--kubeconfig", kubeconfig, "--context", "staging"]), /^meshwasm: --context "staging": no such context in .*kubeconfig \(contexts: admin, expired, short-lived, unprivileged\)$/);
    oneLine(await run(["deploy", "-f", file, "--kubeconfig", kubeconfig, "--context", "expired"]), /^meshwasm: the API server https:\/\/127\.0\.0\.1:\d+ refused the credentials of context "expired" \(401 Unauthorized: expired or invalid\) while asking the API server who the user is$/);
    oneLine(await run(["deploy", "-f", file, "--kubeconfig", kubeconfig, "--context", "unprivileged"]), /^meshwasm: forbidden while reading namespace shop \(context "unprivileged"\): namespaces "shop" is forbidden: User "meshwasm-unprivileged" cannot get resource "namespaces"/);
    oneLine(await run(["status", "-n", "shop", "--kubeconfig", `${kubeconfig}.missing`]), /^meshwasm: --kubeconfig: .*\.missing: no such file$/);
    expect((await env.cluster().list(WP, "WasmPlugin", "shop")).length).toBe(0);
  }, 60_000);

  it("deploys, shows status and diffs through the bin", async () => {
    const d = await run(["deploy", "-f", file, "--kubeconfig", kubeconfig]);
    expect(d.code).toBe(0);
    expect(d.stdout).toBe("guard: revision 1 deployed\n");
    const s = await run(["status", "-n", "shop", "--kubeconfig", kubeconfig, "--json"]);
    expect(JSON.parse(s.stdout)[0]).toMatchObject({ plugin: "guard", current: { revision: 1 } });
    const diff = await run(["diff", "-f", file, "--kubeconfig", kubeconfig, "--exit-code"]);
    expect(diff).toMatchObject({ code: 0, stdout: "" });
  }, 90_000);

  it("an API server that has gone away: one line naming it, exit 1", async () => {
    const text = await readFile(kubeconfig, "utf8");
    const dead = await env.write("dead-kubeconfig", text.replace(/server: https:\/\/127\.0\.0\.1:\d+/, "server: https://127.0.0.1:1"));
    oneLine(await run(["deploy", "-f", file, "--kubeconfig", dead]), /^meshwasm: the API server https:\/\/127\.0\.0\.1:1 \(context "admin"\) is unreachable while asking the API server who the user is: ECONNREFUSED$/);
    const copy = await env.write("kubeconfig-copy", text);
    await env.api.kill();
    oneLine(await run(["status", "-n", "shop", "--kubeconfig", copy]), /^meshwasm: the API server https:\/\/127\.0\.0\.1:\d+ \(context "admin"\) is unreachable while reading namespace shop: ECONNREFUSED$/);
  }, 60_000);
});
