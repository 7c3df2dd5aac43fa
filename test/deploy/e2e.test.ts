/**
 * The whole path on one machine, as a cluster runs it: `meshwasm build` -> `meshwasm push` to a
 * real registry (htpasswd) -> `meshwasm deploy` to a real kube-apiserver -> two local sidecars
 * (the pods of two Deployments, a canary and a stable one) follow the WasmPlugins with
 * `--watch`'s code and pull the modules with the namespace's pull secret -> grpc-js traffic
 * through both -> a real Prometheus scrapes their admin /stats/prometheus with the pod's target
 * labels -> the health gate reads grpc-metrics' counters and passes wave after wave. Then a
 * deliberately broken version of a plugin (a filter that fails every RPC with UNAVAILABLE) trips
 * the gate on the canary wave: deploy exits 1 with the reading, the canary is rolled back to the
 * previous digest, which its sidecar loads again, and the stable workload never saw the broken one.
 */
import * as grpc from "@grpc/grpc-js";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadClusterTarget } from "../../manager/src/k8s/cluster/kubeconfig.ts";
import { ClusterPluginSource } from "../../manager/src/sidecar/plugins/cluster-source.ts";
import { pushWasmImage } from "../../manager/src/oci/index.ts";
import { startBin } from "../cli/bin-process.ts";
import { echoClient, type EchoClient } from "../support/grpc-echo.ts";
import { prometheusGate, startPrometheus, type TestPrometheus } from "../support/prometheus.ts";
import { startHarness, type Harness } from "../support/sidecar-harness.ts";
import { addHeaderWasm } from "../plugins/support.ts";
import { failingFilterWasm } from "./failing-filter.ts";
import { deployGate, REGISTRY_PASSWORD, REGISTRY_USER, startDeployEnv, type DeployEnv } from "./support.ts";

const unavailable = deployGate() ?? (prometheusGate().skip ? prometheusGate().reason : undefined);
if (unavailable) console.warn(`skipping the end-to-end deploy test: ${unavailable}`);

interface Pod {
  name: string;
  harness: Harness;
  client: EchoClient;
  cacheDir: string;
  ok: number;
  failed: number;
  guard: string[];
}

