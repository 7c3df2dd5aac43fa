/**
 * The manager's I/O with the API server, through @kubernetes/client-node 1.x: the few calls the
 * planning code needs (who am I, namespaces, secrets, pods, workloads, WasmPlugins and
 * TrafficExtensions, ConfigMaps), each turned into a one-line UserError on failure
 * (errors.ts). Writes of plugin objects are server-side apply with field manager `meshwasm`
 * (`force` takes over fields another manager owns), optionally as a server-side dry run.
 */
import {
  ApiException, AppsV1Api, AuthenticationV1Api, CoreV1Api, KubernetesObjectApi, PatchStrategy,
  type KubernetesObject, type V1ConfigMap, type V1LabelSelector, type V1Pod, type V1Secret,
} from "@kubernetes/client-node";
import { describeApiFailure } from "./errors.ts";
import { loadClusterTarget, type ClusterTarget, type KubeconfigOptions } from "./kubeconfig.ts";

export const FIELD_MANAGER = "meshwasm";

export interface WorkloadInfo {
  kind: "Deployment" | "StatefulSet" | "DaemonSet";
  name: string;
  /** Labels of its pod template. */
  templateLabels: Record<string, string>;
  /** spec.selector.matchLabels (empty when absent). */
  matchLabels: Record<string, string>;
  /** True when spec.selector also has matchExpressions (not expressible in a WasmPlugin selector). */
  hasExpressions: boolean;
}

export type LiveObject = KubernetesObject & { spec?: Record<string, unknown> };

export class Cluster {
  readonly objects: KubernetesObjectApi;
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;

  constructor(readonly target: ClusterTarget) {
    this.objects = KubernetesObjectApi.makeApiClient(target.kc);
    this.core = target.kc.makeApiClient(CoreV1Api);
    this.apps = target.kc.makeApiClient(AppsV1Api);
  }

  static connect(opts: KubeconfigOptions): Cluster {
    return new Cluster(loadClusterTarget(opts));
  }

  get where(): { server: string; context: string } {
    return { server: this.target.server, context: this.target.context };
  }

