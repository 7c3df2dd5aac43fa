/**
 * Everything `render`, `deploy` and `diff` need from the user's files, loaded and checked before
 * anything touches a cluster: the deployment file (config.ts), each plugin's configuration
 * (grpc-auth: the policy compiled by manager/src/policy; others: a JSON or YAML file, or inline),
 * each image resolved to its manifest digest and version, then the objects rendered (render.ts)
 * and validated offline against the real CRD of the targeted Istio release (validate.ts).
 *
 * Images are resolved by `resolveImage` (default: the manifest is fetched from the registry with
 * the given credentials, as istio-agent resolves it: an index goes to its linux/amd64 child);
 * with `offline`, every image must already be pinned by digest and no registry is contacted.
 * `deploy` passes its own resolver, which pulls and verifies the whole image with the
 * credentials of the cluster's pull secret.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseDocument } from "yaml";
import { UserError } from "../../errors.ts";
import type { RegistryAuth } from "../../oci/auth/credentials.ts";
import { parseReference, type ImageReference } from "../../oci/reference.ts";
import type { ExtensionPlugin } from "../wasmplugin/model.ts";
import { parseJsonText } from "./json-text.ts";
import { readDeployConfig, type DeployConfig, type PluginEntry, type ResourceKind } from "./config.ts";
import { renderPlugin, type PluginInputs, type RenderedPlugin, type ResolvedImage } from "./render.ts";
import { validateRendered } from "./validate.ts";

export const IMAGE_VERSION_ANNOTATION = "org.opencontainers.image.version";

export type ImageResolver = (entry: PluginEntry, ref: ImageReference, config: DeployConfig) => Promise<ResolvedImage>;

export interface LoadOptions {
  namespace?: string;
  istioVersion?: string;
  kind?: ResourceKind;
  /** `--image NAME=REF`: replaces the image of the plugin (or filter) NAME. */
  images?: string[];
  offline?: boolean;
  auth?: RegistryAuth;
  insecure?: boolean;
  resolveImage?: ImageResolver;
}

export interface LoadedDeployment {
  config: DeployConfig;
  rendered: RenderedPlugin[];
  /** The validated model of each rendered object, same order. */
  models: ExtensionPlugin[];
}

/** Where a plugin entry's field is, for messages. */
export function origin(config: DeployConfig, entry: PluginEntry): string {
  return `${entry.where}: plugins[${entry.index}] (${entry.name})`;
}

export async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`${file}: cannot read the ${what}: ${code === "ENOENT" ? "no such file" : (code ?? (e as Error).message)}`);
  }
}

function applyImageOverrides(config: DeployConfig, overrides: string[]): void {
  for (const o of overrides) {
    const eq = o.indexOf("=");
    if (eq <= 0) throw new UserError(`--image: expected NAME=REF, got ${JSON.stringify(o)}`);
    const name = o.slice(0, eq);
    const hits = config.plugins.filter((p) => p.name === name || p.filter === name);
    if (hits.length === 0) throw new UserError(`--image ${name}: no plugin or filter of that name in ${config.file} (${config.plugins.map((p) => p.name).join(", ")})`);
    for (const p of hits) {
      p.image = o.slice(eq + 1);
      p.imageWhere = `--image ${name}`;
    }
  }
}

