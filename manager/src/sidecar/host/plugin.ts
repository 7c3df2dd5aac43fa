/**
 * Plugin start-up, VM sharing and stream filters (Envoy `extensions/common/wasm/wasm.cc`,
 * proxy-wasm-cpp-host `src/wasm.cc` createWasm / getOrCreateThreadLocalPlugin).
 *
 * Contract of `createPlugin(config, env)`:
 * - The module is loaded and checked (module.ts). A base VM runs start-up only
 *   (`_initialize`/`main` or `_start`). A canary clone then runs
 *   `proxy_on_context_create(root, 0)`, `proxy_on_vm_start(root, vm_config_size)` and
 *   `proxy_on_configure(root, plugin_config_size)` and is thrown away; then each of the
 *   `env.concurrency` (default 1) worker VMs runs the same three calls. So start-up callbacks
 *   run 1 + concurrency times.
 * - VMs are shared by key sha256(vm_id || vm_configuration || code) within one SharedState
 *   (HostEnvironment.shared, process-wide by default) and one data plane (the same stats store,
 *   http_call dispatcher, clock and logger, even through distinct HostEnvironment objects):
 *   plugins with the same key share the worker VMs, each with its own root context.
 * - Any failure rejects with `PluginLoadError` naming the plugin, the module and the reason.
 * - `createFilter()` round-robins over the workers. A worker VM that trapped: FAIL_OPEN skips the
 *   plugin (pass-through filter); FAIL_CLOSED fails each new stream with a local 503
 *   (`wasm_fail_stream`); FAIL_RELOAD rebuilds the worker VM at the next new stream (subject to
 *   the reload backoff), re-creating every root context it hosted.
 * - `close()` calls proxy_on_done on the plugin's roots; on_done false waits for proxy_done,
 *   then proxy_on_delete.
 * - `forListenerDirection(plugin, direction)`: the same plugin for a listener of that
 *   traffic_direction, as Envoy builds one filter configuration (so one plugin and one root
 *   context per worker, whose `xds.listener_direction` is the listener's) per listener: a
 *   canary and a root on each worker of the same VMs, made synchronously (the module is loaded).
 */
import { createHash } from "node:crypto";
import type { WasmPluginConfig } from "../config/model.ts";
import { PassThroughFilter, type StreamFilter } from "../http/filter.ts";
import type { HostEnvironment } from "./api.ts";
import type { PluginIdentity, RootContext } from "./context.ts";
import { PluginLoadError, ReloadBackoff } from "./failure.ts";
import { WasmHttpFilter } from "./http-filter.ts";
import { loadModule, ModuleLoadError, type LoadedModule } from "./module.ts";
import { defaultSharedState } from "./shared-state.ts";
import { WasmVm } from "./vm.ts";

export interface Plugin {
  readonly name: string;
  readonly config: WasmPluginConfig;
  readonly env: HostEnvironment;
  /** A filter for one new stream. */
  createFilter(): StreamFilter;
  /** The worker VMs currently serving this plugin (shared with plugins of the same VM key). */
  workerVms(): WasmVm[];
  /** This plugin's root context on each worker. */
  rootContexts(): RootContext[];
  close(): Promise<void>;
}

/** Plugins of one VM key: the base VM and the worker VMs they share. */
class VmGroup {
  readonly workers: Worker[] = [];
  readonly plugins = new Set<PluginImpl>();
  constructor(
    readonly key: string,
    readonly loaded: LoadedModule,
    readonly base: WasmVm,
  ) {}
}

class Worker {
  readonly roots = new Map<PluginImpl, RootContext>();
  readonly backoff: ReloadBackoff;
  constructor(
    public vm: WasmVm,
    private readonly group: VmGroup,
    baseBackoffMs: number,
  ) {
    this.backoff = new ReloadBackoff(vm.env.clock, baseBackoffMs, vm.env.random);
  }

  /** FAIL_RELOAD: a fresh VM with every plugin's root context re-created. */
  reload(): boolean {
    let vm: WasmVm;
    try {
      vm = WasmVm.create(this.group.loaded, this.vm.options);
      const roots = new Map<PluginImpl, RootContext>();
      for (const p of this.group.plugins) roots.set(p, startRoot(vm, p.identity));
      for (const old of this.roots.values()) old.release();
      this.roots.clear();
      for (const [p, r] of roots) this.roots.set(p, r);
    } catch {
      return false;
    }
    this.vm.metrics.close(); // the failed VM goes away: its pending metric sums reach the store
    this.vm = vm;
    return true;
  }
}