  /** Runs one API call; any failure becomes a one-line UserError saying what was being done. */
  async call<T>(action: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await withRetries(fn);
    } catch (e) {
      throw describeApiFailure(e, action, this.where);
    }
  }

  /** Like call, but a 404 is `undefined`. */
  private async maybe<T>(action: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await withRetries(fn);
    } catch (e) {
      if (e instanceof ApiException && e.code === 404) return undefined;
      throw describeApiFailure(e, action, this.where);
    }
  }

  /** The authenticated user's name (SelfSubjectReview), else the kubeconfig user entry's. */
  async whoami(): Promise<string> {
    const auth = this.target.kc.makeApiClient(AuthenticationV1Api);
    try {
      const review = await auth.createSelfSubjectReview({ body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" } });
      return review.status?.userInfo?.username ?? this.target.user;
    } catch (e) {
      if (e instanceof ApiException && (e.code === 404 || e.code === 403)) return this.target.user;
      throw describeApiFailure(e, "asking the API server who the user is", this.where);
    }
  }

  async namespaceExists(namespace: string): Promise<boolean> {
    return (await this.maybe(`reading namespace ${namespace}`, () => this.core.readNamespace({ name: namespace }))) !== undefined;
  }

  readSecret(namespace: string, name: string): Promise<V1Secret | undefined> {
    return this.maybe(`reading secret ${namespace}/${name}`, () => this.core.readNamespacedSecret({ name, namespace }));
  }

  async listPods(namespace: string, labelSelector?: string): Promise<V1Pod[]> {
    const list = await this.call(`listing pods in ${namespace}`, () => this.core.listNamespacedPod({ namespace, ...(labelSelector ? { labelSelector } : {}) }));
    return list.items;
  }

  async listWorkloads(namespace: string): Promise<WorkloadInfo[]> {
    const info = (kind: WorkloadInfo["kind"], o: { metadata?: { name?: string }; spec?: { selector?: V1LabelSelector; template?: { metadata?: { labels?: Record<string, string> } } } }): WorkloadInfo => ({
      kind,
      name: o.metadata?.name ?? "",
      templateLabels: o.spec?.template?.metadata?.labels ?? {},
      matchLabels: o.spec?.selector?.matchLabels ?? {},
      hasExpressions: (o.spec?.selector?.matchExpressions?.length ?? 0) > 0,
    });
    const [d, s, ds] = await Promise.all([
      this.call(`listing deployments in ${namespace}`, () => this.apps.listNamespacedDeployment({ namespace })),
      this.call(`listing statefulsets in ${namespace}`, () => this.apps.listNamespacedStatefulSet({ namespace })),
      this.call(`listing daemonsets in ${namespace}`, () => this.apps.listNamespacedDaemonSet({ namespace })),
    ]);
    return [...d.items.map((o) => info("Deployment", o)), ...s.items.map((o) => info("StatefulSet", o)), ...ds.items.map((o) => info("DaemonSet", o))]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.kind < b.kind ? -1 : 1));
  }

  read(apiVersion: string, kind: string, namespace: string, name: string): Promise<LiveObject | undefined> {
    return this.maybe(`reading ${kind} ${namespace}/${name}`, () => this.objects.read<LiveObject>({ apiVersion, kind, metadata: { name, namespace } }));
  }

  async list(apiVersion: string, kind: string, namespace: string, labelSelector?: string): Promise<LiveObject[]> {
    const list = await this.call(`listing ${kind}s in ${namespace}`, () =>
      this.objects.list<LiveObject>(apiVersion, kind, namespace, undefined, undefined, undefined, undefined, labelSelector));
    return list.items;
  }

  /** Server-side apply (field manager meshwasm); `dryRun` asks the server to change nothing. */
  apply<T extends KubernetesObject>(object: T, opts: { dryRun?: boolean; force?: boolean } = {}): Promise<T> {
    const action = `${opts.dryRun ? "dry-run applying" : "applying"} ${object.kind} ${object.metadata?.namespace}/${object.metadata?.name}`;
    return this.call(action, () => this.objects.patch<T>(object, undefined, opts.dryRun ? "All" : undefined, FIELD_MANAGER, opts.force === true, PatchStrategy.ServerSideApply));
  }

  /** Deletes an object; false when it was already gone. */
  async delete(apiVersion: string, kind: string, namespace: string, name: string, opts: { dryRun?: boolean } = {}): Promise<boolean> {
    const done = await this.maybe(`deleting ${kind} ${namespace}/${name}`, () =>
      this.objects.delete({ apiVersion, kind, metadata: { name, namespace } }, undefined, opts.dryRun ? "All" : undefined));
    return done !== undefined;
  }

  readConfigMap(namespace: string, name: string): Promise<V1ConfigMap | undefined> {
    return this.maybe(`reading configmap ${namespace}/${name}`, () => this.core.readNamespacedConfigMap({ name, namespace }));
  }

  createConfigMap(namespace: string, body: V1ConfigMap): Promise<V1ConfigMap> {
    return this.call(`creating configmap ${namespace}/${body.metadata?.name}`, () => this.core.createNamespacedConfigMap({ namespace, body }));
  }

  /** Replaces a ConfigMap; its metadata.resourceVersion makes the write conditional (409 if it moved). */
  replaceConfigMap(namespace: string, body: V1ConfigMap): Promise<V1ConfigMap> {
    return this.call(`updating configmap ${namespace}/${body.metadata?.name}`, () => this.core.replaceNamespacedConfigMap({ name: body.metadata!.name!, namespace, body }));
  }

  async deleteConfigMap(namespace: string, name: string): Promise<boolean> {
    return (await this.maybe(`deleting configmap ${namespace}/${name}`, () => this.core.deleteNamespacedConfigMap({ name, namespace }))) !== undefined;
  }
}

/**
 * Retries what the API server asks to be retried, as client-go does: 429 Too Many Requests (API
 * priority and fairness, or storage still initializing just after start) after its Retry-After
 * (at most 2 s each, 5 attempts). Every call made here is idempotent (reads, server-side apply,
 * deletes, and ConfigMap writes conditional on a resourceVersion).
 */
export async function withRetries<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof ApiException) || e.code !== 429 || attempt >= 5) throw e;
      const after = Number((e.headers as Record<string, string> | undefined)?.["retry-after"] ?? 1);
      await new Promise((r) => setTimeout(r, Math.min(2, Number.isFinite(after) && after > 0 ? after : 1) * 1000));
    }
  }
}

/** `a=b,c=d` for a label map (sorted keys). */
export function labelSelector(labels: Record<string, string>): string {
  return Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(",");
}
