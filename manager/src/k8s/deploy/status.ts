/**
 * `meshwasm status`: per plugin of a namespace (those with a meshwasm history ConfigMap or
 * objects labelled as meshwasm's), what Istio gives no status for: the revision in effect (pinned
 * digest, image version, configuration digest, who and when), the rollout in progress or the
 * last one and the wave it reached, the last health-gate reading, each live object (its revision
 * and digest, and which pods and workloads its selector selects) and the kept history.
 */
import type { Cluster, WorkloadInfo } from "../cluster/client.ts";
import { labelSelector } from "../cluster/client.ts";
import type { History, HistoryState, Revision } from "../history/model.ts";
import { decodeHistory } from "../history/model.ts";
import { historyConfigMapName } from "../history/store.ts";
import { GROUP_VERSION, MANAGED_BY_LABEL, MANAGER, PLUGIN_LABEL, REVISION_ANNOTATION, VERSION_ANNOTATION } from "../render/render.ts";
import { targetWorkloads } from "../rollout/waves.ts";
import { checkNamespace } from "./preflight.ts";

export interface ObjectStatus {
  kind: string;
  name: string;
  revision?: number;
  digest?: string;
  version?: string;
  selector?: Record<string, string>;
  targetRefs?: unknown[];
  pods: string[];
  workloads: string[];
}

export interface PluginStatus {
  plugin: string;
  namespace: string;
  current?: Revision;
  state: HistoryState;
  objects: ObjectStatus[];
  revisions: Revision[];
}

export async function collectStatus(cluster: Cluster, namespace: string, only: string[] = []): Promise<PluginStatus[]> {
  await checkNamespace(cluster, namespace);
  const managed = `${MANAGED_BY_LABEL}=${MANAGER}`;
  const maps = await cluster.call(`listing configmaps in ${namespace}`, () => cluster.core.listNamespacedConfigMap({ namespace, labelSelector: managed }));
  const histories = new Map<string, History>();
  for (const cm of maps.items) {
    const plugin = cm.metadata?.labels?.[PLUGIN_LABEL];
    if (!plugin || cm.metadata?.name !== historyConfigMapName(plugin)) continue;
    histories.set(plugin, decodeHistory(cm.data, plugin, `configmap ${namespace}/${cm.metadata.name}`));
  }
  const live = [...(await cluster.list(GROUP_VERSION, "WasmPlugin", namespace, managed))];
  try {
    live.push(...(await cluster.list(GROUP_VERSION, "TrafficExtension", namespace, managed)));
  } catch {
    /* TrafficExtension not served (Istio < 1.30) */
  }
  const workloads = await cluster.listWorkloads(namespace);
  const names = new Set([...histories.keys(), ...live.map((o) => o.metadata?.labels?.[PLUGIN_LABEL]).filter((n): n is string => !!n)]);
  const out: PluginStatus[] = [];
  for (const plugin of [...names].sort()) {
    if (only.length && !only.includes(plugin)) continue;
    const history = histories.get(plugin) ?? { state: { plugin, next: 1 }, revisions: [] };
    const objects: ObjectStatus[] = [];
    for (const o of live.filter((x) => x.metadata?.labels?.[PLUGIN_LABEL] === plugin)) {
      const spec = (o.spec ?? {}) as Record<string, unknown>;
      const module = (o.kind === "TrafficExtension" ? spec.wasm : spec) as { sha256?: string; url?: string } | undefined;
      const selector = (spec.selector as { matchLabels?: Record<string, string> } | undefined)?.matchLabels;
      const targetRefs = spec.targetRefs as unknown[] | undefined;
      const pods = targetRefs ? [] : (await cluster.listPods(namespace, selector ? labelSelector(selector) || undefined : undefined)).map((p) => p.metadata?.name ?? "").sort();
      const revision = Number(o.metadata?.annotations?.[REVISION_ANNOTATION]);
      objects.push({
        kind: o.kind ?? "WasmPlugin",
        name: o.metadata?.name ?? "",
        ...(Number.isInteger(revision) ? { revision } : {}),
        ...(module?.sha256 ? { digest: module.sha256 } : {}),
        ...(o.metadata?.annotations?.[VERSION_ANNOTATION] ? { version: o.metadata.annotations[VERSION_ANNOTATION] } : {}),
        ...(selector ? { selector } : {}),
        ...(targetRefs ? { targetRefs } : {}),
        pods,
        workloads: targetRefs ? [] : targetWorkloads(selector ?? {}, workloads).map((w: WorkloadInfo) => `${w.kind}/${w.name}`),
      });
    }
    const current = history.state.current === undefined ? undefined : history.revisions.find((r) => r.revision === history.state.current);
    out.push({ plugin, namespace, ...(current ? { current } : {}), state: history.state, objects, revisions: history.revisions });
  }
  return out;
}

const short = (d: string | undefined) => (d ? `sha256:${d.slice(0, 12)}…` : "-");

export function formatStatus(list: PluginStatus[]): string {
  if (list.length === 0) return "no meshwasm plugins in this namespace\n";
  const lines: string[] = [];
  for (const s of list) {
    lines.push(`${s.plugin} (namespace ${s.namespace})`);
    const c = s.current;
    lines.push(c
      ? `  in effect:  revision ${c.revision}  ${c.version ?? "unversioned"}  ${short(c.digest)}  config ${c.configSha256 ? short(c.configSha256) : "none"}  by ${c.who} at ${c.when}${c.rollbackOf !== undefined ? `  (rollback to ${c.rollbackOf})` : ""}`
      : `  in effect:  none${s.state.undeployedAt ? ` (undeployed at ${s.state.undeployedAt})` : ""}`);
    const j = s.state.rollout;
    if (j) lines.push(`  rollout:    revision ${j.revision} ${j.reverting ? "being reverted" : "INTERRUPTED"}: ${j.waves.map((w) => `${w.name} ${w.state}`).join(", ")} (the next deploy, rollback or undeploy settles it)`);
    else if (s.state.lastRollout) {
      const r = s.state.lastRollout;
      const reached = [...r.waves].reverse().find((w) => w.state === "passed" || w.state === "applied");
      lines.push(`  rollout:    revision ${r.revision} ${r.outcome}; waves ${r.waves.map((w) => `${w.name} ${w.state}`).join(", ")}${reached ? `; reached ${reached.name}` : ""}`);
    }
    const g = s.state.lastGate;
    if (g) lines.push(`  last gate:  revision ${g.revision} wave ${g.wave} ${g.passed ? "passed" : "FAILED"} at ${g.at}: ${g.failure ?? g.readings.join("; ")}`);
    for (const o of s.objects) {
      const target = o.targetRefs ? `targetRefs ${JSON.stringify(o.targetRefs)}` : `selects ${o.pods.length ? `pods ${o.pods.join(", ")}` : "no pod"}${o.workloads.length ? ` (${o.workloads.join(", ")})` : ""}`;
      lines.push(`  object:     ${o.kind} ${o.name}  revision ${o.revision ?? "?"}  ${o.version ?? ""} ${short(o.digest)}  ${target}`);
    }
    if (s.revisions.length) {
      lines.push("  history:");
      for (const r of [...s.revisions].reverse()) {
        lines.push(`    ${String(r.revision).padStart(3)}  ${r.rollbackOf !== undefined ? `rollback to ${r.rollbackOf}` : "deploy"}  ${r.version ?? "unversioned"}  ${short(r.digest)}  config ${r.configSha256 ? short(r.configSha256) : "none"}  ${r.who}  ${r.when}  ${r.outcome}`);
      }
    }
  }
  return lines.join("\n") + "\n";
}
