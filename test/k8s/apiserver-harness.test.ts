/**
 * The real kube-apiserver of the test harness enforces what users' clusters enforce:
 * server-side apply with field managers and conflicts, the Istio CRDs' OpenAPI schemas and
 * CEL rules, namespace admission, client-certificate authentication and RBAC. No
 * controllers run, so tests make Pods, Services and Deployments and set Pod status
 * themselves. Runs through @kubernetes/client-node, the client the manager uses.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:net";
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  KubernetesObjectApi,
  PatchStrategy,
  VersionApi,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { kubeApiServerUnavailable, startKubeApiServer, type KubeApiServer } from "../support/kube-apiserver.ts";

const unavailable = kubeApiServerUnavailable();
if (unavailable) console.warn(`skipping the kube-apiserver harness tests: ${unavailable}`);

const SHORT_LIVED_TTL_SECONDS = 8;
const DIGEST = "a".repeat(64);

interface WasmPluginSpec {
  url: string;
  sha256?: string;
  phase?: string;
  priority?: number;
  failStrategy?: string;
  selector?: { matchLabels: Record<string, string> };
  targetRefs?: { group: string; kind: string; name: string }[];
  pluginConfig?: Record<string, unknown>;
}
type WasmPlugin = KubernetesObject & { spec: WasmPluginSpec };

function wasmPlugin(name: string, namespace: string, spec: Partial<WasmPluginSpec> = {}): WasmPlugin {
  return {
    apiVersion: "extensions.istio.io/v1alpha1",
    kind: "WasmPlugin",
    metadata: { name, namespace },
    spec: {
      url: `oci://registry.example.com/meshwasm/grpc-metrics@sha256:${DIGEST}`,
      sha256: DIGEST,
      phase: "STATS",
      priority: 10,
      failStrategy: "FAIL_OPEN",
      selector: { matchLabels: { app: "checkout" } },
      pluginConfig: { methods: ["*"] },
      ...spec,
    },
  };
}

/** The status code and the server's message of a rejected call. */
async function rejection(call: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await call;
  } catch (error) {
    if (!(error instanceof ApiException)) throw error;
    const body = typeof error.body === "string" ? safeJson(error.body) : error.body;
    const message = (body as { message?: string } | undefined)?.message ?? String(error.body ?? error.message);
    return { code: error.code, message };
  }
  throw new Error("the API server accepted a call it should have rejected");
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text };
  }
}