/** A plugin's pluginConfig: the compiled policy, a configuration file, the inline object, or none. */
export async function pluginConfigOf(config: DeployConfig, entry: PluginEntry): Promise<Record<string, unknown> | undefined> {
  if (entry.policyFile) {
    const { loadPolicyFile, pluginConfigObject } = await import("../../policy/index.ts");
    const { policy } = await loadPolicyFile(path.relative(process.cwd(), entry.policyFile) || entry.policyFile);
    return pluginConfigObject(policy);
  }
  if (entry.configFile) {
    const shown = path.relative(process.cwd(), entry.configFile) || entry.configFile;
    const text = await readText(entry.configFile, `configuration of ${origin(config, entry)}`);
    if (entry.configFile.toLowerCase().endsWith(".json")) return parseJsonObject(text, shown);
    const doc = parseDocument(text, { version: "1.1", uniqueKeys: true, prettyErrors: false });
    const err = doc.errors[0];
    if (err) {
      const [line, col] = err.linePos?.[0] ? [err.linePos[0].line, err.linePos[0].col] : [1, 1];
      throw new UserError(`${shown}:${line}:${col}: ${err.message.split("\n")[0]}`);
    }
    const value = doc.toJS() as unknown;
    if (value === null || typeof value !== "object" || Array.isArray(value)) throw new UserError(`${shown}:1:1: the plugin configuration must be a mapping (a JSON object)`);
    return value as Record<string, unknown>;
  }
  return entry.pluginConfig;
}

function parseJsonObject(text: string, shown: string): Record<string, unknown> {
  const value = parseJsonText(text, shown);
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new UserError(`${shown}:1:1: the plugin configuration must be a JSON object`);
  return value as Record<string, unknown>;
}

/** The default resolver: the manifest from the registry (digest and version), no layers. */
export function registryResolver(opts: { auth?: RegistryAuth; insecure?: boolean; offline?: boolean }): ImageResolver {
  return async (entry, ref) => {
    if (opts.offline) {
      if (!ref.digest) throw new UserError(`${entry.imageWhere}: ${JSON.stringify(entry.image)} has no @sha256: digest, which --offline needs`);
      return { repository: `${ref.registry}/${ref.repository}`, digest: ref.digest.slice(7) };
    }
    const { resolveWasmImage } = await import("../../oci/pull.ts");
    const resolved = await resolveWasmImage(entry.image, { ...(opts.auth !== undefined ? { auth: opts.auth } : {}), ...(opts.insecure ? { insecure: true } : {}), timeoutMs: 30_000 }).catch((e: Error) => {
      throw new UserError(`${entry.imageWhere}: ${e.message}`, { cause: e });
    });
    const version = resolved.manifest.annotations?.[IMAGE_VERSION_ANNOTATION];
    return { repository: `${ref.registry}/${ref.repository}`, digest: resolved.manifestDigest.slice(7), ...(version ? { version } : {}) };
  };
}

export function parseImage(entry: PluginEntry): ImageReference {
  try {
    return parseReference(entry.image);
  } catch (e) {
    throw new UserError(`${entry.imageWhere}: ${(e as Error).message}`, { cause: e });
  }
}

/** Reads the deployment file, compiles configurations, resolves images, renders and validates. */
export async function loadDeployment(file: string, opts: LoadOptions = {}): Promise<LoadedDeployment> {
  const config = readDeployConfig(await readText(file, "deployment file"), file, {
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
    ...(opts.istioVersion ? { istioVersion: opts.istioVersion } : {}),
    ...(opts.kind ? { kind: opts.kind } : {}),
  });
  applyImageOverrides(config, opts.images ?? []);
  const refs = config.plugins.map(parseImage);
  const configs = await Promise.all(config.plugins.map((p) => pluginConfigOf(config, p)));
  const resolve = opts.resolveImage ?? registryResolver(opts);
  const images = await Promise.all(config.plugins.map((p, i) => resolve(p, refs[i]!, config)));
  const rendered: RenderedPlugin[] = [];
  const models: ExtensionPlugin[] = [];
  config.plugins.forEach((entry, i) => {
    const inputs: PluginInputs = { image: images[i]!, ...(configs[i] !== undefined ? { pluginConfig: configs[i] } : {}) };
    const r = renderPlugin(config, entry, inputs);
    models.push(validateRendered(r.object, origin(config, entry), config));
    rendered.push(r);
  });
  const order = rendered.map((r, i) => [r, models[i]!] as const).sort((a, b) => (a[0].object.metadata.name < b[0].object.metadata.name ? -1 : 1));
  return { config, rendered: order.map((x) => x[0]), models: order.map((x) => x[1]) };
}
