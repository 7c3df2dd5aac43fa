/**
 * `meshwasm sidecar --kubeconfig … --watch`: the sidecar follows the WasmPlugins (and Wasm
 * TrafficExtensions, where the API server serves them) of its namespace and of the root
 * namespace in an API server, as istiod watches them and pushes them to the workload's proxy
 * (selector against `--labels`, placement, modules pulled as istio-agent pulls them: plugin-set.ts).
 *
 * Per namespace and kind: list, then watch from the list's resourceVersion (bookmarks on, a
 * server-side timeout so the watch is renewed regularly); every event updates the cache and
 * signals a change. A watch that ends is renewed from the last resourceVersion seen; an error
 * (the API server going away, 410 Gone) relists after a back-off (1 s doubling to 30 s), logged
 * once per outage; the plugins in place stay until a new list says otherwise. The first list must
 * succeed: an unreachable server or refused credentials at start is a one-line error.
 *
 * `imagePullSecret` is resolved as istiod resolves it: the Secret of that name in the plugin's
 * namespace, its `.dockerconfigjson` handed to the pull (a missing Secret is istio-agent's
 * "missing image pulling secret"). Secret contents never reach a log.
 */
import { ApiException, CoreV1Api, KubernetesObjectApi, Watch, type KubernetesObject } from "@kubernetes/client-node";
import { UserError } from "../../errors.ts";
import { withRetries } from "../../k8s/cluster/client.ts";
import { describeApiFailure } from "../../k8s/cluster/errors.ts";
import type { ClusterTarget } from "../../k8s/cluster/kubeconfig.ts";
import { ManifestError, parseManifests, readExtensionPlugin, type ExtensionPlugin } from "../../k8s/wasmplugin/index.ts";
import { dockerConfigKeychain } from "../../oci/index.ts";
import type { PluginSource } from "./plugin-source.ts";
import type { PullSecret } from "./pull-secrets.ts";

const GROUP_VERSION = "extensions.istio.io/v1alpha1";
const KINDS = [
  { kind: "WasmPlugin", plural: "wasmplugins" },
  { kind: "TrafficExtension", plural: "trafficextensions" },
] as const;

export interface ClusterSourceOptions {
  target: ClusterTarget;
  /** The workload's namespace and the root namespace (istio-system). */
  namespaces: string[];
  log: (level: "info" | "warn" | "error", line: string) => void;
  /** Back-off after a failure, first step (default 1 s). */
  retryMs?: number;
}

interface Stream {
  namespace: string;
  kind: string;
  plural: string;
  objects: Map<string, KubernetesObject>;
  resourceVersion?: string;
  abort?: AbortController;
  timer?: NodeJS.Timeout;
  failing: boolean;
  backoff: number;
}

export class ClusterPluginSource implements PluginSource {
  readonly name: string;
  private readonly objects: KubernetesObjectApi;
  private readonly core: CoreV1Api;
  private readonly streams: Stream[] = [];
  private onChange?: () => void;
  private stopped = false;

  private constructor(private readonly opts: ClusterSourceOptions) {
    this.objects = KubernetesObjectApi.makeApiClient(opts.target.kc);
    this.core = opts.target.kc.makeApiClient(CoreV1Api);
    this.name = `${opts.target.server} (context ${opts.target.context}, namespaces ${opts.namespaces.join(", ")})`;
  }

  /** Lists every namespace and kind once (a one-line UserError when that fails). */
  static async start(opts: ClusterSourceOptions): Promise<ClusterPluginSource> {
    const source = new ClusterPluginSource(opts);
    for (const namespace of [...new Set(opts.namespaces)]) {
      for (const k of KINDS) {
        const stream: Stream = { namespace, kind: k.kind, plural: k.plural, objects: new Map(), failing: false, backoff: opts.retryMs ?? 1000 };
        const served = await source.list(stream, true);
        if (served) source.streams.push(stream);
      }
    }
    return source;
  }

  private where() {
    return { server: this.opts.target.server, context: this.opts.target.context };
  }

  /** Lists a stream; false when the kind is not served (TrafficExtension before Istio 1.30). */
  private async list(stream: Stream, first: boolean): Promise<boolean> {
    try {
      const list = await withRetries(() => this.objects.list(GROUP_VERSION, stream.kind, stream.namespace));
      stream.objects = new Map(list.items.map((o) => [o.metadata?.name ?? "", o]));
      stream.resourceVersion = list.metadata?.resourceVersion;
      return true;
    } catch (e) {
      if (stream.kind === "TrafficExtension" && (e instanceof ApiException ? e.code === 404 : /not (found|served)|resource/i.test(String((e as Error).message)))) return false;
      const error = describeApiFailure(e, `listing ${stream.kind}s in ${stream.namespace}`, this.where());
      if (first) throw new UserError(`--watch: ${error.message}`, { cause: e });
      throw error;
    }
  }

