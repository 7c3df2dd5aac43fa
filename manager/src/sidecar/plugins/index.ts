/**
 * WasmPlugin resources in the local sidecar (`meshwasm sidecar --plugins DIR`): the plugin set
 * (placement, fetching as istio-agent, ECDS-like updates), istio-agent's module cache and metrics,
 * and the RBAC fallbacks of failed fetches.
 */
export { WasmPluginSet } from "./plugin-set.ts";
export type { WasmPluginsOptions, ListenerBinding, ReloadOutcome } from "./plugin-set.ts";
export type { InstanceInfo, InstanceKind } from "./plugin-instance.ts";
export { AgentMetrics } from "./agent-metrics.ts";
export type { FetchResult, ConversionResult } from "./agent-metrics.ts";
export { ModuleCache, ModuleFetchError, moduleName } from "./module-cache.ts";
export type { CachedModule, CacheGetOptions, ModuleCacheOptions, PullPolicy } from "./module-cache.ts";
export { httpFetchModule, unbox, DEFAULT_MAX_MODULE_BYTES } from "./http-fetcher.ts";
export type { HttpFetchOptions } from "./http-fetcher.ts";
export { fallbackFilterFactory, DENY_RULES_STAT_PREFIX, ALLOW_RULES_STAT_PREFIX, RBAC_DENIED_DETAILS } from "./fallback-filters.ts";
export { readPluginDirectory } from "./plugin-directory.ts";