/** The VM cache of a SharedState (process-wide by default, as Envoy's per-process cache). */
function vmCache(env: HostEnvironment): Map<string, VmGroup> {
  return (env.shared ?? defaultSharedState).vmCache as Map<string, VmGroup>;
}

const serviceIds = new WeakMap<object, number>();
let nextServiceId = 1;
const serviceId = (o: object | undefined): number => {
  if (!o) return 0;
  let id = serviceIds.get(o);
  if (id === undefined) serviceIds.set(o, (id = nextServiceId++));
  return id;
};

/**
 * Envoy's VM key, sha256(vm_id || vm_configuration || code), qualified by the data plane the VM
 * serves (its stats store, http_call and gRPC dispatchers, clock and logger): several sidecars in one Node
 * process are several Envoys, and a VM must never report into another one's stats.
 */
function vmKey(config: WasmPluginConfig, env: HostEnvironment): string {
  const hash = createHash("sha256").update(config.vmId).update(config.vmConfiguration).update(config.code).digest("hex");
  return `${hash}/${[env.stats, env.httpCalls, env.grpcCalls, env.clock, env.logger].map(serviceId).join(".")}`;
}

/** Creates the root context of `identity` on `vm` and configures it; throws ModuleLoadError. */
function startRoot(vm: WasmVm, identity: PluginIdentity): RootContext {
  const root = vm.createRootContext(identity);
  const step = (name: string, ...args: number[]): void => {
    const r = vm.call(root, name, ...args);
    if (vm.failed) {
      root.release();
      throw new ModuleLoadError(`trap in ${name}: ${vm.failure?.message ?? "runtime error"}`);
    }
    if (r !== undefined && r === 0 && name !== "proxy_on_context_create") {
      root.release();
      // The plugin usually says why at error level just before; the reason carries it (Envoy shows
      // both in its log), so a user sees the cause in the one-line load error.
      const why = vm.lastErrorLog === undefined ? "" : ` (plugin log: ${vm.lastErrorLog})`;
      throw new ModuleLoadError(`${name.replace(/^proxy_/, "")} returned false${why}`);
    }
  };
  // The plugin configuration is readable only during on_context_create and on_configure
  // (cpp-host ContextBase::onStart / onConfigure set temp_plugin_ around those two calls).
  const withPlugin = (fn: () => void) => {
    root.configuring = true;
    try {
      fn();
    } finally {
      root.configuring = false;
    }
  };
  withPlugin(() => step("proxy_on_context_create", root.id, 0));
  step("proxy_on_vm_start", root.id, identity.vmConfiguration.length);
  withPlugin(() => step("proxy_on_configure", root.id, identity.configuration.length));
  return root;
}

class PluginImpl implements Plugin {
  private rr = 0;
  private closed = false;
  readonly identity: PluginIdentity;

  constructor(
    readonly config: WasmPluginConfig,
    readonly env: HostEnvironment,
    readonly group: VmGroup,
  ) {
    this.identity = identityOf(config);
  }

  get name(): string {
    return this.config.name;
  }

  createFilter(): StreamFilter {
    const worker = this.group.workers[this.rr++ % this.group.workers.length]!;
    const policy = this.config.failurePolicy;
    if (worker.vm.failed && policy === "FAIL_RELOAD" && worker.backoff.tryAcquire()) worker.reload();
    if (worker.vm.failed && policy === "FAIL_OPEN") return new PassThroughFilter();
    return new WasmHttpFilter({
      vm: worker.vm,
      root: worker.roots.get(this),
      failurePolicy: policy,
      allowOnHeadersStopIteration: this.config.allowOnHeadersStopIteration,
    });
  }

  workerVms(): WasmVm[] {
    return this.group.workers.map((w) => w.vm);
  }

