/**
 * What the deploy tests share: a real kube-apiserver (test/kube-apiserver) and a real OCI
 * registry with htpasswd auth (so an imagePullSecret matters), images of the add-header example
 * pushed under several versions, namespaces with a `kubernetes.io/dockerconfigjson` pull secret,
 * Deployments with the Pods a controller would have made (the bare API server runs none),
 * deployment files written to a temporary folder, and a TCP proxy in front of the API server that
 * can go down and come back (an API server going away, seen from the client: connections reset).
 */
import { AppsV1Api, CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { pushWasmImage } from "../../manager/src/oci/index.ts";
import { Cluster } from "../../manager/src/k8s/cluster/client.ts";
import { kubeApiServerUnavailable, startKubeApiServer, type KubeApiServer } from "../support/kube-apiserver.ts";
import { startRegistry, toolGate, type TestRegistry } from "../support/registry.ts";
import { addHeaderWasm } from "../plugins/support.ts";

export const REGISTRY_USER = "alice";
export const REGISTRY_PASSWORD = "wonderland-42";

/** Why the deploy tests cannot run here (skip outside CI), or undefined; throws under CI. */
export function deployGate(): string | undefined {
  const api = kubeApiServerUnavailable();
  const tools = toolGate(["docker-registry"]);
  return api ?? (tools.skip ? tools.reason : undefined);
}

export interface DeployEnv {
  api: KubeApiServer;
  registry: TestRegistry;
  dir: string;
  core: CoreV1Api;
  apps: AppsV1Api;
  /** A Cluster on a context of the harness kubeconfig (default admin). */
  cluster(context?: string): Cluster;
  /** Pushes `wasm` (default: add-header) as REPO:version; returns the manifest digest hex. */
  push(repository: string, version: string, wasm?: Uint8Array): Promise<string>;
  /** Creates a namespace with the pull secret `registry-creds` (unless `pullSecret: false`). */
  namespace(name: string, opts?: { pullSecret?: boolean; password?: string }): Promise<void>;
  /** A Deployment with `pods` Pods carrying its template labels, as a controller would make them. */
  workload(namespace: string, name: string, labels: Record<string, string>, pods?: number): Promise<void>;
  /** Writes a file into the temporary folder; returns its path. */
  write(name: string, text: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startDeployEnv(): Promise<DeployEnv> {
  const api = await startKubeApiServer();
  let registry: TestRegistry;
  try {
    registry = await startRegistry({ auth: "htpasswd", users: { [REGISTRY_USER]: REGISTRY_PASSWORD } });
  } catch (e) {
    await api.stop();
    throw e;
  }
  const dir = await mkdtemp(path.join(tmpdir(), "meshwasm-deploy-"));
  const core = api.kubeConfig.makeApiClient(CoreV1Api);
  const apps = api.kubeConfig.makeApiClient(AppsV1Api);
  const auth = { username: REGISTRY_USER, password: REGISTRY_PASSWORD };
  return {
    api,
    registry,
    dir,
    core,
    apps,
    cluster: (context = "admin") => Cluster.connect({ kubeconfig: api.kubeconfigPath, context }),
    async push(repository, version, wasm) {
      const module = wasm ?? (await addHeaderWasm());
      const result = await pushWasmImage(`${registry.host}/${repository}:${version}`, { wasm: module, name: path.basename(repository), version }, { auth, blobLocations: false });
      return result.manifestDigest.slice(7);
    },
    async namespace(name, opts = {}) {
      await core.createNamespace({ body: { metadata: { name } } });
      if (opts.pullSecret === false) return;
      const config = { auths: { [registry.host]: { auth: Buffer.from(`${REGISTRY_USER}:${opts.password ?? REGISTRY_PASSWORD}`).toString("base64") } } };
      await core.createNamespacedSecret({
        namespace: name,
        body: { metadata: { name: "registry-creds" }, type: "kubernetes.io/dockerconfigjson", data: { ".dockerconfigjson": Buffer.from(JSON.stringify(config)).toString("base64") } },
      });
    },
    async workload(namespace, name, labels, pods = 1) {
      await apps.createNamespacedDeployment({
        namespace,
        body: {
          metadata: { name, labels },
          spec: { replicas: pods, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: "app", image: "example.com/app:1" }] } } },
        },
      });
      for (let i = 0; i < pods; i++) {
        await core.createNamespacedPod({ namespace, body: { metadata: { name: `${name}-${i}`, labels }, spec: { containers: [{ name: "app", image: "example.com/app:1" }] } } });
      }
    },
    async write(name, text) {
      const file = path.join(dir, name);
      await writeFile(file, text);
      return file;
    },
    async stop() {
      await Promise.allSettled([api.stop(), registry.stop()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A deployment file for the add-header example as plugin `name` (UNSPECIFIED phase, FAIL_OPEN). */
export function deploymentFile(opts: {
  namespace: string;
  image: string;
  name?: string;
  selector?: Record<string, string>;
  pluginConfig?: Record<string, unknown>;
  extraPlugin?: string;
  rollout?: string;
  pullSecret?: string | null;
}): string {
  const lines = [
    "apiVersion: meshwasm/v1alpha1",
    "kind: PluginDeployment",
    `namespace: ${opts.namespace}`,
    `selector: ${JSON.stringify(opts.selector ?? { app: "checkout" })}`,
    ...(opts.pullSecret === null ? [] : [`imagePullSecret: ${opts.pullSecret ?? "registry-creds"}`]),
    "plugins:",
    `  - name: ${opts.name ?? "guard"}`,
    "    filter: add-header",
    `    image: ${opts.image}`,
    "    failStrategy: FAIL_OPEN",
    `    pluginConfig: ${JSON.stringify(opts.pluginConfig ?? { request_header_name: "x-guard", request_header_value: "v1" })}`,
  ];
  if (opts.extraPlugin) lines.push(opts.extraPlugin);
  if (opts.rollout) lines.push(opts.rollout);
  return lines.join("\n") + "\n";
}

/** A kubeconfig like `source` whose clusters point at `server` instead. */
export function kubeconfigVia(source: string, server: string): string {
  const kc = new KubeConfig();
  kc.loadFromFile(source);
  const exported = JSON.parse(kc.exportConfig()) as { clusters: Array<{ cluster: { server: string } }> };
  for (const c of exported.clusters) c.cluster.server = server;
  return JSON.stringify(exported);
}

export interface SwitchProxy {
  url: string;
  port: number;
  /** Resets every connection and every new one until up(). */
  down(): void;
  up(): void;
  stop(): Promise<void>;
}

/** A TCP proxy in front of 127.0.0.1:`targetPort` (TLS passes through untouched). */
export async function startSwitchProxy(targetPort: number): Promise<SwitchProxy> {
  const sockets = new Set<net.Socket>();
  let isDown = false;
  const server = net.createServer((client) => {
    if (isDown) return void client.resetAndDestroy();
    const upstream = net.connect(targetPort, "127.0.0.1");
    sockets.add(client).add(upstream);
    const drop = () => {
      sockets.delete(client);
      sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    down() {
      isDown = true;
      for (const s of sockets) s.resetAndDestroy();
      sockets.clear();
    },
    up() {
      isDown = false;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
