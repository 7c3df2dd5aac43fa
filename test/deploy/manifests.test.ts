/**
 * Every manifest in deploy/ against the real kube-apiserver (with the Istio CRDs and their CEL
 * rules): each Kubernetes object is server-side dry-run applied in its namespace and must be
 * accepted; WasmPlugins also pass meshwasm's offline validation. Files that are inputs of tools
 * rather than cluster objects are checked by those tools: GrpcAuthPolicy by the policy compiler,
 * the PluginDeployment (deploy/meshwasm.yaml) by rendering it with real images from a registry
 * and dry-run applying what it renders, the IstioOperator overlay (an istioctl input: no API server
 * serves it since Istio 1.24 removed the in-cluster operator) by its own test. The hand-written
 * WasmPlugins carry the same pluginConfig as the files meshwasm.yaml compiles.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { KubernetesObjectApi, PatchStrategy, type KubernetesObject } from "@kubernetes/client-node";
import { loadDeployment } from "../../manager/src/k8s/render/load.ts";
import { readPluginManifests } from "../../manager/src/k8s/wasmplugin/index.ts";
import { loadPolicyFile, pluginConfigObject } from "../../manager/src/policy/index.ts";
import { deployGate, REGISTRY_PASSWORD, REGISTRY_USER, startDeployEnv, type DeployEnv } from "./support.ts";

const unavailable = deployGate();
if (unavailable) console.warn(`skipping the deploy/ manifest tests: ${unavailable}`);

/** Kinds in deploy/ that are tool inputs, not cluster objects. */
const TOOL_INPUTS = new Set(["GrpcAuthPolicy", "PluginDeployment", "IstioOperator"]);

async function yamlFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await yamlFiles(p)));
    else if (/\.ya?ml$/.test(e.name)) out.push(p);
  }
  return out.sort();
}

async function documents(file: string): Promise<KubernetesObject[]> {
  return parseAllDocuments(await readFile(file, "utf8"), { version: "1.1" }).map((d) => d.toJS() as KubernetesObject).filter((d) => d && d.kind);
}

describe.skipIf(Boolean(unavailable))("deploy/ on a real API server", () => {
  let env: DeployEnv;
  let objects: KubernetesObjectApi;
  const namespaces = new Set<string>();

  beforeAll(async () => {
    env = await startDeployEnv();
    objects = KubernetesObjectApi.makeApiClient(env.api.kubeConfig);
  }, 240_000);
  afterAll(async () => env?.stop());

  async function dryRunApply(o: KubernetesObject): Promise<void> {
    const ns = o.metadata?.namespace;
    if (ns && !namespaces.has(ns)) {
      namespaces.add(ns);
      await env.core.createNamespace({ body: { metadata: { name: ns } } }).catch(() => undefined);
    }
    await objects.patch(o, undefined, "All", "meshwasm-test", true, PatchStrategy.ServerSideApply);
  }

  it("every Kubernetes object in deploy/ is accepted by the API server (server-side dry run)", async () => {
    const files = await yamlFiles("deploy");
    expect(files).toContain("deploy/istio/grpc-auth-wasmplugin.yaml");
    const applied: string[] = [];
    const tools: string[] = [];
    for (const file of files) {
      for (const o of await documents(file)) {
        if (TOOL_INPUTS.has(o.kind!)) {
          tools.push(`${file}:${o.kind}`);
          continue;
        }
        await dryRunApply(o).catch((e: Error & { body?: string }) => {
          throw new Error(`${file}: ${o.kind} ${o.metadata?.name} refused: ${String(e.body ?? e.message).slice(0, 400)}`);
        });
        applied.push(`${o.kind}/${o.metadata?.name}`);
        if (o.kind === "WasmPlugin") expect(readPluginManifests(await readFile(file, "utf8"), file, "default").length).toBe(1);
      }
    }
    expect(applied).toEqual(expect.arrayContaining([
      "ConfigMap/meshwasm-grpc-dashboard", "WasmPlugin/grpc-auth", "WasmPlugin/grpc-metrics", "WasmPlugin/grpc-balancer",
      "EnvoyFilter/grpc-balancer-override-host", "Service/inventory", "Telemetry/grpc-method", "Deployment/echo",
    ]));
    expect(tools.sort()).toEqual(["deploy/istio/grpc-metrics-meshconfig.yaml:IstioOperator", "deploy/meshwasm.yaml:PluginDeployment", "deploy/policies/checkout-policy.yaml:GrpcAuthPolicy"]);
    expect(env.api.ready.crds).not.toContain("istiooperators.install.istio.io");
  }, 60_000);

  it("deploy/meshwasm.yaml renders with real images into objects the API server accepts", async () => {
    const images: string[] = [];
    for (const filter of ["grpc-auth", "grpc-metrics", "grpc-balancer"]) {
      await env.push(`meshwasm/${filter}`, "0.1.0");
      images.push(`${filter}=${env.registry.host}/meshwasm/${filter}:0.1.0`);
    }
    const { rendered, config } = await loadDeployment("deploy/meshwasm.yaml", { images, auth: { username: REGISTRY_USER, password: REGISTRY_PASSWORD } });
    expect(config.rollout?.waves.map((w) => w.name)).toEqual(["canary", "quarter", "all"]);
    const byName = Object.fromEntries(rendered.map((r) => [r.entry.name, r.object]));
    expect(byName["grpc-auth"]!.spec).toMatchObject({ phase: "AUTHZ", failStrategy: "FAIL_CLOSE", match: [{ mode: "SERVER" }] });
    expect(byName["grpc-metrics"]!.spec).toMatchObject({ phase: "STATS", failStrategy: "FAIL_RELOAD" });
    expect(byName["grpc-balancer"]!.spec).toMatchObject({ phase: "UNSPECIFIED_PHASE", failStrategy: "FAIL_RELOAD", match: [{ mode: "CLIENT" }] });
    for (const r of rendered) await dryRunApply(r.object as unknown as KubernetesObject);
  }, 60_000);

  it("the hand-written WasmPlugins carry what meshwasm.yaml compiles: the policy, the metrics and balancer configurations", async () => {
    const spec = async (file: string) => ((await documents(`deploy/istio/${file}`))[0] as KubernetesObject & { spec: { pluginConfig: unknown } }).spec.pluginConfig;
    const { policy } = await loadPolicyFile("deploy/policies/checkout-policy.yaml");
    expect(await spec("grpc-auth-wasmplugin.yaml")).toEqual(pluginConfigObject(policy));
    expect(await spec("grpc-metrics-wasmplugin.yaml")).toEqual(JSON.parse(await readFile("deploy/config/grpc-metrics.json", "utf8")));
    const balancer = JSON.parse(await readFile("deploy/config/grpc-balancer.json", "utf8")) as { header: string };
    expect(await spec("grpc-balancer-wasmplugin.yaml")).toEqual(balancer);
    const service = (await documents("deploy/istio/grpc-balancer-session-header.yaml"))[0]!;
    expect(service.metadata?.labels?.["istio.io/persistent-session-header"]).toBe(balancer.header);
  });
});