  rootContexts(): RootContext[] {
    return this.group.workers.map((w) => w.roots.get(this)).filter((r): r is RootContext => r !== undefined);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.group.plugins.delete(this);
    const cache = vmCache(this.env);
    if (this.group.plugins.size === 0 && cache.get(this.group.key) === this.group) cache.delete(this.group.key);
    const pending: Promise<void>[] = [];
    for (const w of this.group.workers) {
      const root = w.roots.get(this);
      w.roots.delete(this);
      if (root) pending.push(root.shutdown());
    }
    await Promise.all(pending);
    if (this.group.plugins.size === 0 && cache.get(this.group.key) !== this.group) {
      // The group's VMs go away: their pending metric sums reach the store now.
      this.group.base.metrics.close();
      for (const w of this.group.workers) w.vm.metrics.close();
    }
  }
}

function identityOf(config: WasmPluginConfig): PluginIdentity {
  return {
    name: config.name,
    rootId: config.rootId,
    vmId: config.vmId,
    configuration: config.configuration,
    vmConfiguration: config.vmConfiguration,
    listenerDirection: config.listenerDirection,
  };
}

function vmOptionsOf(config: WasmPluginConfig, env: HostEnvironment) {
  return { env, vmId: config.vmId, environmentVariables: config.environmentVariables, source: config.codeSource };
}

function loadError(config: WasmPluginConfig, e: unknown): PluginLoadError {
  const reason = e instanceof ModuleLoadError ? e.reason : `unexpected error: ${(e as Error)?.message ?? String(e)}`;
  return new PluginLoadError(config.name, config.codeSource, reason, { cause: e });
}

/** The canary: a VM whose root is configured once, then thrown away. Throws ModuleLoadError. */
function runCanary(loaded: LoadedModule, config: WasmPluginConfig, env: HostEnvironment): void {
  const canary = WasmVm.create(loaded, vmOptionsOf(config, env));
  try {
    startRoot(canary, identityOf(config)).release();
  } finally {
    canary.metrics.close();
  }
}

/**
 * The plugin of `config` on `group`'s VMs: the canary (configured once, then thrown away), then a
 * root context on every worker. Synchronous: the module is already loaded. Throws ModuleLoadError.
 */
function attachPlugin(group: VmGroup, config: WasmPluginConfig, env: HostEnvironment, canaryDone = false): PluginImpl {
  const identity = identityOf(config);
  if (!canaryDone) runCanary(group.loaded, config, env);
  const plugin = new PluginImpl(config, env, group);
  const started: Array<[Worker, RootContext]> = [];
  try {
    for (const w of group.workers) started.push([w, startRoot(w.vm, identity)]);
  } catch (e) {
    for (const [, r] of started) r.release();
    throw e;
  }
  for (const [w, r] of started) w.roots.set(plugin, r);
  group.plugins.add(plugin);
  return plugin;
}

export async function createPlugin(config: WasmPluginConfig, env: HostEnvironment): Promise<Plugin> {
  const vmOptions = vmOptionsOf(config, env);
  const key = vmKey(config, env);
  const byKey = vmCache(env);
  const group = byKey.get(key);
  try {
    if (group) return attachPlugin(group, config, env);
    const loaded = await loadModule(config.code);
    const fresh = new VmGroup(key, loaded, WasmVm.create(loaded, vmOptions));
    // The canary runs before the workers exist: they are made only if it passed.
    runCanary(loaded, config, env);
    const concurrency = Math.max(1, env.concurrency ?? 1);
    for (let i = 0; i < concurrency; i++) {
      fresh.workers.push(new Worker(WasmVm.create(loaded, vmOptions), fresh, config.reloadBackoffBaseMs));
    }
    const plugin = attachPlugin(fresh, config, env, true);
    byKey.set(key, fresh);
    return plugin;
  } catch (e) {
    throw loadError(config, e);
  }
}

/**
 * `plugin` for a listener of traffic_direction `direction` (0 unspecified, 1 INBOUND, 2
 * OUTBOUND): a new plugin with its own root contexts on the same VMs, whose
 * `xds.listener_direction` answers `direction` in the root context too. Throws PluginLoadError
 * (a trap, or on_configure returning false for it).
 */
export function forListenerDirection(plugin: Plugin, direction: number): Plugin {
  if (!(plugin instanceof PluginImpl)) throw new TypeError("forListenerDirection: not a plugin of this host");
  const config: WasmPluginConfig = { ...plugin.config, listenerDirection: direction };
  try {
    return attachPlugin(plugin.group, config, plugin.env);
  } catch (e) {
    throw loadError(config, e);
  }
}
