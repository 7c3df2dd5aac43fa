/**
 * The WasmPlugins of a `--plugins` directory, running in the local sidecar as istiod +
 * istio-agent + Envoy would run them for one workload (labels, namespace):
 *
 * - Placement: per listener, istiod's plan (k8s/wasmplugin/plan.ts) decides which plugins run and
 *   in which order; the sidecar puts them before the listener's stateful_session / router filters.
 * - Modules: `oci://` (also a URL without a scheme) and `http(s)://` through istio-agent's cache
 *   (module-cache.ts), `file://` read directly (Envoy's local filename; `sha256` ignored). With
 *   `pullSecretsDir`, a plugin's `imagePullSecret` is resolved there (pull-secrets.ts: its
 *   credentials for OCI, or the agent's "missing image pulling secret" failure). A failed
 *   fetch is replaced as Istio >= 1.25 replaces it: FAIL_OPEN an allow-all filter (the plugin is
 *   skipped), FAIL_CLOSE / FAIL_RELOAD a deny-all (403, gRPC PERMISSION_DENIED), logged as
 *   istio-agent logs it and counted in `wasm_config_conversion_count{result}`.
 * - Plugins: each becomes Envoy's ECDS PluginConfig (plan.ts envoyPluginConfig) run by the
 *   proxy-wasm host, with the VM environment istiod and the agent give it (vm-environment.ts).
 *   The plugin made at load checks the configuration; each listener direction then gets its own
 *   plugin on the same VMs (host forListenerDirection), as Envoy builds a filter configuration,
 *   so a root context, per listener: `xds.listener_direction` is that listener's in the root
 *   context too (a root that fails to configure for a direction leaves that direction's streams
 *   on the load-time plugin, logged). The load-time plugin is closed once the first listener's
 *   plugin exists, so no root without a listener keeps timers or calls running. A
 *   plugin whose on_vm_start / on_configure returns false is rejected as Envoy NACKs ECDS
 *   (`config_fail`): one that had a configuration keeps it (the update is rejected); one that
 *   never had one — at start-up, or added by the update — runs as Envoy's MissingConfigFilter
 *   (every stream 500, NFCF; gRPC UNKNOWN), whatever its failStrategy. Another load failure
 *   follows the failure policy as for a bootstrap Wasm filter (FAIL_OPEN skipped, else 503
 *   wasm_fail_stream).
 * - Updates (`reload()`, and the directory watcher): the whole directory is read again; a plugin
 *   whose module, configuration, root id and policy are unchanged keeps its instance (a change of
 *   `vmConfig.env` alone changes nothing: the environment is in neither Envoy's VM key nor its
 *   plugin key);
 *   a changed one gets a new instance (a new root context, a new VM when the module changed) and
 *   the old one drains: streams that started on it finish on it, then it is closed. An invalid
 *   directory or a rejected plugin leaves the running set untouched (logged, `config_fail`).
 *   ECDS stats: `extension_config_discovery.http_filter.<filter name>.config_reload|config_fail`.
 */
import { createHash } from "node:crypto";
import { watch, type FSWatcher } from "node:fs";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { UserError } from "../../errors.ts";
import {
  DEFAULT_ROOT_NAMESPACE, envoyFilterName, envoyPluginConfig, planFilterChain, resourceName, workloadMismatch,
  type ExtensionPlugin, type ListenerClass, type Workload,
} from "../../k8s/wasmplugin/index.ts";
import type { WasmPluginConfig } from "../config/model.ts";
import { HeadersStatus, PassThroughFilter, type StreamFilterFactory } from "../http/filter.ts";
import type { HeaderMap } from "../http/header-map.ts";
import { LogLevel } from "../host/abi.ts";
import type { HostEnvironment } from "../host/api.ts";
import { failStreamReply, PluginLoadError } from "../host/failure.ts";
import { createPlugin, forListenerDirection, type Plugin } from "../host/plugin.ts";
import type { StatsStore } from "../stats/types.ts";
import { AgentMetrics } from "./agent-metrics.ts";
import { fallbackFilterFactory, missingConfigFilterFactory } from "./fallback-filters.ts";
import type { CredentialResolver } from "../../oci/index.ts";
import type { HttpFetchOptions } from "./http-fetcher.ts";
import { ModuleCache, type CachedModule } from "./module-cache.ts";
import { readPluginDirectory } from "./plugin-directory.ts";
import { PluginInstance, type InstanceInfo } from "./plugin-instance.ts";
import type { PluginSource } from "./plugin-source.ts";
import { readPullSecret } from "./pull-secrets.ts";
import { vmEnvironment } from "./vm-environment.ts";