describe.skipIf(Boolean(unavailable))("build -> push -> deploy -> sidecar --watch -> traffic -> Prometheus -> health gate -> rollback", () => {
  let env: DeployEnv;
  let prom: TestPrometheus;
  let work: string;
  let dockerConfig: string;
  let deployFile: string;
  let metricsRef = "";
  const pods: Pod[] = [];
  let traffic: NodeJS.Timeout | undefined;
  const digests: Record<string, string> = {};

  async function bin(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const p = startBin(args);
    const { code } = await p.exited;
    return { code, stdout: p.stdout(), stderr: p.stderr() };
  }

  function sendTraffic(): void {
    for (const pod of pods) {
      pod.client.Unary({ message: "hi" }, new grpc.Metadata(), { deadline: Date.now() + 5000 }, (err, reply) => {
        if (err) pod.failed++;
        else {
          pod.ok++;
          pod.guard.push(reply?.headers["x-guard"] ?? "");
        }
      });
    }
  }

  async function startPod(name: string, labels: Record<string, string>): Promise<Pod> {
    const cacheDir = await mkdtemp(path.join(work, `cache-${name}-`));
    const source = await ClusterPluginSource.start({ target: loadClusterTarget({ kubeconfig: env.api.kubeconfigPath }), namespaces: ["shop", "istio-system"], log: () => {}, retryMs: 200 });
    const harness = await startHarness({
      config: () => ({ admin: true }),
      edit: (b) => {
        b.stats_config = { use_all_default_tags: false, stats_tags: ["grpc_type", "grpc_service", "grpc_method", "grpc_code"].map((t) => ({ tag_name: t, regex: `(${t}=\\.=(.*?);\\.;)` })) };
        (b.static_resources as { listeners: Array<Record<string, unknown>> }).listeners[0]!.traffic_direction = "INBOUND";
      },
      sidecar: { plugins: { source, namespace: "shop", labels, cacheDir, debounceMs: 20 } },
    });
    return { name, harness, client: echoClient(harness.port), cacheDir, ok: 0, failed: 0, guard: [] };
  }

  const cached = (pod: Pod, repo: string, digest: string) =>
    existsSync(path.join(pod.cacheDir, createHash("sha256").update(`oci://${env.registry.host}/${repo}`).digest("hex"), `${digest}.wasm`));

  beforeAll(async () => {
    env = await startDeployEnv();
    work = await mkdtemp(path.join(tmpdir(), "meshwasm-e2e-"));
    dockerConfig = path.join(work, "docker-config.json");
    await writeFile(dockerConfig, JSON.stringify({ auths: { [env.registry.host]: { auth: Buffer.from(`${REGISTRY_USER}:${REGISTRY_PASSWORD}`).toString("base64") } } }));
    await env.namespace("shop");
    await env.workload("shop", "checkout-canary", { app: "checkout", track: "canary" });
    await env.workload("shop", "checkout", { app: "checkout", track: "stable" });
    const auth = { username: REGISTRY_USER, password: REGISTRY_PASSWORD };
    digests.guard1 = (await pushWasmImage(`${env.registry.host}/meshwasm/guard:1.0.0`, { wasm: await addHeaderWasm(), name: "guard", version: "1.0.0" }, { auth, blobLocations: false })).manifestDigest.slice(7);
    digests.guard2 = (await pushWasmImage(`${env.registry.host}/meshwasm/guard:2.0.0`, { wasm: await failingFilterWasm(), name: "guard", version: "2.0.0" }, { auth, blobLocations: false })).manifestDigest.slice(7);
    pods.push(await startPod("checkout-canary-0", { app: "checkout", track: "canary" }));
    pods.push(await startPod("checkout-0", { app: "checkout", track: "stable" }));
    prom = await startPrometheus({
      targets: pods.map((p) => ({ job: p.name, address: `127.0.0.1:${p.harness.sidecar.adminPort}`, metricsPath: "/stats/prometheus", labels: { namespace: "shop", pod: p.name } })),
    });
    traffic = setInterval(sendTraffic, 50);
  }, 300_000);

  afterAll(async () => {
    clearInterval(traffic);
    for (const p of pods) {
      p.client.close();
      await p.harness.stop();
    }
    await prom?.stop();
    await env?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("meshwasm build and push: grpc-metrics into the registry, pinned by digest", async () => {
    const out = path.join(work, "build");
    const built = await bin(["build", "grpc-metrics", "--out", out]);
    expect(built.code, built.stderr).toBe(0);
    const pushed = await bin(["push", "grpc-metrics", `${env.registry.host}/meshwasm/grpc-metrics`, "--build-dir", out, "--docker-config", dockerConfig]);
    expect(pushed.code, pushed.stderr).toBe(0);
    metricsRef = pushed.stdout.trim();
    expect(metricsRef).toMatch(new RegExp(`^${env.registry.host.replace(/\./g, "\\.")}/meshwasm/grpc-metrics@sha256:[a-f0-9]{64}$`));
    deployFile = await env.write("shop.yaml", [
      "apiVersion: meshwasm/v1alpha1",
      "kind: PluginDeployment",
      "namespace: shop",
      "selector: { app: checkout }",
      "imagePullSecret: registry-creds",
      "plugins:",
      "  - filter: grpc-metrics",
      `    image: ${metricsRef}`,
      "  - name: guard",
      "    filter: add-header",
      `    image: ${env.registry.host}/meshwasm/guard:1.0.0`,
      "    failStrategy: FAIL_OPEN",
      '    pluginConfig: { request_header_name: x-guard, request_header_value: "1" }',
      "rollout:",
      "  waves: [{ name: canary, workloads: [checkout-canary] }, { name: all, percent: 100 }]",
      `  gate: { prometheus: "${prom.url}", bake: 5s, maxErrorRatio: 0.05, minRequests: 20 }`,
      "",
    ].join("\n"));
  }, 180_000);

  it("meshwasm deploy: both sidecars pick the plugins up, the gate passes wave after wave on real metrics", async () => {
    const d = await bin(["deploy", "-f", deployFile, "--kubeconfig", env.api.kubeconfigPath]);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toBe("grpc-metrics: revision 1 deployed\nguard: revision 1 deployed\n");
    expect(d.stderr).toMatch(/gate canary: server error ratio 0\.000 \(0 of \d+ RPCs\) <= 0\.05/);
    expect(d.stderr).toMatch(/guard: revision 1 wave 2\/2 \(all\) applied: checkout/);
    for (const pod of pods) {
      const before = pod.guard.length;
      await new Promise((r) => setTimeout(r, 300));
      expect(pod.guard.slice(before)).toContain("1");
      expect(cached(pod, "meshwasm/guard", digests.guard1!)).toBe(true);
    }
    const served = await prom.query('sum by (pod) (grpc_server_handled_total{namespace="shop",grpc_code="OK"})');
    expect(served.resultType === "vector" && served.result.map((s) => s.metric.pod).sort()).toEqual(["checkout-0", "checkout-canary-0"]);
  }, 180_000);

  it("a broken version trips the gate on the canary: exit 1 with the reading, rolled back, the canary loads the previous digest again", async () => {
    const broken = await env.write("shop-broken.yaml", (await import("node:fs")).readFileSync(deployFile, "utf8").replace("meshwasm/guard:1.0.0", "meshwasm/guard:2.0.0"));
    const [canary, stable] = pods as [Pod, Pod];
    const failedBefore = stable.failed;
    const d = await bin(["deploy", "-f", broken, "--kubeconfig", env.api.kubeconfigPath]);
    expect(d.code).toBe(1);
    const errors = d.stderr.trim().split("\n").filter((l) => l.startsWith("meshwasm: "));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^meshwasm: guard: health gate failed after wave canary of revision 2: server error ratio (0\.[1-9]\d*|1\.000) \((\d+) of (\d+) RPCs\) > 0\.05; rolled back to revision 1$/);
    expect(d.stdout).toBe("grpc-metrics: revision 1 unchanged\n");
    expect(cached(canary, "meshwasm/guard", digests.guard2!)).toBe(true);
    expect(canary.failed).toBeGreaterThan(0);
    // The canary is back on revision 1's digest: RPCs succeed and carry its header again.
    const okBefore = canary.ok;
    await new Promise((r) => setTimeout(r, 1500));
    const recent = canary.guard.slice(-5);
    expect(canary.ok).toBeGreaterThan(okBefore);
    expect(recent).toEqual(["1", "1", "1", "1", "1"]);
    // The stable workload never had the broken module.
    expect(cached(stable, "meshwasm/guard", digests.guard2!)).toBe(false);
    expect(stable.failed).toBe(failedBefore);

    const s = await bin(["status", "guard", "-n", "shop", "--kubeconfig", env.api.kubeconfigPath]);
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(/in effect: {2}revision 1 {2}1\.0\.0/);
    expect(s.stdout).toMatch(/last gate: {2}revision 2 wave canary FAILED at .*: server error ratio/);
    expect(s.stdout).toMatch(/rollout: {4}revision 2 gate-failed; waves canary failed, all pending/);
    expect(s.stdout).toMatch(/ {3}2 {2}deploy {2}2\.0\.0 .* gate-failed\n/);
  }, 180_000);
});