describe.skipIf(Boolean(unavailable))("real kube-apiserver harness", () => {
  let server: KubeApiServer;
  let objects: KubernetesObjectApi;
  let core: CoreV1Api;
  let namespaceCounter = 0;

  const apply = <T extends KubernetesObject>(object: T, fieldManager = "meshwasm", force = false) =>
    objects.patch<T>(object, undefined, undefined, fieldManager, force, PatchStrategy.ServerSideApply);

  async function freshNamespace(): Promise<string> {
    const name = `harness-${++namespaceCounter}`;
    await core.createNamespace({ body: { metadata: { name } } });
    return name;
  }

  beforeAll(async () => {
    server = await startKubeApiServer({ shortLivedTtlSeconds: SHORT_LIVED_TTL_SECONDS });
    objects = KubernetesObjectApi.makeApiClient(server.kubeConfig);
    core = server.kubeConfig.makeApiClient(CoreV1Api);
  }, 600_000);

  afterAll(async () => {
    await server?.stop();
  });

  it("the short-lived credentials work until their certificate expires, then get 401", async () => {
    const shortLived = server.kubeConfigFor("short-lived").makeApiClient(CoreV1Api);
    const notAfter = Date.parse(server.ready.contexts["short-lived"]!.notAfter);
    const namespaces = await shortLived.listNamespace();
    expect(namespaces.items.map((ns) => ns.metadata?.name)).toContain("default");

    await new Promise((done) => setTimeout(done, Math.max(0, notAfter - Date.now()) + 1_500));
    const { code } = await rejection(shortLived.listNamespace());
    expect(code).toBe(401);
  }, 30_000);

  it("serves the pinned Kubernetes release with every Istio CRD Established, TrafficExtension included", async () => {
    expect(server.ready.versions.kubernetes).toMatch(/^v1\.37\.\d+$/);
    const version = await server.kubeConfig.makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toBe(server.ready.versions.kubernetes);
    expect(version.minor).toBe("37");

    expect(server.ready.crds).toContain("wasmplugins.extensions.istio.io");
    expect(server.ready.crds).toContain("trafficextensions.extensions.istio.io");
    for (const name of server.ready.crds) {
      const crd = (await objects.read({
        apiVersion: "apiextensions.k8s.io/v1",
        kind: "CustomResourceDefinition",
        metadata: { name },
      })) as KubernetesObject & { status?: { conditions?: { type: string; status: string }[] } };
      const established = crd.status?.conditions?.find((c) => c.type === "Established");
      expect(established?.status, name).toBe("True");
    }
  });

  it("server-side applies a WasmPlugin, and re-applying it is a no-op", async () => {
    const namespace = await freshNamespace();
    const plugin = wasmPlugin("grpc-metrics", namespace);
    const created = await apply(plugin);
    expect(created.spec.url).toBe(plugin.spec.url);
    expect(created.spec.priority).toBe(10);
    const managers = created.metadata?.managedFields?.map((f) => [f.manager, f.operation]);
    expect(managers).toEqual([["meshwasm", "Apply"]]);

    const again = await apply(plugin);
    expect(again.metadata?.resourceVersion).toBe(created.metadata?.resourceVersion);
    expect(again.metadata?.generation).toBe(1);
  });

  it("a second field manager conflicts (409 naming the owner) until it forces", async () => {
    const namespace = await freshNamespace();
    await apply(wasmPlugin("grpc-auth", namespace, { phase: "AUTHZ", priority: 100 }));
    const other = wasmPlugin("grpc-auth", namespace, { phase: "AUTHZ", priority: 5 });

    const conflict = await rejection(apply(other, "gitops-controller"));
    expect(conflict.code).toBe(409);
    expect(conflict.message).toContain('conflict with "meshwasm"');
    expect(conflict.message).toContain(".spec.priority");

    const forced = await apply(other, "gitops-controller", true);
    expect(forced.spec.priority).toBe(5);
    const owners = forced.metadata?.managedFields?.map((f) => f.manager);
    expect(owners).toContain("gitops-controller");
  });

  it("the WasmPlugin CRD's CEL rules reject a bad url scheme and selector with targetRefs", async () => {
    const namespace = await freshNamespace();
    const badScheme = await rejection(apply(wasmPlugin("bad-url", namespace, { url: "ftp://registry.example.com/f.wasm" })));
    expect(badScheme.code).toBe(422);
    expect(badScheme.message).toContain("spec.url");
    expect(badScheme.message).toContain("url must have schema one of [http, https, file, oci]");

    const both = await rejection(
      apply(
        wasmPlugin("both-targets", namespace, {
          targetRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "edge" }],
        }),
      ),
    );
    expect(both.code).toBe(422);
    expect(both.message).toContain("only one of targetRefs or selector can be set");

    const schema = await rejection(apply(wasmPlugin("bad-digest", namespace, { sha256: "not-a-digest" })));
    expect(schema.code).toBe(422);
    expect(schema.message).toContain("spec.sha256");

    const listed = await objects.list("extensions.istio.io/v1alpha1", "WasmPlugin", namespace);
    expect(listed.items).toEqual([]);
  });

  it("the TrafficExtension CRD's CEL rules hold: exactly one of wasm or lua", async () => {
    const namespace = await freshNamespace();
    const extension = {
      apiVersion: "extensions.istio.io/v1alpha1",
      kind: "TrafficExtension",
      metadata: { name: "grpc-metrics", namespace },
      spec: {
        phase: "STATS",
        selector: { matchLabels: { app: "checkout" } },
        wasm: { url: `oci://registry.example.com/meshwasm/grpc-metrics@sha256:${DIGEST}`, failStrategy: "FAIL_OPEN" },
      },
    };
    const applied = await apply(extension);
    expect(applied.spec.wasm.url).toBe(extension.spec.wasm.url);

    const both = await rejection(
      apply({ ...extension, metadata: { name: "both", namespace }, spec: { ...extension.spec, lua: { inlineCode: "x" } } }),
    );
    expect(both.code).toBe(422);
    expect(both.message).toContain("exactly one of wasm or lua must be set");
  });

  it("a missing namespace is 404", async () => {
    const missing = await rejection(apply(wasmPlugin("orphan", "no-such-namespace")));
    expect(missing.code).toBe(404);
    expect(missing.message).toContain('namespaces "no-such-namespace" not found');
  });

  it("an expired client certificate gets 401, a user without bindings 403", async () => {
    const expired = await rejection(server.kubeConfigFor("expired").makeApiClient(CoreV1Api).listNamespace());
    expect(expired.code).toBe(401);

    const unprivileged = KubernetesObjectApi.makeApiClient(server.kubeConfigFor("unprivileged"));
    const denied = await rejection(unprivileged.list("extensions.istio.io/v1alpha1", "WasmPlugin", "default"));
    expect(denied.code).toBe(403);
    expect(denied.message).toContain('User "meshwasm-unprivileged" cannot list resource "wasmplugins"');
  });

  it("holds the Pods, Services and Deployments tests create, and Pod status they set; no controller acts", async () => {
    const namespace = await freshNamespace();
    const labels = { app: "checkout" };
    const apps = server.kubeConfig.makeApiClient(AppsV1Api);
    const deployment = await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: "checkout", labels },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { containers: [{ name: "app", image: "example.com/checkout:1" }] } },
        },
      },
    });
    expect(deployment.metadata?.generation).toBe(1);

    const service = await core.createNamespacedService({
      namespace,
      body: { metadata: { name: "checkout" }, spec: { selector: labels, ports: [{ name: "grpc", port: 8080 }] } },
    });
    expect(service.spec?.clusterIP).toMatch(/^10\.0\.0\.\d+$/);

    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: "checkout-0", labels },
        spec: { containers: [{ name: "app", image: "example.com/checkout:1" }] },
      },
    });
    const pod = await core.readNamespacedPod({ name: "checkout-0", namespace });
    expect(pod.status?.phase).toBe("Pending");
    pod.status = {
      phase: "Running",
      podIP: "10.1.0.7",
      podIPs: [{ ip: "10.1.0.7" }],
      conditions: [{ type: "Ready", status: "True", lastTransitionTime: new Date() }],
    };
    await core.replaceNamespacedPodStatus({ name: "checkout-0", namespace, body: pod });
    const running = await core.readNamespacedPod({ name: "checkout-0", namespace });
    expect(running.status?.phase).toBe("Running");
    expect(running.status?.podIP).toBe("10.1.0.7");
    expect(running.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");

    const selected = await core.listNamespacedPod({ namespace, labelSelector: "app=checkout" });
    expect(selected.items.map((p) => p.metadata?.name)).toEqual(["checkout-0"]);
    const stillNew = await apps.readNamespacedDeployment({ name: "checkout", namespace });
    expect(stillNew.status?.observedGeneration).toBeUndefined();
  });

  it("stops cleanly when its stdin closes: exit 0, port closed, directory removed", async () => {
    const { dir, server: url } = server.ready;
    expect(existsSync(dir)).toBe(true);
    await server.stop();
    expect(server.exitCode()).toBe(0);
    expect(existsSync(dir)).toBe(false);
    expect(await probe(Number(new URL(url).port))).toBe("ECONNREFUSED");
  }, 60_000);
});

