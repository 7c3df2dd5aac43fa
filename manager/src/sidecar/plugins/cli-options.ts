/**
 * The `meshwasm sidecar` options for WasmPlugins, turned into WasmPluginsOptions:
 * `--plugins DIR`, `--labels k=v[,k=v…]` (repeatable; the workload's pod labels, kubectl's
 * `-l`-style syntax with equality only), `--namespace NS` (default "default"),
 * `--wasm-cache DIR` (where fetched modules are written), `--insecure-registries
 * host[,host…]` (WASM_INSECURE_REGISTRIES) and `--pull-secrets DIR` (the Secrets that
 * `imagePullSecret` names, as `<name>.json` dockerconfigjson files; it must be a directory).
 * Label keys and values are checked as Kubernetes checks them; a mistake is a one-line
 * UserError naming the option.
 */
import { statSync } from "node:fs";
import path from "node:path";
import { UserError } from "../../errors.ts";
import type { WasmPluginsOptions } from "./plugin-set.ts";

export interface PluginCliOptions {
  plugins?: string;
  labels?: string[];
  namespace?: string;
  wasmCache?: string;
  insecureRegistries?: string;
  pullSecrets?: string;
}

const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** `app=checkout,version=v2` (several strings are merged; a later key wins). */
export function parseLabels(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const value of values) {
    for (const item of value.split(",")) {
      const entry = item.trim();
      if (entry === "") continue;
      const eq = entry.indexOf("=");
      if (eq <= 0) throw new UserError(`--labels: expected key=value, got "${entry}"`);
      const key = entry.slice(0, eq).trim();
      const v = entry.slice(eq + 1).trim();
      const slash = key.indexOf("/");
      const [prefix, name] = slash >= 0 ? [key.slice(0, slash), key.slice(slash + 1)] : ["", key];
      if ((slash >= 0 && (prefix.length > 253 || !LABEL_PREFIX.test(prefix))) || name.length > 63 || !LABEL_NAME.test(name)) {
        throw new UserError(`--labels: "${key}" is not a valid label key`);
      }
      if (v.length > 63 || !LABEL_VALUE.test(v)) throw new UserError(`--labels: "${v}" is not a valid value for label ${key}`);
      out[key] = v;
    }
  }
  return out;
}

export function pluginsOptionsFrom(opts: PluginCliOptions): WasmPluginsOptions | undefined {
  const extras = ([["--labels", opts.labels?.length], ["--namespace", opts.namespace], ["--wasm-cache", opts.wasmCache], ["--insecure-registries", opts.insecureRegistries], ["--pull-secrets", opts.pullSecrets]] as const)
    .filter(([, v]) => v);
  if (!opts.plugins) {
    if (extras.length) throw new UserError(`${extras[0]![0]} needs --plugins DIR`);
    return undefined;
  }
  if (opts.namespace !== undefined && (opts.namespace.length > 63 || !NAMESPACE.test(opts.namespace))) {
    throw new UserError(`--namespace: "${opts.namespace}" is not a valid namespace name`);
  }
  if (opts.pullSecrets !== undefined) {
    let isDir = false;
    try {
      isDir = statSync(opts.pullSecrets).isDirectory();
    } catch {
      throw new UserError(`--pull-secrets ${opts.pullSecrets}: no such directory`);
    }
    if (!isDir) throw new UserError(`--pull-secrets ${opts.pullSecrets}: not a directory`);
  }
  return {
    dir: path.resolve(opts.plugins),
    labels: parseLabels(opts.labels ?? []),
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
    ...(opts.wasmCache ? { cacheDir: path.resolve(opts.wasmCache) } : {}),
    ...(opts.pullSecrets !== undefined ? { pullSecretsDir: path.resolve(opts.pullSecrets) } : {}),
    ...(opts.insecureRegistries ? { insecureRegistries: opts.insecureRegistries.split(",").map((s) => s.trim()).filter(Boolean) } : {}),
  };
}
