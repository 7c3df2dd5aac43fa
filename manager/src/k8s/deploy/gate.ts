/**
 * The health gate of one wave in a cluster: the pods the wave's objects select (listed in the
 * API server, by each object's selector), then the gate run against Prometheus (gate/run.ts).
 */
import type { Cluster } from "../cluster/client.ts";
import { labelSelector } from "../cluster/client.ts";
import type { GateVerdict } from "../gate/evaluate.ts";
import { runGate } from "../gate/run.ts";
import type { Revision } from "../history/model.ts";
import type { GateConfig } from "../render/config.ts";
import type { PlannedWave } from "../rollout/waves.ts";

export async function podsOfWave(cluster: Cluster, namespace: string, wave: PlannedWave, revision: Revision): Promise<string[]> {
  const names = new Set<string>();
  for (const target of wave.objects) {
    const selector = target.selector ?? (revision.spec.selector as { matchLabels?: Record<string, string> } | undefined)?.matchLabels;
    if (revision.spec.targetRefs !== undefined && !target.selector) continue;
    for (const pod of await cluster.listPods(namespace, selector ? labelSelector(selector) || undefined : undefined)) {
      if (pod.metadata?.name) names.add(pod.metadata.name);
    }
  }
  return [...names].sort();
}

export async function gateForWave(cluster: Cluster, namespace: string, config: GateConfig, wave: PlannedWave, revision: Revision, t0: Date, log: (l: string) => void): Promise<GateVerdict> {
  const pods = await podsOfWave(cluster, namespace, wave, revision);
  return runGate({
    config,
    t0,
    log,
    scope: {
      namespace,
      pods,
      namespaceLabel: config.namespaceLabel,
      podLabel: config.podLabel,
      objects: wave.objects.map((o) => ({ kind: revision.kind, namespace, name: o.name })),
    },
  });
}
