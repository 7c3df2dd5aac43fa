/**
 * Applying revisions of one plugin to the cluster, wave by wave, with the journal kept in the
 * plugin's history (history/model.ts) so that an interruption never leaves a wave half-applied
 * without the record saying so, and the next command settles it:
 *
 * - before a wave's first object is written its journal entry becomes `applying`, and `applied`
 *   only after its last; then the gate runs and the wave becomes `passed`, or `failed`;
 * - a failed gate reverts every wave touched so far to the revision in effect before (objects it
 *   had are applied back, objects it did not have are deleted), records the gate's reading and
 *   the revision's outcome, and fails with the reading;
 * - after the last wave, objects of the plugin that the revision no longer has are deleted and
 *   the revision becomes the one in effect.
 *
 * Every write of an object is server-side apply (field manager meshwasm); every history write is
 * conditional on the history's resourceVersion.
 */
import { UserError } from "../../errors.ts";
import type { Cluster } from "../cluster/client.ts";
import type { GateVerdict } from "../gate/evaluate.ts";
import { findRevision, type GateRecord, type History, type ObjectTarget, type Revision, type RolloutJournal } from "../history/model.ts";
import type { HistoryStore } from "../history/store.ts";
import { GROUP_VERSION, MANAGED_BY_LABEL, MANAGER, PLUGIN_LABEL } from "../render/render.ts";
import { objectFor } from "./objects.ts";
import type { PlannedWave } from "./waves.ts";

export interface EngineDeps {
  cluster: Cluster;
  namespace: string;
  who: string;
  force: boolean;
  log: (line: string) => void;
  now?: () => Date;
  /** Judges a wave that was applied at t0; absent: no gate. */
  gate?: (wave: PlannedWave, revision: Revision, t0: Date) => Promise<GateVerdict>;
}

/** A failed health gate: the rollout was reverted; the message carries the failing reading. */
export class GateFailedError extends UserError {
  constructor(message: string, readonly verdict: GateVerdict) {
    super(message);
  }
}

export class PluginEngine {
  constructor(private readonly store: HistoryStore, private history: History, private readonly deps: EngineDeps) {}

