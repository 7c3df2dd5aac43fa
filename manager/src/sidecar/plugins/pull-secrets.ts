/**
 * `--pull-secrets DIR`: the Secrets a WasmPlugin's `imagePullSecret` can name, for the local
 * sidecar. DIR holds one `<name>.json` per Secret, the content of a `kubernetes.io/dockerconfigjson`
 * Secret's `.dockerconfigjson` key (docker's config.json format: `auths`, `credHelpers`,
 * `credsStore`), which is what istiod hands istio-agent:
 *
 * - istiod (pilot/pkg/networking/core/extension/wasmplugin.go updatePluginConfig, the ECDS
 *   generator) looks the Secret up by name in the plugin's namespace and puts its
 *   `.dockerconfigjson` in the VM variable ISTIO_META_WASM_IMAGE_PULL_SECRET, or "" when it cannot
 *   find it;
 * - istio-agent (pkg/wasm/convert.go rewriteVMConfig) refuses an empty one before any lookup or
 *   fetch: "cannot fetch Wasm module <ns>.<name>: missing image pulling secret" (conversion
 *   result fetch_failure; the plugin's failStrategy applies). It does not fall back to the default
 *   keychain;
 * - with the Secret, OCI pulls authenticate with it alone (pkg/wasm/imagefetcher.go wasmKeyChain):
 *   a registry the Secret does not list is pulled anonymously.
 *
 * Secret names are DNS-1123 subdomains; any other name cannot exist, so it is missing. The file is
 * read at every load of the plugin directory (istiod pushes a changed Secret). Its content never
 * appears in a message: a file that is not a JSON object fails the pull with a message naming the
 * file only.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { dockerConfigKeychain, type CredentialResolver } from "../../oci/index.ts";

const SECRET_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export interface PullSecret {
  /** The file it was read from. */
  file: string;
  /** The Secret's credentials, as istio-agent's keychain resolves them. */
  resolver: CredentialResolver;
}

/** The Secret `name` of `dir`, or undefined when there is none (a missing image pulling secret). */
export async function readPullSecret(dir: string, name: string): Promise<PullSecret | undefined> {
  if (name.length > 253 || !SECRET_NAME.test(name)) return undefined;
  const file = path.join(dir, `${name}.json`);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") return undefined;
    const reason = code ?? "unreadable";
    return { file, resolver: async () => Promise.reject(new Error(`pull secret ${file}: cannot read it (${reason})`)) };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    // JSON.parse's own message quotes the text; the secret must not reach a log.
    return { file, resolver: async () => Promise.reject(new Error(`pull secret ${file}: not a docker config JSON object`)) };
  }
  try {
    return { file, resolver: dockerConfigKeychain(text, `pull secret ${file}`) };
  } catch (e) {
    const message = (e as Error).message;
    return { file, resolver: async () => Promise.reject(new Error(message)) };
  }
}
