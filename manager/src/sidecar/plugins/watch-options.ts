/**
 * `meshwasm sidecar --watch [--kubeconfig FILE] [--context NAME]`: the WasmPluginsOptions of a
 * sidecar that follows an API server (cluster-source.ts) instead of a `--plugins` directory. The
 * workload is `--namespace` (default: the context's namespace, else "default") with the labels
 * of `--labels`; WasmPlugins of that namespace and of the root namespace apply. `--wasm-cache`
 * and `--insecure-registries` work as with `--plugins`; pull secrets come from the cluster, so
 * `--pull-secrets` and `--plugins` are refused with `--watch`, and `--kubeconfig` / `--context`
 * need `--watch`. Mistakes are one-line UserErrors naming the option.
 */
import path from "node:path";
import { UserError } from "../../errors.ts";
import { DEFAULT_ROOT_NAMESPACE } from "../../k8s/wasmplugin/index.ts";
import { parseLabels, type PluginCliOptions } from "./cli-options.ts";
import type { WasmPluginsOptions } from "./plugin-set.ts";

export interface WatchCliOptions extends PluginCliOptions {
  watch?: boolean;
  kubeconfig?: string;
  context?: string;
}

const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function usesWatch(opts: WatchCliOptions): boolean {
  if (!opts.watch) {
    if (opts.kubeconfig !== undefined) throw new UserError("--kubeconfig needs --watch");
    if (opts.context !== undefined) throw new UserError("--context needs --watch");
    return false;
  }
  if (opts.plugins !== undefined) throw new UserError("--watch and --plugins exclude each other: the WasmPlugins come from the API server or from a directory");
  if (opts.pullSecrets !== undefined) throw new UserError("--pull-secrets does not go with --watch: pull secrets are read from the cluster");
  return true;
}

/** Connects to the API server and lists the WasmPlugins once (a one-line error if it cannot). */
export async function watchOptionsFrom(opts: WatchCliOptions, log: (level: "info" | "warn" | "error", line: string) => void): Promise<WasmPluginsOptions> {
  const labels = parseLabels(opts.labels ?? []);
  const { loadClusterTarget } = await import("../../k8s/cluster/kubeconfig.ts");
  const target = loadClusterTarget({ ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), ...(opts.context ? { context: opts.context } : {}) });
  const namespace = opts.namespace ?? target.namespace ?? "default";
  if (namespace.length > 63 || !NAMESPACE.test(namespace)) throw new UserError(`--namespace: "${namespace}" is not a valid namespace name`);
  const { ClusterPluginSource } = await import("./cluster-source.ts");
  const source = await ClusterPluginSource.start({ target, namespaces: [namespace, DEFAULT_ROOT_NAMESPACE], log });
  return {
    source,
    labels,
    namespace,
    ...(opts.wasmCache ? { cacheDir: path.resolve(opts.wasmCache) } : {}),
    ...(opts.insecureRegistries ? { insecureRegistries: opts.insecureRegistries.split(",").map((s) => s.trim()).filter(Boolean) } : {}),
  };
}