  get current(): History {
    return this.history;
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  private async save(): Promise<void> {
    await this.store.save(this.history);
  }

  private async applyTarget(revision: Revision, target: ObjectTarget): Promise<void> {
    await this.deps.cluster.apply(objectFor(revision, target, this.deps.namespace), { force: this.deps.force });
  }

  private async deleteObject(kind: string, name: string): Promise<void> {
    await this.deps.cluster.delete(GROUP_VERSION, kind, this.deps.namespace, name);
  }

  /** Puts `targets` back as `from` had them (deleting those `from` did not have). */
  private async revertTargets(from: Revision | undefined, targets: ObjectTarget[], kind: string): Promise<void> {
    for (const t of targets) {
      const had = from?.objects.find((o) => o.name === t.name);
      if (from && had) await this.applyTarget(from, had);
      else await this.deleteObject(from?.kind ?? kind, t.name);
    }
  }

  /** Objects of the plugin in the namespace that `keep` does not list. */
  private async deleteStale(keep: Revision): Promise<string[]> {
    const plugin = this.history.state.plugin;
    const selector = `${MANAGED_BY_LABEL}=${MANAGER},${PLUGIN_LABEL}=${plugin}`;
    const deleted: string[] = [];
    for (const kind of ["WasmPlugin", "TrafficExtension"] as const) {
      if (kind !== keep.kind && kind === "TrafficExtension" && !(await this.servesTrafficExtension())) continue;
      for (const live of await this.deps.cluster.list(GROUP_VERSION, kind, this.deps.namespace, selector)) {
        const name = live.metadata?.name ?? "";
        if (kind === keep.kind && keep.objects.some((o) => o.name === name)) continue;
        await this.deleteObject(kind, name);
        deleted.push(`${kind}/${name}`);
      }
    }
    return deleted;
  }

  private trafficExtensionServed?: boolean;
  private async servesTrafficExtension(): Promise<boolean> {
    if (this.trafficExtensionServed === undefined) {
      try {
        await this.deps.cluster.list(GROUP_VERSION, "TrafficExtension", this.deps.namespace);
        this.trafficExtensionServed = true;
      } catch {
        this.trafficExtensionServed = false;
      }
    }
    return this.trafficExtensionServed;
  }

  /**
   * Settles an interrupted rollout before anything else: with `resumeWith` the same revision's
   * rollout continues from its first wave that did not pass (returns the journal to resume);
   * otherwise every wave it touched is reverted to the revision it started from.
   */
  async settleInterrupted(resumeWith?: Revision): Promise<RolloutJournal | undefined> {
    const journal = this.history.state.rollout;
    if (!journal) return undefined;
    const revision = findRevision(this.history, journal.revision);
    if (!journal.reverting && resumeWith && revision && sameTarget(revision, resumeWith)) {
      this.deps.log(`${this.history.state.plugin}: resuming the interrupted rollout of revision ${journal.revision}`);
      return journal;
    }
    this.deps.log(`${this.history.state.plugin}: reverting the interrupted rollout of revision ${journal.revision} to ${journal.from === undefined ? "nothing" : `revision ${journal.from}`}`);
    const from = journal.from === undefined ? undefined : findRevision(this.history, journal.from);
    journal.reverting = true;
    await this.save();
    const touched = journal.waves.filter((w) => w.state !== "pending").flatMap((w) => w.objects);
    await this.revertTargets(from, touched, revision?.kind ?? "WasmPlugin");
    for (const w of journal.waves) if (w.state !== "pending") w.state = "reverted";
    if (revision && revision.outcome === "in-progress") revision.outcome = "interrupted";
    this.finish(journal, revision?.outcome ?? "interrupted");
    this.history.state.current = journal.from;
    await this.save();
    return undefined;
  }

  private finish(journal: RolloutJournal, outcome: Revision["outcome"]): void {
    this.history.state.lastRollout = {
      revision: journal.revision,
      outcome,
      waves: journal.waves.map((w) => ({ name: w.name, state: w.state, workloads: w.objects.map((o) => o.workload ?? o.name) })),
    };
    delete this.history.state.rollout;
  }

  /** Rolls `revision` out in `waves` (resuming `resume` when given). Returns the stale objects deleted. */
  async rollOut(revision: Revision, waves: PlannedWave[], resume?: RolloutJournal): Promise<string[]> {
    const state = this.history.state;
    let journal: RolloutJournal;
    if (resume) journal = resume;
    else {
      this.history.revisions.push(revision);
      state.next = revision.revision + 1;
      journal = {
        revision: revision.revision,
        ...(state.current !== undefined ? { from: state.current } : {}),
        startedAt: this.now().toISOString(),
        who: this.deps.who,
        waves: waves.map((w) => ({ name: w.name, objects: w.objects, state: "pending" as const })),
      };
      state.rollout = journal;
      delete state.undeployedAt;
      await this.save();
    }
    const stored = findRevision(this.history, journal.revision)!;
    for (const [i, wave] of journal.waves.entries()) {
      if (wave.state === "passed") continue;
      wave.state = "applying";
      await this.save();
      for (const target of wave.objects) await this.applyTarget(stored, target);
      wave.state = "applied";
      await this.save();
      const t0 = this.now();
      this.deps.log(`${state.plugin}: revision ${stored.revision} wave ${i + 1}/${journal.waves.length} (${wave.name}) applied: ${wave.objects.map((o) => o.workload ?? o.name).join(", ")}`);
      if (this.deps.gate) {
        const verdict = await this.deps.gate({ name: wave.name, objects: wave.objects }, stored, t0);
        const record: GateRecord = { revision: stored.revision, wave: wave.name, passed: verdict.passed, readings: verdict.readings, ...(verdict.failure ? { failure: verdict.failure } : {}), at: this.now().toISOString() };
        state.lastGate = record;
        for (const line of verdict.readings) this.deps.log(`  gate ${wave.name}: ${line}`);
        if (!verdict.passed) {
          wave.state = "failed";
          await this.revertAfterGate(journal, stored);
          const back = journal.from === undefined ? "the plugin was removed again" : `rolled back to revision ${journal.from}`;
          throw new GateFailedError(`${state.plugin}: health gate failed after wave ${wave.name} of revision ${stored.revision}: ${verdict.failure}; ${back}`, verdict);
        }
      }
      wave.state = "passed";
      await this.save();
    }
    const deleted = await this.deleteStale(stored);
    stored.outcome = "complete";
    state.current = stored.revision;
    this.finish(journal, "complete");
    await this.save();
    return deleted;
  }

  private async revertAfterGate(journal: RolloutJournal, revision: Revision): Promise<void> {
    journal.reverting = true;
    await this.save();
    const from = journal.from === undefined ? undefined : findRevision(this.history, journal.from);
    const touched = journal.waves.filter((w) => w.state !== "pending").flatMap((w) => w.objects);
    await this.revertTargets(from, touched, revision.kind);
    for (const w of journal.waves) if (w.state !== "pending" && w.state !== "failed") w.state = "reverted";
    revision.outcome = "gate-failed";
    this.finish(journal, "gate-failed");
    this.history.state.current = journal.from;
    await this.save();
    this.deps.log(`${this.history.state.plugin}: reverted ${touched.map((o) => o.workload ?? o.name).join(", ")} to ${journal.from === undefined ? "no plugin" : `revision ${journal.from}`}`);
  }

  /** Deletes every object of the plugin; the history stays (rollback can bring it back). */
  async undeploy(): Promise<string[]> {
    await this.settleInterrupted();
    const state = this.history.state;
    const keepNothing = { kind: "WasmPlugin", objects: [] } as unknown as Revision;
    const deleted = await this.deleteStale(keepNothing);
    delete state.current;
    state.undeployedAt = this.now().toISOString();
    if (this.history.revisions.length > 0) await this.save();
    return deleted;
  }
}

/** Two revisions that put the same objects in the same state. */
export function sameTarget(a: Revision, b: Revision): boolean {
  const key = (r: Revision) => JSON.stringify([r.kind, sortDeep(r.spec), r.objects.map((o) => [o.name, sortDeep(o.selector ?? null)]), sortDeep(r.labels), sortDeep(r.annotations)]);
  return key(a) === key(b);
}

function sortDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortDeep);
  if (v && typeof v === "object") return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortDeep((v as Record<string, unknown>)[k])]));
  return v;
}