  async read(): Promise<ExtensionPlugin[]> {
    const out: ExtensionPlugin[] = [];
    for (const s of this.streams) {
      for (const o of [...s.objects.values()].sort((a, b) => ((a.metadata?.name ?? "") < (b.metadata?.name ?? "") ? -1 : 1))) {
        const where = `${s.kind} ${s.namespace}/${o.metadata?.name}`;
        const { status: _status, ...body } = o as KubernetesObject & { status?: unknown };
        try {
          const p = readExtensionPlugin(parseManifests(JSON.stringify({ ...body, apiVersion: GROUP_VERSION, kind: s.kind }), where)[0]!, s.namespace);
          if (p) out.push(p);
        } catch (e) {
          // The API server accepted it; a stricter local reading is logged and the object skipped, as istiod skips what it cannot convert.
          this.opts.log("warn", `wasm plugins: ${where} skipped: ${e instanceof ManifestError ? e.message : (e as Error).message}`);
        }
      }
    }
    return out;
  }

  watch(onChange: () => void): () => void {
    this.onChange = onChange;
    for (const s of this.streams) void this.follow(s);
    return () => this.stop();
  }

  private async follow(stream: Stream): Promise<void> {
    if (this.stopped) return;
    const path = `/apis/${GROUP_VERSION}/namespaces/${stream.namespace}/${stream.plural}`;
    const watch = new Watch(this.opts.target.kc);
    try {
      stream.abort = await watch.watch(
        path,
        { resourceVersion: stream.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 25 },
        (type: string, object: KubernetesObject & { code?: number }) => {
          if (type === "ERROR") return; // 410 Gone and friends: the watch ends and is renewed with a fresh list
          const rv = object?.metadata?.resourceVersion;
          if (rv) stream.resourceVersion = rv;
          if (type === "BOOKMARK") return;
          const name = object?.metadata?.name ?? "";
          if (type === "DELETED") stream.objects.delete(name);
          else stream.objects.set(name, object);
          this.onChange?.();
        },
        (err: unknown) => void this.renew(stream, err),
      );
    } catch (e) {
      void this.renew(stream, e);
    }
  }

  /** After a watch ended: renew it; after an error, relist with back-off. */
  private async renew(stream: Stream, err: unknown): Promise<void> {
    if (this.stopped) return;
    if (!err && !stream.failing) return void this.follow(stream);
    stream.timer = setTimeout(async () => {
      try {
        await this.list(stream, false);
        if (stream.failing) this.opts.log("info", `wasm plugins: ${stream.kind}s in ${stream.namespace}: the API server is back`);
        stream.failing = false;
        stream.backoff = this.opts.retryMs ?? 1000;
        this.onChange?.();
        void this.follow(stream);
      } catch (e) {
        if (!stream.failing) this.opts.log("warn", `wasm plugins: ${(e as Error).message}; keeping the plugins in place and retrying`);
        stream.failing = true;
        stream.backoff = Math.min(stream.backoff * 2, 30_000);
        void this.renew(stream, e);
      }
    }, err ? stream.backoff : 0);
    stream.timer.unref?.();
  }

  async pullSecret(namespace: string, name: string): Promise<PullSecret | undefined> {
    const file = `secret ${namespace}/${name}`;
    let secret;
    try {
      secret = await withRetries(() => this.core.readNamespacedSecret({ name, namespace }));
    } catch (e) {
      if (e instanceof ApiException && e.code === 404) return undefined;
      const message = describeApiFailure(e, `reading ${file}`, this.where()).message;
      return { file, resolver: async () => Promise.reject(new Error(message)) };
    }
    const encoded = secret.data?.[".dockerconfigjson"];
    if (secret.type !== "kubernetes.io/dockerconfigjson" || !encoded) return undefined;
    try {
      return { file, resolver: dockerConfigKeychain(Buffer.from(encoded, "base64").toString("utf8"), file) };
    } catch (e) {
      const message = (e as Error).message;
      return { file, resolver: async () => Promise.reject(new Error(message)) };
    }
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.streams) {
      clearTimeout(s.timer);
      s.abort?.abort();
    }
  }
}
