/**
 * `meshwasm deploy`: the whole path from a deployment file to WasmPlugins in effect, nothing
 * applied until every check has passed:
 *
 * 1. the cluster (kubeconfig, context) and who the user is (a 401 stops here);
 * 2. the namespace exists; the deployment file is read, configurations compiled, each image
 *    pulled and verified with the pull secret's credentials (preflight.ts), objects rendered
 *    and validated offline against the targeted Istio CRD (render/);
 * 3. each plugin's selector or targetRefs point at something; waves are planned (rollout/waves.ts);
 * 4. every object of every wave goes through a server-side dry run (the real CRD, its CEL rules,
 *    admission, field ownership: a conflict names the other manager), so nothing is written if
 *    any would be refused;
 * 5. `--dry-run` stops here and returns the diffs; otherwise each plugin whose revision differs
 *    from the one in effect is rolled out (rollout/engine.ts), wave by wave with the health gate.
 *
 * A plugin whose revision is unchanged is left alone (re-applying is a no-op); objects that
 * drifted from it are put back.
 */
import type { Cluster } from "../cluster/client.ts";
import type { GateVerdict } from "../gate/evaluate.ts";
import { findRevision, type Revision } from "../history/model.ts";
import { HistoryStore } from "../history/store.ts";
import { readDeployConfig, type DeployConfig, type ResourceKind } from "../render/config.ts";
import { loadDeployment, readText, type LoadedDeployment } from "../render/load.ts";
import type { RenderedPlugin } from "../render/render.ts";
import { GROUP_VERSION } from "../render/render.ts";
import { PluginEngine, sameTarget } from "../rollout/engine.ts";
import { liveMatches, objectFor, revisionFrom } from "../rollout/objects.ts";
import { planWaves, singleWave, type PlannedWave } from "../rollout/waves.ts";
import { objectDiff } from "./diff-text.ts";
import { gateForWave } from "./gate.ts";
import { checkNamespace, checkTargets, verifyingResolver } from "./preflight.ts";

export interface DeployOptions {
  file: string;
  namespace?: string;
  istioVersion?: string;
  kind?: ResourceKind;
  images?: string[];
  /** Only these plugins (names); default all. */
  only?: string[];
  dryRun?: boolean;
  force?: boolean;
  insecure?: boolean;
  /** Replaces rollout.gate.prometheus. */
  prometheus?: string;
  /** Skip the health gate. */
  noGate?: boolean;
  log: (line: string) => void;
  /** Called as each plugin is done (before a later plugin can fail). */
  report?: (outcome: PluginOutcome) => void;
  now?: () => Date;
}

export interface PluginOutcome {
  plugin: string;
  action: "unchanged" | "repaired" | "deployed" | "resumed" | "planned";
  revision?: number;
  diffs: string[];
  deleted?: string[];
}

export interface Prepared {
  config: DeployConfig;
  loaded: LoadedDeployment;
  who: string;
  plans: Array<{ rendered: RenderedPlugin; waves: PlannedWave[]; revision: Revision; store: HistoryStore }>;
}

/** Steps 1-4: everything checked, nothing written. */
export async function prepareDeploy(cluster: Cluster, opts: DeployOptions): Promise<Prepared> {
  const who = await cluster.whoami();
  const overrides = { ...(opts.namespace ? { namespace: opts.namespace } : {}), ...(opts.istioVersion ? { istioVersion: opts.istioVersion } : {}), ...(opts.kind ? { kind: opts.kind } : {}) };
  const config = readDeployConfig(await readText(opts.file, "deployment file"), opts.file, overrides);
  await checkNamespace(cluster, config.namespace);
  const verified = verifyingResolver(cluster, { ...(opts.insecure ? { insecure: true } : {}) });
  const loaded = await loadDeployment(opts.file, { ...overrides, images: opts.images ?? [], resolveImage: verified.resolver });
  for (const n of opts.only ?? []) {
    if (!loaded.config.plugins.some((p) => p.name === n)) throw new (await import("../../errors.ts")).UserError(`no plugin ${JSON.stringify(n)} in ${opts.file} (${loaded.config.plugins.map((p) => p.name).join(", ")})`);
  }
  const workloads = await cluster.listWorkloads(config.namespace);
  const plans: Prepared["plans"] = [];
  const now = opts.now?.() ?? new Date();
  for (const rendered of loaded.rendered) {
    if (opts.only?.length && !opts.only.includes(rendered.entry.name)) continue;
    await checkTargets(cluster, loaded.config, rendered.entry, rendered.object.spec, workloads);
    const waves = loaded.config.rollout?.waves.length ? planWaves(rendered.entry.name, rendered.object.spec, config.namespace, workloads, loaded.config.rollout.waves) : singleWave(rendered.entry.name);
    const store = new HistoryStore(cluster, config.namespace, rendered.entry.name, loaded.config.rollout?.historyLimit ?? 10);
    const revision = revisionFrom(rendered, 0, waves.flatMap((w) => w.objects), who, now);
    plans.push({ rendered, waves, revision, store });
  }
  for (const plan of plans) {
    for (const target of plan.revision.objects) await cluster.apply(objectFor(plan.revision, target, config.namespace), { dryRun: true, force: opts.force === true });
  }
  return { config: loaded.config, loaded, who, plans };
}

