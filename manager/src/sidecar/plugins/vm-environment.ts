/**
 * The environment variables a WasmPlugin's VM is given (Envoy's vm_config.environment_variables,
 * which the module reads through WASI environ_get), built as istiod, istio-agent and Envoy build
 * them:
 *
 * - istiod (pilot/pkg/model/extensions.go, buildVMConfig): key_values start with
 *   ISTIO_META_WASM_IMAGE_PULL_SECRET (when `imagePullSecret` is set),
 *   ISTIO_META_WASM_IMAGE_PULL_POLICY (when `imagePullPolicy` is not UNSPECIFIED_POLICY) and
 *   ISTIO_META_WASM_PLUGIN_RESOURCE_VERSION; then `vmConfig.env`: INLINE entries are written into
 *   key_values (a same-named entry replaces istiod's), HOST names become host_env_keys.
 * - istio-agent (pkg/wasm/convert.go, rewriteVMConfig) rewrites remote modules only (oci://,
 *   http(s)://): it reads its three variables and deletes every key_values entry whose name starts
 *   with `ISTIO_META_`, the user's own INLINE ones included. A `file://` module never passes
 *   through the agent, so its VM sees istiod's variables.
 * - Envoy (WasmConfig): host_env_keys are read from the proxy's environment (a variable it does
 *   not have is left out), then key_values are added.
 *
 * One deviation: istiod replaces the pull secret's name by the Secret's content before a
 * `file://` module's VM can see it; the sidecar never hands a credential to a VM, so that
 * variable is left out.
 */
import type { ExtensionPlugin } from "../../k8s/wasmplugin/index.ts";

export const ISTIO_META_PREFIX = "ISTIO_META_";
export const WASM_SECRET_ENV = "ISTIO_META_WASM_IMAGE_PULL_SECRET";
export const WASM_POLICY_ENV = "ISTIO_META_WASM_IMAGE_PULL_POLICY";
export const WASM_RESOURCE_VERSION_ENV = "ISTIO_META_WASM_PLUGIN_RESOURCE_VERSION";

export type VmEnvironmentPlugin = Pick<ExtensionPlugin, "env" | "imagePullPolicy" | "resourceVersion">;

/**
 * The VM's variables for `plugin`. `remote`: the module is fetched by the agent (oci, http(s));
 * `hostEnv`: the proxy's own environment (for `valueFrom: HOST`).
 */
export function vmEnvironment(plugin: VmEnvironmentPlugin, remote: boolean, hostEnv: Record<string, string | undefined>): Record<string, string> {
  const keyValues = new Map<string, string>();
  if (plugin.imagePullPolicy !== "UNSPECIFIED_POLICY") keyValues.set(WASM_POLICY_ENV, plugin.imagePullPolicy);
  keyValues.set(WASM_RESOURCE_VERSION_ENV, plugin.resourceVersion);
  const hostEnvKeys: string[] = [];
  for (const e of plugin.env) {
    if (e.valueFrom === "HOST") hostEnvKeys.push(e.name);
    else keyValues.set(e.name, e.value);
  }
  if (remote) {
    for (const key of [...keyValues.keys()]) if (key.startsWith(ISTIO_META_PREFIX)) keyValues.delete(key);
  }
  const out: Record<string, string> = {};
  for (const key of hostEnvKeys) {
    const value = hostEnv[key];
    if (value !== undefined) out[key] = value;
  }
  for (const [key, value] of keyValues) out[key] = value;
  return out;
}
