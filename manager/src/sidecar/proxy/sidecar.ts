/**
 * startSidecar: assembles the local data plane from an Envoy bootstrap, the way Envoy's
 * server does at start-up: stats store; cluster manager (started, i.e. warmed); per listener
 * the http_filters (wasm -> a proxy-wasm plugin, stateful_session and router -> the cluster
 * manager's factories); the listeners; the admin server when `admin` is configured.
 *
 * Wasm plugins (proxy-wasm-abi.md §2.8): a plugin whose on_vm_start / on_configure returns
 * false rejects the configuration (start-up fails with the plugin's message and config
 * path). Any other load failure follows the plugin's failure policy: FAIL_OPEN skips the
 * filter; FAIL_CLOSED / FAIL_RELOAD answer every request with 503 `wasm_fail_stream`
 * (gRPC UNAVAILABLE).
 *
 * WasmPlugins (`plugins` option, `--plugins DIR`): a WasmPluginSet (../plugins) loads them before
 * the listeners start; each listener's chain is its http_filters with the plugins istiod would
 * place there inserted before the first stateful_session / router filter, re-read per new stream
 * so that an update applies to new streams only.
 *
 * stop() closes the listeners, the admin server, the plugins and the cluster manager; no
 * handle is left behind.
 */
import type { Bootstrap, HttpFilterConfig, Listener, WasmFilterConfig } from "../config/model.ts";
import { loadBootstrapFile } from "../config/index.ts";
import { PassThroughFilter, HeadersStatus, type StreamFilterFactory } from "../http/filter.ts";
import type { HeaderMap } from "../http/header-map.ts";
import { RealClock } from "../host/clock.ts";
import { createPlugin, type Plugin } from "../host/plugin.ts";
import { failStreamReply, PluginLoadError } from "../host/failure.ts";
import type { LogSink } from "../host/api.ts";
import { LogLevel } from "../host/abi.ts";
import { LogRegistry } from "../host/log.ts";
import { startAdminServer, type AdminServer } from "../admin/server.ts";
import { MemoryStatsStore } from "../stats/store.ts";
import { histogramBuckets } from "../stats/histogram-settings.ts";
import { buildTagExtractors } from "../stats/tag-extractor.ts";
import type { StatsStore } from "../stats/types.ts";
import { createAsyncGrpcClient } from "./upstream/async-grpc-client.ts";
import { createClusterManager, type UpstreamClusterManager } from "./upstream/cluster-manager.ts";
import { ConnectionManager } from "./downstream/connection-manager.ts";
import { jwtAuthnFilterFactory } from "./filters/jwt-authn/filter.ts";
import { startListener, type RunningListener } from "./downstream/listener.ts";
import { UserError } from "../../errors.ts";
import { WasmPluginSet, type ListenerBinding, type WasmPluginsOptions } from "../plugins/index.ts";

export interface SidecarOptions {
  log?: (line: string) => void;
  /** Envoy's named loggers and their levels (`wasm`, `http`, ...); default all at info, writing to `log`. */
  logs?: LogRegistry;
  /** Worker VMs per Wasm plugin (Envoy --concurrency); default 1. */
  concurrency?: number;
  /** Random source for weighted clusters (unsigned integers); tests inject it. */
  random?: () => number;
  /** WasmPlugin resources to load and watch (`--plugins DIR`). */
  plugins?: WasmPluginsOptions;
}

export interface Sidecar {
  listeners: Array<{ name: string; address: string; port: number }>;
  adminPort?: number;
  stats: StatsStore;
  clusterManager: UpstreamClusterManager;
  bootstrap: Bootstrap;
  logs: LogRegistry;
  /** The WasmPlugins loaded from `plugins.dir`, when given. */
  plugins?: WasmPluginSet;
  stop(): Promise<void>;
}

export type SidecarInput = { bootstrap: Bootstrap } | { configPath: string };

