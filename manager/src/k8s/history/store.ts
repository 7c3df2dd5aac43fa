/**
 * A plugin's history in the cluster: ConfigMap `meshwasm-history-<plugin>` in the plugin's
 * namespace (labels `app.kubernetes.io/managed-by: meshwasm`, `meshwasm.io/plugin`).
 *
 * Why a ConfigMap and not annotations on the WasmPlugin: it outlives the WasmPlugin (undeploy,
 * then rollback, still works), it holds up to 1 MiB (annotations share 256 KiB with everything
 * else on the object, and a pluginConfig such as a compiled auth policy can be large), and
 * writing it does not touch the WasmPlugin, whose resourceVersion istio-agent uses for
 * `imagePullPolicy: Always` (every history write would make every proxy pull again).
 *
 * Every write is conditional on the resourceVersion last read (replace with
 * metadata.resourceVersion), so two meshwasm commands working on the same plugin cannot
 * overwrite each other: the second gets a one-line error and changes nothing more.
 */
import type { V1ConfigMap } from "@kubernetes/client-node";
import { UserError } from "../../errors.ts";
import { ApiCallError } from "../cluster/errors.ts";
import type { Cluster } from "../cluster/client.ts";
import { MANAGED_BY_LABEL, MANAGER, PLUGIN_LABEL } from "../render/render.ts";
import { decodeHistory, emptyHistory, encodeHistory, trimHistory, type History } from "./model.ts";

export const historyConfigMapName = (plugin: string) => `meshwasm-history-${plugin}`;
/** ConfigMaps hold at most 1 MiB; stay clear of it. */
const MAX_BYTES = 900 * 1024;

export class HistoryStore {
  private resourceVersion: string | undefined;
  private exists = false;

  constructor(private readonly cluster: Cluster, readonly namespace: string, readonly plugin: string, private readonly limit: number) {}

  get name(): string {
    return historyConfigMapName(this.plugin);
  }

  async load(): Promise<History> {
    const cm = await this.cluster.readConfigMap(this.namespace, this.name);
    this.exists = cm !== undefined;
    this.resourceVersion = cm?.metadata?.resourceVersion;
    if (!cm) return emptyHistory(this.plugin);
    try {
      return decodeHistory(cm.data, this.plugin, `configmap ${this.namespace}/${this.name}`);
    } catch (e) {
      throw new UserError((e as Error).message, { cause: e });
    }
  }

  /** Writes the history (trimmed to the limit); fails if someone else wrote it since load(). */
  async save(history: History): Promise<void> {
    let trimmed = trimHistory(history, this.limit);
    let data = encodeHistory(trimmed);
    const size = () => Object.entries(data).reduce((n, [k, v]) => n + k.length + Buffer.byteLength(v), 0);
    for (let keep = this.limit - 1; size() > MAX_BYTES && keep >= 1; keep--) {
      trimmed = trimHistory(history, keep);
      data = encodeHistory(trimmed);
    }
    if (size() > MAX_BYTES) throw new UserError(`the history of plugin ${this.plugin} does not fit in configmap ${this.namespace}/${this.name} (${size()} bytes > ${MAX_BYTES}): its pluginConfig is too large`);
    const body: V1ConfigMap = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: this.name,
        namespace: this.namespace,
        labels: { [MANAGED_BY_LABEL]: MANAGER, [PLUGIN_LABEL]: this.plugin },
        ...(this.resourceVersion ? { resourceVersion: this.resourceVersion } : {}),
      },
      data,
    };
    try {
      const written = this.exists ? await this.cluster.replaceConfigMap(this.namespace, body) : await this.cluster.createConfigMap(this.namespace, body);
      this.exists = true;
      this.resourceVersion = written.metadata?.resourceVersion;
    } catch (e) {
      if (e instanceof ApiCallError && e.status === 409) {
        throw new UserError(`the history of plugin ${this.plugin} (configmap ${this.namespace}/${this.name}) was changed by another command while this one ran; nothing more was done: run it again`, { cause: e });
      }
      throw e;
    }
  }

  async remove(): Promise<boolean> {
    return this.cluster.deleteConfigMap(this.namespace, this.name);
  }
}