/** Resolves "ECONNREFUSED" when nothing listens on the port any more. */
function probe(port: number): Promise<string> {
  return new Promise((done) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      done("connected");
    });
    socket.once("error", (error: NodeJS.ErrnoException) => done(error.code ?? "error"));
  });
}

describe.skipIf(Boolean(unavailable))("kube-apiserver harness going away and bad input", () => {
  it("kill() ends the server at once, as an API server that goes away: calls fail, its directory is removed", async () => {
    const server = await startKubeApiServer();
    try {
      const core = server.kubeConfig.makeApiClient(CoreV1Api);
      await core.createNamespace({ body: { metadata: { name: "before-kill" } } });
      await server.kill();
      expect(server.exitCode()).not.toBe(0);
      expect(await probe(Number(new URL(server.ready.server).port))).toBe("ECONNREFUSED");
      await expect(core.readNamespace({ name: "before-kill" })).rejects.toThrow(/ECONNREFUSED/);
      expect(existsSync(server.ready.dir)).toBe(false);
    } finally {
      await server.stop();
    }
  }, 180_000);

  it("a missing --crd-file fails before anything starts, with a one-line reason naming the file", async () => {
    const error = await startKubeApiServer({ crdFiles: ["/nonexistent/crds.yaml"] }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).toMatch(/exited with 1 before ready: kube-apiserver-harness: --crd-file: .*\/nonexistent\/crds\.yaml/);
  });

  it("a --dir that is not empty is refused, so a run never starts on another run's etcd data", async () => {
    const dir = await mkdtemp(join(tmpdir(), "harness-dir-"));
    try {
      await writeFile(join(dir, "leftover"), "");
      const error = await startKubeApiServer({ extraArgs: [`--dir=${dir}`] }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error?.message).toContain(`kube-apiserver-harness: --dir ${dir} is not empty (it holds leftover)`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