export interface WasmPluginsOptions {
  /** Directory of WasmPlugin manifests (unless `source` is given). */
  dir?: string;
  /** Another source of the resources (an API server: cluster-source.ts), watched instead of `dir`. */
  source?: PluginSource;
  /** The workload's labels (selector matching). */
  labels?: Record<string, string>;
  /** The workload's namespace, also the namespace of manifests without one; default "default". */
  namespace?: string;
  /** meshConfig.rootNamespace; default istio-system. */
  rootNamespace?: string;
  /** Where fetched modules are written (istio-agent: /var/lib/istio/data); default memory only. */
  cacheDir?: string;
  /** Registries allowed over plain HTTP (WASM_INSECURE_REGISTRIES; "*" for all). */
  insecureRegistries?: string[];
  /**
   * Directory of `<name>.json` dockerconfigjson files, the Secrets `imagePullSecret` names
   * (pull-secrets.ts). Without it, `imagePullSecret` is not resolved: the default keychain.
   */
  pullSecretsDir?: string;
  http?: HttpFetchOptions;
  ociTimeoutMs?: number;
  /** Watch the directory and reload on change; default true. */
  watch?: boolean;
  /** Quiet time after the last change before reloading; default 100 ms. */
  debounceMs?: number;
  /** Environment for `valueFrom: HOST`; default process.env. */
  hostEnv?: Record<string, string | undefined>;
  /** Share a cache (and its metrics) between sidecars in one process. */
  cache?: { modules: ModuleCache; metrics: AgentMetrics };
}

/** What the plan needs to know about a listener. */
export interface ListenerBinding {
  name: string;
  class: ListenerClass;
  port: number;
  statPrefix: string;
}

export interface ReloadOutcome {
  generation: number;
  ok: boolean;
  error?: string;
  /** Resource names (`<ns>.<name>`) of the plugins that apply to the workload. */
  plugins: string[];
}

interface Generation {
  number: number;
  plugins: ExtensionPlugin[];
  instances: Map<string, PluginInstance>;
}

interface Deps {
  host: HostEnvironment;
  stats: StatsStore;
  log(level: LogLevel, line: string): void;
}

/** Every request gets the Wasm fail-closed reply (a plugin that could not load). */
class FailClosedFilter extends PassThroughFilter {
  override decodeHeaders(_h: HeaderMap, _e: boolean): HeadersStatus {
    this.decoderCallbacks.sendLocalReply(failStreamReply());
    return HeadersStatus.StopIteration;
  }
}

class CanaryRejected extends Error {}

const sha256 = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex");

