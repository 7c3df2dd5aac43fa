/**
 * `meshwasm sidecar --watch`: the local sidecar follows the WasmPlugins of its namespace and of
 * istio-system in a real kube-apiserver, as istiod pushes them: a plugin created, changed and
 * deleted with the API is placed, reconfigured and removed for new RPCs (grpc-js through the
 * sidecar); its imagePullSecret is read from the cluster to pull from the htpasswd registry; a
 * plugin whose selector does not match `--labels` is not placed; while the API server is away the
 * plugins in place keep running, and changes made meanwhile arrive once it is back.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubernetesObjectApi, PatchStrategy } from "@kubernetes/client-node";
import { loadClusterTarget } from "../../manager/src/k8s/cluster/kubeconfig.ts";
import { ClusterPluginSource } from "../../manager/src/sidecar/plugins/cluster-source.ts";
import { call, orderConfig, startPluginHarness, type PluginHarness } from "../plugins/support.ts";
import { startBin } from "../cli/bin-process.ts";
import { envoyConfig, writeEnvoyConfig } from "../support/envoy-config.ts";
import { deployGate, kubeconfigVia, startDeployEnv, startSwitchProxy, type DeployEnv, type SwitchProxy } from "./support.ts";

const unavailable = deployGate();
if (unavailable) console.warn(`skipping the --watch tests: ${unavailable}`);
const WP = "extensions.istio.io/v1alpha1";

describe.skipIf(Boolean(unavailable))("meshwasm sidecar --watch on a real API server", () => {
  let env: DeployEnv;
  let proxy: SwitchProxy;
  let h: PluginHarness;
  let objects: KubernetesObjectApi;
  let digest: string;
  const logs: string[] = [];

  const apply = (name: string, spec: Record<string, unknown>, namespace = "shop") =>
    objects.patch({ apiVersion: WP, kind: "WasmPlugin", metadata: { name, namespace }, spec }, undefined, undefined, "test", true, PatchStrategy.ServerSideApply);
  const plugin = (value: string, extra: Record<string, unknown> = {}) => ({
    url: `oci://${env.registry.host}/meshwasm/guard@sha256:${digest}`,
    imagePullSecret: "registry-creds",
    failStrategy: "FAIL_CLOSE",
    selector: { matchLabels: { app: "checkout" } },
    pluginConfig: orderConfig(value),
    ...extra,
  });
  async function until(check: () => Promise<boolean>, what: string, ms = 15_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; sidecar log: ${logs.slice(-5).join(" | ")}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const order = async () => (await call(h.client)).request.join(",");

  beforeAll(async () => {
    env = await startDeployEnv();
    digest = await env.push("meshwasm/guard", "1.0.0");
    await env.namespace("shop");
    await env.namespace("istio-system", { pullSecret: false });
    objects = KubernetesObjectApi.makeApiClient(env.api.kubeConfig);
    proxy = await startSwitchProxy(Number(new URL(env.api.ready.server).port));
    const kubeconfig = await env.write("kubeconfig-via-proxy", kubeconfigVia(env.api.kubeconfigPath, proxy.url));
    await apply("guard", plugin("a"));
    const source = await ClusterPluginSource.start({ target: loadClusterTarget({ kubeconfig }), namespaces: ["shop", "istio-system"], log: (_l, line) => logs.push(line), retryMs: 200 });
    h = await startPluginHarness({}, { source, namespace: "shop", labels: { app: "checkout" }, log: (l) => logs.push(l) });
  }, 240_000);
  afterAll(async () => {
    await h?.stop();
    await proxy?.stop();
    await env?.stop();
  });

  it("places the plugin it found at start, pulled with the imagePullSecret read from the cluster", async () => {
    expect(await order()).toBe("a");
    expect(h.harness.sidecar.plugins!.metrics.value("wasm_remote_fetch_count", { result: "success" })).toBe(1);
  });

  it("follows changes, mesh-wide plugins of istio-system, selectors, and deletions", async () => {
    await apply("guard", plugin("b"));
    await until(async () => (await order()) === "b", "the changed pluginConfig");
    await apply("mesh-wide", plugin("m", { selector: undefined, imagePullSecret: undefined, priority: 10, url: `oci://${env.registry.host}/meshwasm/guard@sha256:${digest}` }), "istio-system");
    await until(async () => (await order()) === "m,b", "the istio-system plugin, higher priority first");
    await apply("elsewhere", plugin("x", { selector: { matchLabels: { app: "billing" } } }));
    await objects.delete({ apiVersion: WP, kind: "WasmPlugin", metadata: { name: "mesh-wide", namespace: "istio-system" } });
    await until(async () => (await order()) === "b", "the deleted plugin gone, the other selector not matched");
  }, 60_000);

  it("keeps the plugins in place while the API server is away and catches up when it is back", async () => {
    proxy.down();
    await until(async () => logs.some((l) => /is unreachable while listing WasmPlugins in shop: .*; keeping the plugins in place and retrying/.test(l)), "the outage to be noticed", 40_000);
    expect(await order()).toBe("b");
    await apply("guard", plugin("c"));
    expect(await order()).toBe("b");
    proxy.up();
    await until(async () => (await order()) === "c", "the change made during the outage", 40_000);
  }, 90_000);

  it("the bin: starts with --watch; a wrong context or --watch with --plugins is one line, exit 1", async () => {
    const config = await writeEnvoyConfig(envoyConfig({ clusters: [{ name: "backend", ports: [1] }] }));
    try {
      const ok = startBin(["sidecar", "-c", config.path, "--watch", "--kubeconfig", env.api.kubeconfigPath, "--namespace", "shop", "--labels", "app=checkout"]);
      await ok.waitForStdout(/^listener ingress on 127\.0\.0\.1:\d+$/m, 60_000);
      await new Promise((r) => setTimeout(r, 500));
      ok.child.kill("SIGTERM");
      expect(await ok.exited).toEqual({ code: 0, signal: null });
      for (const [args, message] of [
        [["--watch", "--kubeconfig", env.api.kubeconfigPath, "--context", "nope"], /^meshwasm: --context "nope": no such context in .* \(contexts: admin, expired, short-lived, unprivileged\)$/],
        [["--watch", "--kubeconfig", env.api.kubeconfigPath, "--context", "expired"], /^meshwasm: --watch: the API server https:\/\/127\.0\.0\.1:\d+ refused the credentials of context "expired" \(401 Unauthorized: expired or invalid\) while listing WasmPlugins in default$/],
        [["--watch", "--plugins", "/tmp"], /^meshwasm: --watch and --plugins exclude each other/],
        [["--kubeconfig", env.api.kubeconfigPath], /^meshwasm: --kubeconfig needs --watch$/],
      ] as const) {
        const p = startBin(["sidecar", "-c", config.path, ...args]);
        const { code } = await p.exited;
        expect(code).toBe(1);
        expect(p.stderr().trim().split("\n")).toHaveLength(1);
        expect(p.stderr().trim()).toMatch(message);
      }
    } finally {
      await config.cleanup();
    }
  }, 120_000);
});