/** Every request gets the Wasm fail-closed reply (a plugin that could not load). */
class FailClosedFilter extends PassThroughFilter {
  override decodeHeaders(_h: HeaderMap, _e: boolean): HeadersStatus {
    this.decoderCallbacks.sendLocalReply(failStreamReply());
    return HeadersStatus.StopIteration;
  }
}

export async function startSidecar(input: SidecarInput, opts: SidecarOptions = {}): Promise<Sidecar> {
  const log = opts.log ?? (() => {});
  const bootstrap = "bootstrap" in input ? input.bootstrap : await loadBootstrapFile(input.configPath);
  const stats = new MemoryStatsStore({ histogramBuckets: histogramBuckets(bootstrap.stats.histogramBucketSettings) });
  const clusterManager = createClusterManager(bootstrap.clusters, { stats });
  const plugins: Plugin[] = [];
  const listeners: RunningListener[] = [];
  let admin: AdminServer | undefined;
  let pluginSet: WasmPluginSet | undefined;
  const logs = opts.logs ?? new LogRegistry((_logger, _level, message) => log(message));
  const logger: LogSink = { log: (level: LogLevel, line: string) => logs.log("wasm", level, line) };
  const env = {
    stats,
    clock: new RealClock(),
    logger,
    // proxy_get_log_level and proxy_log's threshold follow the `wasm` logger, also after /logging.
    get logLevel(): LogLevel {
      return logs.level("wasm");
    },
    httpCalls: clusterManager,
    // One per sidecar: the VM-sharing key includes the dispatcher's identity.
    grpcCalls: createAsyncGrpcClient(clusterManager),
    node: bootstrap.node,
    concurrency: opts.concurrency ?? 1,
  };

  // Envoy's stats flush (stats_flush_interval, 5 s): histograms' interval values roll over.
  const flushTimer = setInterval(() => stats.mergeHistograms(), 5000);
  flushTimer.unref();

  const stop = async () => {
    clearInterval(flushTimer);
    await Promise.allSettled(listeners.map((l) => l.close()));
    if (admin) await admin.close().catch(() => {});
    await pluginSet?.close();
    await Promise.allSettled(plugins.map((p) => p.close()));
    await clusterManager.stop();
  };

  try {
    await clusterManager.start();
    const buildFilter = async (f: HttpFilterConfig, statPrefix: string, listenerDirection: number): Promise<StreamFilterFactory | undefined> => {
      switch (f.kind) {
        case "wasm":
          return wasmFilterFactory(f, listenerDirection);
        case "stateful_session":
          return clusterManager.statefulSessionFilterFactory(f);
        case "jwt_authn":
          return jwtAuthnFilterFactory(f, { stats, statPrefix, warn: (m) => logs.log("jwt", LogLevel.Warn, m) });
        case "router":
          return clusterManager.routerFilterFactory(f);
      }
    };
    // One plugin (one root context) per listener's filter, carrying that listener's direction, as
    // Envoy creates a filter config, and so a Plugin with its direction_, per listener filter chain.
    const wasmFilterFactory = async (f: WasmFilterConfig, listenerDirection: number): Promise<StreamFilterFactory | undefined> => {
      try {
        const plugin = await createPlugin({ ...f.plugin, listenerDirection }, env);
        plugins.push(plugin);
        return () => plugin.createFilter();
      } catch (e) {
        if (!(e instanceof PluginLoadError)) throw e;
        if (/returned false\b/.test(e.reason)) throw new UserError(`${f.path}: ${e.message}`, { cause: e });
        if (f.plugin.failurePolicy === "FAIL_OPEN") {
          logs.log("wasm", LogLevel.Warn, `${f.path}: ${e.message}; fail_open: the filter is skipped`);
          return undefined;
        }
        logs.log("wasm", LogLevel.Warn, `${f.path}: ${e.message}; every request is answered 503 (wasm_fail_stream)`);
        return () => new FailClosedFilter();
      }
    };

    if (opts.plugins) {
      pluginSet = await WasmPluginSet.start(opts.plugins, { host: env, stats, log: (level, line) => logs.log("wasm", level, line) });
    }
    for (const l of bootstrap.listeners) {
      const httpLog = (line: string) => logs.log("http", LogLevel.Error, line);
      listeners.push(await startOneListener(l, bootstrap, stats, clusterManager, buildFilter, opts, httpLog, pluginSet));
    }
    if (bootstrap.admin) {
      admin = await startAdminServer({
        address: bootstrap.admin.address.address,
        port: bootstrap.admin.address.portValue,
        stats,
        extractors: buildTagExtractors(bootstrap.stats),
        clusters: () => clusterManager.clusters(),
        configDump: () => bootstrap.raw,
        ready: () => true,
        listeners: () => listeners.map((l) => ({ name: l.name, address: { address: l.address, port: l.port } })),
        node: bootstrap.node,
        logs,
        ...(pluginSet ? { extraPrometheus: () => pluginSet!.metrics.render() } : {}),
      });
    }
  } catch (e) {
    await stop();
    throw e;
  }

  return {
    listeners: listeners.map((l) => ({ name: l.name, address: l.address, port: l.port })),
    adminPort: admin?.port,
    stats,
    clusterManager,
    bootstrap,
    logs,
    ...(pluginSet ? { plugins: pluginSet } : {}),
    stop,
  };
}