/** The plugin's URL with istiod's default scheme (oci://). */
const moduleUrl = (p: ExtensionPlugin) => (/^[a-z][a-z0-9+.-]*:\/\//i.test(p.url) ? p.url : `oci://${p.url}`);
const isFileUrl = (url: string) => url.toLowerCase().startsWith("file://");

/** The traffic_direction of a listener of `cls` (the sidecar classes its listeners by it). */
const directionOf = (cls: ListenerClass): number => (cls === "SIDECAR_INBOUND" ? 1 : cls === "SIDECAR_OUTBOUND" ? 2 : 0);

export class WasmPluginSet {
  readonly metrics: AgentMetrics;
  private readonly cache: ModuleCache;
  private readonly ownCache: boolean;
  private readonly workload: Workload;
  private current: Generation = { number: 0, plugins: [], instances: new Map() };
  private readonly chains = new WeakMap<ListenerBinding, { generation: number; factories: StreamFilterFactory[] }>();
  private watcher?: FSWatcher;
  private stopSource?: () => void;
  private timer?: NodeJS.Timeout;
  private queue: Promise<unknown> = Promise.resolve();
  private waiters: Array<(o: ReloadOutcome) => void> = [];
  private closed = false;

  private constructor(private readonly opts: WasmPluginsOptions, private readonly deps: Deps) {
    this.workload = { namespace: opts.namespace ?? "default", labels: opts.labels ?? {}, rootNamespace: opts.rootNamespace ?? DEFAULT_ROOT_NAMESPACE };
    this.ownCache = !opts.cache;
    this.metrics = opts.cache?.metrics ?? new AgentMetrics();
    this.cache = opts.cache?.modules ?? new ModuleCache({
      metrics: this.metrics,
      ...(opts.cacheDir ? { dir: opts.cacheDir } : {}),
      ...(opts.http ? { http: opts.http } : {}),
      oci: { insecureRegistries: opts.insecureRegistries ?? [], ...(opts.ociTimeoutMs ? { timeoutMs: opts.ociTimeoutMs } : {}) },
    });
  }

  /** Loads the directory (throws UserError on an invalid one or a rejected plugin) and starts watching. */
  static async start(opts: WasmPluginsOptions, deps: Deps): Promise<WasmPluginSet> {
    const set = new WasmPluginSet(opts, deps);
    try {
      const plugins = await set.readResources();
      set.current = await set.load(plugins, 1);
    } catch (e) {
      set.cache.close();
      if (e instanceof CanaryRejected) throw new UserError(e.message, { cause: e });
      throw e;
    }
    if (opts.watch !== false) set.startWatching();
    return set;
  }

  get generation(): number {
    return this.current.number;
  }

  /** The plugin filters of a listener, in chain order (recomputed after each update). */
  chainFor(binding: ListenerBinding): StreamFilterFactory[] {
    const cached = this.chains.get(binding);
    if (cached && cached.generation === this.current.number) return cached.factories;
    const gen = this.current;
    const factories: StreamFilterFactory[] = [];
    for (const p of planFilterChain(gen.plugins, this.workload, { class: binding.class, port: binding.port })) {
      const inst = gen.instances.get(resourceName(p));
      const f = inst?.filterFactory(binding.statPrefix, directionOf(binding.class));
      if (f) factories.push(f);
    }
    this.chains.set(binding, { generation: gen.number, factories });
    return factories;
  }

  /** Every instance, current and draining (a drained instance is closed and forgotten). */
  instances(): InstanceInfo[] {
    const out: InstanceInfo[] = [];
    for (const inst of this.all) {
      const info = inst.info();
      if (info.state === "closed") this.all.delete(inst);
      else out.push(info);
    }
    return out;
  }

  private readonly all = new Set<PluginInstance>();

  /** Re-reads the directory and applies it (serialized with other reloads). */
  reload(): Promise<ReloadOutcome> {
    const run = this.queue.then(() => this.reloadNow());
    this.queue = run.catch(() => {});
    return run;
  }

  /** Resolves with the outcome of the next reload (e.g. one the watcher triggers). */
  nextReload(): Promise<ReloadOutcome> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private async reloadNow(): Promise<ReloadOutcome> {
    const number = this.current.number + 1;
    let outcome: ReloadOutcome;
    try {
      const plugins = await this.readResources();
      if (this.closed) throw new Error("closed");
      const next = await this.load(plugins, number);
      const previous = this.current;
      this.current = next;
      const kept = new Set(next.instances.values());
      for (const inst of previous.instances.values()) if (!kept.has(inst)) inst.retire();
      this.instances();
      outcome = { generation: number, ok: true, plugins: [...next.instances.keys()] };
      this.deps.log(LogLevel.Info, `wasm plugins: applied ${this.opts.source?.name ?? this.opts.dir} (generation ${number}: ${outcome.plugins.join(", ") || "none"})`);
    } catch (e) {
      const error = (e as Error).message;
      outcome = { generation: this.current.number, ok: false, error, plugins: [...this.current.instances.keys()] };
      this.deps.log(LogLevel.Error, `wasm plugins: update rejected, keeping generation ${this.current.number}: ${error}`);
    }
    for (const w of this.waiters.splice(0)) w(outcome);
    return outcome;
  }

  /** Builds a generation from manifests: fetch, configure, reuse unchanged instances. */
  private async load(plugins: ExtensionPlugin[], number: number): Promise<Generation> {
    const applicable: ExtensionPlugin[] = [];
    for (const p of plugins) {
      const why = workloadMismatch(p, this.workload);
      if (why === null) applicable.push(p);
      else this.deps.log(LogLevel.Debug, `wasm plugins: ${resourceName(p)} (${p.source}) does not apply: ${why}`);
    }
    const modules = await Promise.all(applicable.map((p) => this.fetchModule(p)));
    const instances = new Map<string, PluginInstance>();
    const created: PluginInstance[] = [];
    try {
      for (const [i, p] of applicable.entries()) {
        const inst = await this.instanceFor(p, modules[i]!, number, created);
        instances.set(resourceName(p), inst);
      }
    } catch (e) {
      for (const inst of created) void inst.close();
      for (const p of applicable) this.deps.stats.counter(`extension_config_discovery.http_filter.${envoyFilterName(p)}.config_fail`).inc();
      throw e;
    }
    for (const inst of created) this.all.add(inst);
    for (const [name, inst] of instances) {
      if (created.includes(inst) && inst.kind !== "missing_config") {
        const p = applicable.find((x) => resourceName(x) === name)!;
        this.deps.stats.counter(`extension_config_discovery.http_filter.${envoyFilterName(p)}.config_reload`).inc();
      }
    }
    return { number, plugins: applicable, instances };
  }

  /** The module of a plugin, or the fetch error (istio-agent's conversion). */
  private async fetchModule(p: ExtensionPlugin): Promise<{ module?: CachedModule & { source: string }; error?: string }> {
    const url = moduleUrl(p);
    if (isFileUrl(url)) {
      this.metrics.configConversion("no_remote_load");
      try {
        const file = fileURLToPath(url);
        const wasm = new Uint8Array(await readFile(file));
        return { module: { wasm, checksum: sha256(wasm), source: file } };
      } catch (e) {
        return { error: `cannot read Wasm file ${url}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}` };
      }
    }
    const failed = (message: string) => {
      this.metrics.configConversion("fetch_failure");
      const failOpen = p.failStrategy === "FAIL_OPEN";
      this.deps.log(LogLevel.Error, `wasm plugins: ${resourceName(p)}: error in converting the wasm config to local: ${message}. applying ${failOpen ? "allow" : "deny"} RBAC filter`);
      return {};
    };
    let auth: CredentialResolver | undefined;
    if (p.imagePullSecret !== "") {
      if (this.opts.pullSecretsDir === undefined && !this.opts.source?.pullSecret) {
        this.deps.log(LogLevel.Info, `wasm plugins: ${resourceName(p)}: imagePullSecret ${p.imagePullSecret} is not resolved without --pull-secrets; pulling with the default keychain`);
      } else {
        const secret = this.opts.source?.pullSecret ? await this.opts.source.pullSecret(p.namespace, p.imagePullSecret) : await readPullSecret(this.opts.pullSecretsDir!, p.imagePullSecret);
        if (!secret) return failed(`cannot fetch Wasm module ${resourceName(p)}: missing image pulling secret`);
        auth = secret.resolver;
      }
    }
    try {
      const m = await this.cache.get(url, { checksum: p.sha256, resourceName: resourceName(p), resourceVersion: p.resourceVersion, pullPolicy: p.imagePullPolicy, ...(auth ? { auth } : {}) });
      this.metrics.configConversion("success");
      return { module: { ...m, source: m.file ?? url } };
    } catch (e) {
      return failed((e as Error).message);
    }
  }

  private async instanceFor(p: ExtensionPlugin, fetched: { module?: CachedModule & { source: string }; error?: string }, number: number, created: PluginInstance[]): Promise<PluginInstance> {
    const name = resourceName(p);
    const previous = this.current.instances.get(name);
    const envoy = envoyPluginConfig(p);
    const make = (inst: PluginInstance) => (created.push(inst), inst);
    if (!fetched.module && !fetched.error) {
      // A failed remote fetch: istio-agent's RBAC filter in place of the plugin.
      const failOpen = p.failStrategy === "FAIL_OPEN";
      const key = `fallback:${failOpen ? "allow" : "deny"}`;
      if (previous?.key === key) return previous;
      const stats = this.deps.stats;
      return make(new PluginInstance(name, number, failOpen ? "allow" : "deny", key, (prefix) => fallbackFilterFactory(failOpen, stats, prefix)));
    }
    const environmentVariables = vmEnvironment(p, !isFileUrl(moduleUrl(p)), this.opts.hostEnv ?? process.env);
    const code = fetched.module?.wasm ?? new Uint8Array(0);
    const config: WasmPluginConfig = {
      name: envoy.name,
      rootId: envoy.rootId,
      vmId: envoy.vmId,
      runtime: "envoy.wasm.runtime.v8",
      code,
      codeSource: fetched.module?.source ?? p.url,
      vmConfiguration: new Uint8Array(0),
      configuration: envoy.configuration,
      environmentVariables,
      failurePolicy: envoy.failurePolicy,
      reloadBackoffBaseMs: 1000,
      allowOnHeadersStopIteration: false,
    };
    // The environment is in neither Envoy's VM key nor its plugin key (envoy#40881): an env-only
    // change keeps the plugin, and the VM keeps the environment it was created with.
    const key = sha256(JSON.stringify([sha256(code), Buffer.from(envoy.configuration).toString("base64"), envoy.rootId, envoy.failurePolicy, fetched.error ?? ""]));
    if (previous?.key === key) return previous;
    if (fetched.error) {
      return make(this.loadFailure(p, name, number, key, new PluginLoadError(envoy.name, p.url, fetched.error)));
    }
    try {
      const plugin = await createPlugin(config, this.deps.host);
      const byDirection = new Map<number, Plugin>();
      // The plugin made at load only checks the configuration: once a listener's own plugin
      // exists it is closed (on_done, on_delete), so its root's timers and calls do not run
      // beside the listeners' roots. One a listener fell back to stays.
      let loadTimePlugin: "open" | "serving" | "closed" = "open";
      const pluginFor = (direction: number): Plugin => {
        let p = byDirection.get(direction);
        if (p === undefined) {
          try {
            p = forListenerDirection(plugin, direction);
            if (loadTimePlugin === "open") {
              loadTimePlugin = "closed";
              void plugin.close();
            }
          } catch (e) {
            const fallback = loadTimePlugin === "closed" ? byDirection.values().next().value : undefined;
            this.deps.log(LogLevel.Error, `${name}: ${(e as Error).message}; listeners of direction ${direction} use ${fallback ? "another listener's plugin" : "the plugin made at load"}`);
            if (fallback === undefined) loadTimePlugin = "serving";
            p = fallback ?? plugin;
          }
          byDirection.set(direction, p);
        }
        return p;
      };
      const factory = (_statPrefix: string, direction: number) => {
        const p = pluginFor(direction);
        return () => p.createFilter();
      };
      return make(new PluginInstance(name, number, "wasm", key, factory, () => [plugin, ...byDirection.values()]));
    } catch (e) {
      if (!(e instanceof PluginLoadError)) throw e;
      if (/returned false\b/.test(e.reason)) {
        // Envoy NACKs the configuration: a filter that had one keeps it (the whole update is
        // rejected here); one that never had one runs without it (MissingConfigFilter).
        if (previous && previous.kind !== "missing_config") throw new CanaryRejected(`${p.source}: ${e.message}`);
        return make(this.missingConfig(p, name, number, key, e));
      }
      return make(this.loadFailure(p, name, number, key, e));
    }
  }

  /** A plugin whose first configuration was rejected: counted (config_fail), every stream 500 NFCF. */
  private missingConfig(p: ExtensionPlugin, name: string, number: number, key: string, e: PluginLoadError): PluginInstance {
    this.deps.stats.counter(`extension_config_discovery.http_filter.${envoyFilterName(p)}.config_fail`).inc();
    this.deps.log(LogLevel.Error, `${p.source}: ${e.message}; the configuration is rejected and the filter has none: every request is answered 500 (NFCF; gRPC UNKNOWN)`);
    return new PluginInstance(name, number, "missing_config", key, () => missingConfigFilterFactory());
  }

  private loadFailure(p: ExtensionPlugin, name: string, number: number, key: string, e: PluginLoadError): PluginInstance {
    if (p.failStrategy === "FAIL_OPEN") {
      this.deps.log(LogLevel.Warn, `${p.source}: ${e.message}; fail_open: the filter is skipped`);
      return new PluginInstance(name, number, "skipped", key, undefined);
    }
    this.deps.log(LogLevel.Warn, `${p.source}: ${e.message}; every request is answered 503 (wasm_fail_stream)`);
    return new PluginInstance(name, number, "wasm", key, () => () => new FailClosedFilter());
  }

  /** The resources of the source, or of the directory. */
  private readResources(): Promise<ExtensionPlugin[]> {
    return this.opts.source ? this.opts.source.read() : readPluginDirectory(this.opts.dir!, this.workload.namespace);
  }

  private startWatching(): void {
    const schedule = () => {
      if (this.closed) return;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.reload(), this.opts.debounceMs ?? 100);
    };
    if (this.opts.source) {
      this.stopSource = this.opts.source.watch(schedule);
      return;
    }
    try {
      this.watcher = watch(this.opts.dir!, { persistent: false }, schedule);
      this.watcher.on("error", (e) => this.deps.log(LogLevel.Error, `wasm plugins: watching ${this.opts.dir}: ${e.message}`));
    } catch (e) {
      this.deps.log(LogLevel.Error, `wasm plugins: cannot watch ${this.opts.dir}: ${(e as Error).message}`);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.watcher?.close();
    this.stopSource?.();
    await this.queue;
    await Promise.allSettled([...this.all].map((i) => i.close()));
    if (this.ownCache) this.cache.close();
  }
}
