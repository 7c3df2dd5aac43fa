/**
 * `oci://` modules through the same pull code as `meshwasm pull` (manager/src/oci:
 * `resolveWasmImage`, istio-agent's PrepareFetch): the manifest digest first, the module
 * later, so the cache can compare checksums before any layer is downloaded. Credentials come
 * from `auth` (a WasmPlugin's `imagePullSecret`, pull-secrets.ts) or else the default keychain
 * (docker's config.json), as istio-agent uses without an `imagePullSecret`; `insecure` lists registries allowed over plain HTTP (WASM_INSECURE_REGISTRIES,
 * `*` for all; loopback and private registries may always use it).
 */
import { resolveWasmImage, type RegistryAuth } from "../../oci/index.ts";

export interface OciFetchOptions {
  /** Registries (host[:port]) allowed over plain HTTP; "*" for every one. */
  insecureRegistries?: string[];
  timeoutMs?: number;
  maxBytes?: number;
  /** The pull secret's credentials; default: the default keychain. */
  auth?: RegistryAuth;
}

export interface ResolvedOciModule {
  /** The manifest digest, hex. */
  checksum: string;
  fetchBinary(): Promise<Uint8Array>;
}

export async function resolveOciModule(url: string, opts: OciFetchOptions = {}): Promise<ResolvedOciModule> {
  const host = url.replace(/^oci:\/\//, "").split("/")[0] ?? "";
  const insecure = (opts.insecureRegistries ?? []).some((r) => r === "*" || r === host);
  const resolved = await resolveWasmImage(url, {
    insecure,
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    ...(opts.maxBytes !== undefined ? { maxBytes: opts.maxBytes } : {}),
    ...(opts.auth !== undefined ? { auth: opts.auth } : {}),
  });
  return {
    checksum: resolved.manifestDigest.replace(/^sha256:/, ""),
    fetchBinary: async () => (await resolved.fetchBinary()).wasm,
  };
}
