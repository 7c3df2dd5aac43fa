/**
 * What `deploy` (and `rollback`) check in the cluster before writing anything:
 *
 * - the namespace exists;
 * - each `imagePullSecret` exists there and is a `kubernetes.io/dockerconfigjson` Secret; its
 *   credentials are the ones istio-agent will use, so the image is pulled and verified with them
 *   (every check istio-agent runs: manifest digest = `sha256`, variant rules, plugin.wasm, Wasm
 *   magic, size cap); without a pull secret, anonymous or the default keychain as the agent does;
 * - a `selector` selects at least one pod or workload template; `targetRefs` name objects that
 *   exist (Service and ServiceEntry, and Gateway / GatewayClass where Gateway API is served).
 *
 * Each failure is one line naming the plugin and what is missing.
 */
import { UserError } from "../../errors.ts";
import { dockerConfigKeychain, type RegistryAuth } from "../../oci/auth/credentials.ts";
import type { PulledImage } from "../../oci/pull.ts";
import type { Cluster, WorkloadInfo } from "../cluster/client.ts";
import { labelSelector } from "../cluster/client.ts";
import { ApiCallError } from "../cluster/errors.ts";
import type { DeployConfig, PluginEntry } from "../render/config.ts";
import { IMAGE_VERSION_ANNOTATION, type ImageResolver } from "../render/load.ts";
import { targetWorkloads } from "../rollout/waves.ts";

export const DOCKER_CONFIG_JSON = "kubernetes.io/dockerconfigjson";

export async function checkNamespace(cluster: Cluster, namespace: string): Promise<void> {
  if (!(await cluster.namespaceExists(namespace))) {
    throw new UserError(`namespace ${JSON.stringify(namespace)} does not exist (context "${cluster.target.context}", ${cluster.target.server}); nothing was applied`);
  }
}

/** The pull secret's credentials (a keychain over its dockerconfigjson). */
export async function pullSecretAuth(cluster: Cluster, namespace: string, name: string, who: string): Promise<RegistryAuth> {
  const secret = await cluster.readSecret(namespace, name);
  if (!secret) throw new UserError(`${who}: imagePullSecret ${JSON.stringify(name)} does not exist in namespace ${namespace}; nothing was applied`);
  if (secret.type !== DOCKER_CONFIG_JSON) throw new UserError(`${who}: imagePullSecret ${namespace}/${name} is of type ${secret.type ?? "Opaque"}, istio-agent reads only ${DOCKER_CONFIG_JSON}`);
  const encoded = secret.data?.[".dockerconfigjson"];
  if (!encoded) throw new UserError(`${who}: imagePullSecret ${namespace}/${name} has no .dockerconfigjson`);
  return dockerConfigKeychain(Buffer.from(encoded, "base64").toString("utf8"), `secret ${namespace}/${name}`);
}

export interface VerifiedImages {
  resolver: ImageResolver;
  /** The modules pulled, by plugin name. */
  pulled: Map<string, PulledImage>;
}

/** An image resolver that pulls and verifies each image with the credentials the cluster will use. */
export function verifyingResolver(cluster: Cluster, opts: { insecure?: boolean; timeoutMs?: number } = {}): VerifiedImages {
  const pulled = new Map<string, PulledImage>();
  const auths = new Map<string, Promise<RegistryAuth | undefined>>();
  const resolver: ImageResolver = async (entry, ref, config) => {
    const secret = entry.imagePullSecret ?? config.imagePullSecret;
    let auth = auths.get(secret ?? "");
    if (!auth) {
      auth = secret ? pullSecretAuth(cluster, config.namespace, secret, `plugins[${entry.index}] (${entry.name})`) : Promise.resolve(undefined);
      auths.set(secret ?? "", auth);
    }
    const credentials = await auth;
    const { pullWasmImage } = await import("../../oci/pull.ts");
    const image = await pullWasmImage(entry.image, {
      ...(credentials ? { auth: credentials } : {}),
      ...(opts.insecure ? { insecure: true } : {}),
      timeoutMs: opts.timeoutMs ?? 30_000,
      ...(ref.digest ? { expectedSha256: ref.digest } : {}),
    }).catch((e: Error) => {
      throw new UserError(`${entry.imageWhere}: istio-agent would not load it${secret ? ` (pulled with imagePullSecret ${secret})` : ""}: ${e.message}; nothing was applied`, { cause: e });
    });
    pulled.set(entry.name, image);
    const version = image.manifest.annotations?.[IMAGE_VERSION_ANNOTATION];
    return { repository: `${ref.registry}/${ref.repository}`, digest: image.manifestDigest.slice(7), ...(version ? { version } : {}) };
  };
  return { resolver, pulled };
}

/** The selector or targetRefs of each plugin point at something that exists. */
export async function checkTargets(cluster: Cluster, config: DeployConfig, entry: PluginEntry, spec: Record<string, unknown>, workloads: WorkloadInfo[]): Promise<void> {
  const who = `plugins[${entry.index}] (${entry.name})`;
  const refs = spec.targetRefs as Array<{ group?: string; kind: string; name: string }> | undefined;
  if (refs) {
    for (const r of refs) {
      const apiVersion = r.kind === "Service" ? "v1" : r.kind === "ServiceEntry" ? "networking.istio.io/v1" : `${r.group ?? "gateway.networking.k8s.io"}/v1`;
      let found: unknown;
      try {
        found = await cluster.read(apiVersion, r.kind, config.namespace, r.name);
      } catch (e) {
        if (e instanceof ApiCallError || /not found|does not serve|resource/i.test((e as Error).message)) {
          throw new UserError(`${who}: targetRefs ${r.kind}/${r.name}: the API server does not serve ${r.kind} (${apiVersion}) in namespace ${config.namespace}`);
        }
        throw e;
      }
      if (!found) throw new UserError(`${who}: targetRefs ${r.kind}/${r.name} does not exist in namespace ${config.namespace}; nothing was applied`);
    }
    return;
  }
  const selector = (spec.selector as { matchLabels?: Record<string, string> } | undefined)?.matchLabels ?? {};
  if (targetWorkloads(selector, workloads).length > 0) return;
  const pods = await cluster.listPods(config.namespace, labelSelector(selector) || undefined);
  if (pods.length > 0) return;
  const shown = labelSelector(selector) || "(no selector: every workload)";
  throw new UserError(`${who}: selector ${shown} selects no pod and no Deployment, StatefulSet or DaemonSet in namespace ${config.namespace}; nothing was applied`);
}