/** The diff of each object of a plan against the cluster (server-side dry run). */
export async function planDiffs(cluster: Cluster, prepared: Prepared, force: boolean): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const plan of prepared.plans) {
    const diffs: string[] = [];
    const namespace = prepared.config.namespace;
    for (const target of plan.revision.objects) {
      const desired = objectFor({ ...plan.revision, revision: await nextRevisionNumber(plan.store, plan.revision) }, target, namespace);
      const live = await cluster.read(GROUP_VERSION, desired.kind, namespace, desired.metadata.name);
      const after = await cluster.apply(desired, { dryRun: true, force });
      const d = objectDiff(live, after, `${desired.kind}/${namespace}/${desired.metadata.name}`);
      if (d) diffs.push(d);
    }
    out.set(plan.rendered.entry.name, diffs);
  }
  return out;
}

/** The revision number an unchanged plan keeps (the one in effect) or a changed one would get. */
async function nextRevisionNumber(store: HistoryStore, revision: Revision): Promise<number> {
  const history = await store.load();
  const current = history.state.current === undefined ? undefined : findRevision(history, history.state.current);
  if (current && sameTarget(current, { ...revision, revision: current.revision })) return current.revision;
  return history.state.rollout?.revision ?? history.state.next;
}

export async function runDeploy(cluster: Cluster, opts: DeployOptions): Promise<PluginOutcome[]> {
  const prepared = await prepareDeploy(cluster, opts);
  if (opts.dryRun) {
    const diffs = await planDiffs(cluster, prepared, opts.force === true);
    return prepared.plans.map((p) => ({ plugin: p.rendered.entry.name, action: "planned" as const, diffs: diffs.get(p.rendered.entry.name) ?? [] }));
  }
  const namespace = prepared.config.namespace;
  const gateConfig = prepared.config.rollout?.gate && !opts.noGate ? { ...prepared.config.rollout.gate, ...(opts.prometheus ? { prometheus: opts.prometheus.replace(/\/+$/, "") } : {}) } : undefined;
  const outcomes: PluginOutcome[] = [];
  const done = (o: PluginOutcome) => {
    outcomes.push(o);
    opts.report?.(o);
  };
  for (const plan of prepared.plans) {
    const name = plan.rendered.entry.name;
    const history = await plan.store.load();
    const gate = gateConfig ? (wave: PlannedWave, revision: Revision, t0: Date): Promise<GateVerdict> => gateForWave(cluster, namespace, gateConfig, wave, revision, t0, opts.log) : undefined;
    const engine = new PluginEngine(plan.store, history, { cluster, namespace, who: prepared.who, force: opts.force === true, log: opts.log, ...(opts.now ? { now: opts.now } : {}), ...(gate ? { gate } : {}) });
    const candidate = { ...plan.revision, revision: history.state.next };
    const resume = await engine.settleInterrupted(candidate);
    if (resume) {
      const deleted = await engine.rollOut(findRevision(engine.current, resume.revision)!, plan.waves, resume);
      done({ plugin: name, action: "resumed", revision: resume.revision, diffs: [], deleted });
      continue;
    }
    const state = engine.current.state;
    const current = state.current === undefined ? undefined : findRevision(engine.current, state.current);
    if (current && sameTarget(current, { ...candidate, revision: current.revision })) {
      const drifted: string[] = [];
      for (const target of current.objects) {
        const desired = objectFor(current, target, namespace);
        const live = await cluster.read(GROUP_VERSION, desired.kind, namespace, desired.metadata.name);
        if (!liveMatches(live, desired)) {
          await cluster.apply(desired, { force: opts.force === true });
          drifted.push(desired.metadata.name);
        }
      }
      if (drifted.length) opts.log(`${name}: revision ${current.revision} unchanged; put back ${drifted.join(", ")}, which had drifted from it`);
      else opts.log(`${name}: revision ${current.revision} unchanged (${current.digest.slice(0, 12)}…); nothing to do`);
      done({ plugin: name, action: drifted.length ? "repaired" : "unchanged", revision: current.revision, diffs: [] });
      continue;
    }
    opts.log(`${name}: rolling out revision ${candidate.revision} (${plan.rendered.version ?? "unversioned"}, sha256:${plan.rendered.digest.slice(0, 12)}…) in ${plan.waves.length} wave(s)${gate ? " with the health gate" : ""}`);
    const deleted = await engine.rollOut(candidate, plan.waves);
    if (deleted.length) opts.log(`${name}: deleted ${deleted.join(", ")}, which revision ${candidate.revision} no longer has`);
    done({ plugin: name, action: "deployed", revision: candidate.revision, diffs: [], deleted });
  }
  return outcomes;
}
