/**
 * Rollout waves across the workloads a plugin targets (pure).
 *
 * A WasmPlugin selects pods by `matchLabels` only, so a new revision cannot reach some of the
 * selected pods and not others through one object. A rollout in waves therefore gives each
 * target workload (Deployment, StatefulSet, DaemonSet whose pod template carries the plugin's
 * selector) its own object `<plugin>-<workload>`, selecting exactly that workload's pods by the
 * workload's own `spec.selector.matchLabels`, and moves the objects wave by wave: explicitly
 * named workloads (a canary), then cumulative shares of the rest in name order (25%: the first
 * quarter, rounded up), the last wave everything.
 *
 * Refused, each with a one-line reason: targetRefs (gateways and waypoints are not workloads),
 * a selector matching no workload, a workload selecting by matchExpressions or by nothing, a
 * workload whose selector also matches another workload's pods (its object would reach them
 * too), a wave naming a workload that is not targeted.
 */
import { UserError } from "../../errors.ts";
import type { WorkloadInfo } from "../cluster/client.ts";
import type { WaveSpec } from "../render/config.ts";
import type { ObjectTarget } from "../history/model.ts";

export interface PlannedWave {
  name: string;
  objects: ObjectTarget[];
}

const subset = (small: Record<string, string>, big: Record<string, string>) => Object.entries(small).every(([k, v]) => big[k] === v);
const show = (labels: Record<string, string>) => Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(",") || "(every workload)";

/** The workloads a selector targets (pod template labels contain it), by name. */
export function targetWorkloads(selector: Record<string, string>, workloads: WorkloadInfo[]): WorkloadInfo[] {
  return workloads.filter((w) => subset(selector, w.templateLabels));
}

export function objectNameFor(plugin: string, workload: string): string {
  const name = `${plugin}-${workload}`;
  if (name.length > 253) throw new UserError(`object name ${name.slice(0, 40)}… for plugin ${plugin} and workload ${workload} is longer than 253 characters`);
  return name;
}

export function planWaves(plugin: string, spec: Record<string, unknown>, namespace: string, workloads: WorkloadInfo[], waves: WaveSpec[]): PlannedWave[] {
  if (spec.targetRefs !== undefined) throw new UserError(`plugin ${plugin}: rollout waves need a workload selector; targetRefs (gateways, waypoints) are applied in one step: remove rollout.waves`);
  const selector = ((spec.selector as { matchLabels?: Record<string, string> } | undefined)?.matchLabels) ?? {};
  const targets = targetWorkloads(selector, workloads);
  if (targets.length === 0) throw new UserError(`plugin ${plugin}: selector ${show(selector)} matches no Deployment, StatefulSet or DaemonSet in namespace ${namespace}`);
  for (const w of targets) {
    if (w.hasExpressions) throw new UserError(`plugin ${plugin}: ${w.kind} ${w.name} selects its pods with matchExpressions, which a WasmPlugin selector cannot express; roll out without waves`);
    if (Object.keys(w.matchLabels).length === 0) throw new UserError(`plugin ${plugin}: ${w.kind} ${w.name} has no spec.selector.matchLabels to select its pods by`);
    const other = workloads.find((v) => v !== w && subset(w.matchLabels, v.templateLabels));
    if (other) {
      throw new UserError(`plugin ${plugin}: ${w.kind} ${w.name}'s selector ${show(w.matchLabels)} also selects the pods of ${other.kind} ${other.name}, so a wave could not reach one without the other; give them distinct labels or roll out without waves`);
    }
  }
  const byName = new Map(targets.map((w) => [w.name, w]));
  const named = new Set(waves.flatMap((w) => w.workloads ?? []));
  for (const n of named) if (!byName.has(n)) throw new UserError(`plugin ${plugin}: rollout wave names workload ${n}, which is not among the targeted workloads (${targets.map((w) => w.name).join(", ")})`);
  const assigned = new Set<string>();
  const out: PlannedWave[] = [];
  for (const spec of waves) {
    let names: string[];
    if (spec.workloads) names = spec.workloads.filter((n) => !assigned.has(n));
    else {
      const goal = spec.percent === 100 ? targets.length : Math.ceil((spec.percent! / 100) * targets.length);
      const free = targets.map((w) => w.name).filter((n) => !assigned.has(n) && (spec.percent === 100 || !named.has(n)));
      names = free.slice(0, Math.max(0, goal - assigned.size));
    }
    for (const n of names) assigned.add(n);
    if (names.length === 0) continue;
    out.push({
      name: spec.name,
      objects: names.map((n) => ({ name: objectNameFor(plugin, n), workload: n, selector: { ...byName.get(n)!.matchLabels } })),
    });
  }
  return out;
}

/** The one wave of a plugin rolled out without waves: its one object, the rendered one. */
export function singleWave(plugin: string): PlannedWave[] {
  return [{ name: "all", objects: [{ name: plugin }] }];
}