async function startOneListener(
  l: Listener,
  bootstrap: Bootstrap,
  stats: StatsStore,
  clusterManager: UpstreamClusterManager,
  buildFilter: (f: HttpFilterConfig, statPrefix: string, listenerDirection: number) => Promise<StreamFilterFactory | undefined>,
  opts: SidecarOptions,
  log: (line: string) => void,
  pluginSet?: WasmPluginSet,
): Promise<RunningListener> {
  const hcm = l.httpConnectionManager;
  const configs = hcm.httpFilters;
  const last = configs.at(-1);
  if (!last || last.kind !== "router") {
    throw new UserError(`listener ${l.name}: the last http filter must be envoy.filters.http.router`);
  }
  // WasmPlugins go where istiod puts them: before the session filter and the router.
  const before: StreamFilterFactory[] = [];
  const after: StreamFilterFactory[] = [];
  for (const f of configs.slice(0, -1)) {
    const factory = await buildFilter(f, hcm.statPrefix, l.trafficDirection);
    if (factory) (f.kind === "stateful_session" || after.length > 0 ? after : before).push(factory);
  }
  const router = (await buildFilter(last, hcm.statPrefix, l.trafficDirection))!;
  const binding: ListenerBinding = {
    name: l.name,
    class: l.trafficDirection === 1 ? "SIDECAR_INBOUND" : l.trafficDirection === 2 ? "SIDECAR_OUTBOUND" : "GATEWAY",
    port: l.address.portValue,
    statPrefix: hcm.statPrefix,
  };
  let chain = { plugins: [] as StreamFilterFactory[], filters: [...before, ...after] };
  const running = await startListener(l, {
    stats,
    connectionManager: (statAddress) =>
      new ConnectionManager({
        hcm,
        // Read per new stream: the chain follows WasmPlugin updates.
        get filters() {
          const plugins = pluginSet?.chainFor(binding);
          if (plugins && plugins !== chain.plugins) chain = { plugins, filters: [...before, ...plugins, ...after] };
          return chain.filters;
        },
        router,
        stats,
        listenerStatAddress: statAddress,
        bufferLimit: l.perConnectionBufferLimitBytes,
        hasCluster: (name) => clusterManager.hasCluster(name),
        xds: {
          nodeId: bootstrap.node?.id,
          nodeCluster: bootstrap.node?.cluster,
          listenerDirection: l.trafficDirection,
          listenerName: l.name,
        },
        random: opts.random,
        log,
      }),
  });
  binding.port = running.port;
  return running;
}
