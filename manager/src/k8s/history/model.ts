/**
 * A plugin's history, as kept in the cluster (store.ts: one ConfigMap per plugin, so that any
 * machine with access to the namespace can see it and roll back), pure:
 *
 * - `Revision`: everything needed to put a revision back exactly: the object kind, the spec
 *   template (url pinned by digest, sha256, placement, pluginConfig…), the objects it was applied
 *   as (one, or one per workload with that workload's selector), and what it was (digest, image
 *   version, configuration digest), who applied it, when, how (deploy or rollback of N) and how
 *   its rollout ended.
 * - `State`: the revision fully in effect, the next revision number, and the journal of the
 *   rollout in progress: its waves and each wave's state. A wave is `applying` before its first
 *   object is written and `applied` only after the last one, so after an interruption the journal
 *   says exactly which wave may be partly applied; the next command finishes or reverts it before
 *   doing anything else.
 *
 * Encoding: data keys `state` and `revision-<5 digits>`, each compact JSON. Only the newest
 * `limit` revisions are kept (and always the one in effect).
 */

export type RolloutOutcome = "in-progress" | "complete" | "gate-failed" | "interrupted" | "reverted";
export type WaveState = "pending" | "applying" | "applied" | "passed" | "failed" | "reverted";

export interface ObjectTarget {
  /** metadata.name of the WasmPlugin / TrafficExtension. */
  name: string;
  /** The workload it is for (per-workload objects of a rollout in waves). */
  workload?: string;
  /** The selector the object carries (replaces the template's), for per-workload objects. */
  selector?: Record<string, string>;
}

export interface GateRecord {
  revision: number;
  wave: string;
  passed: boolean;
  /** One line per reading: "error ratio 0.000 (0 of 152 RPCs) <= 0.05". */
  readings: string[];
  /** The reading that failed, when it did. */
  failure?: string;
  at: string;
}

export interface Revision {
  revision: number;
  kind: "WasmPlugin" | "TrafficExtension";
  filter: string;
  digest: string;
  version?: string;
  configSha256: string;
  /** metadata.labels and annotations of the objects (without the revision annotation). */
  labels: Record<string, string>;
  annotations: Record<string, string>;
  spec: Record<string, unknown>;
  objects: ObjectTarget[];
  who: string;
  when: string;
  /** Set when this revision was made by `rollback` (the revision it restored). */
  rollbackOf?: number;
  outcome: RolloutOutcome;
}

export interface WaveJournal {
  name: string;
  objects: ObjectTarget[];
  state: WaveState;
}

export interface RolloutJournal {
  revision: number;
  /** The revision in effect before (undefined: the plugin was not deployed). */
  from?: number;
  startedAt: string;
  who: string;
  waves: WaveJournal[];
  /** Reverting after a failed gate (or finishing a revert) rather than rolling out. */
  reverting?: boolean;
}

export interface HistoryState {
  plugin: string;
  /** The revision in effect (undefined before the first deploy and after undeploy). */
  current?: number;
  next: number;
  rollout?: RolloutJournal;
  /** The last rollout's waves and how far it got. */
  lastRollout?: { revision: number; waves: Array<{ name: string; state: WaveState; workloads: string[] }>; outcome: RolloutOutcome };
  lastGate?: GateRecord;
  undeployedAt?: string;
}

export interface History {
  state: HistoryState;
  revisions: Revision[];
}

export const STATE_KEY = "state";
export const revisionKey = (n: number) => `revision-${String(n).padStart(5, "0")}`;

export function emptyHistory(plugin: string): History {
  return { state: { plugin, next: 1 }, revisions: [] };
}

export function encodeHistory(h: History): Record<string, string> {
  const data: Record<string, string> = { [STATE_KEY]: JSON.stringify(h.state) };
  for (const r of h.revisions) data[revisionKey(r.revision)] = JSON.stringify(r);
  return data;
}

/** Decodes ConfigMap data; `where` names the ConfigMap in errors. */
export function decodeHistory(data: Record<string, string> | undefined, plugin: string, where: string): History {
  if (!data || data[STATE_KEY] === undefined) return emptyHistory(plugin);
  const parse = <T>(key: string): T => {
    try {
      return JSON.parse(data[key]!) as T;
    } catch (e) {
      throw new Error(`${where}: data.${key} is not valid JSON (${(e as Error).message}); it was edited by hand?`);
    }
  };
  const state = parse<HistoryState>(STATE_KEY);
  const revisions = Object.keys(data)
    .filter((k) => /^revision-\d+$/.test(k))
    .map((k) => parse<Revision>(k))
    .sort((a, b) => a.revision - b.revision);
  return { state, revisions };
}

export function findRevision(h: History, n: number): Revision | undefined {
  return h.revisions.find((r) => r.revision === n);
}

/** Keeps the newest `limit` revisions, plus those the state still refers to. */
export function trimHistory(h: History, limit: number): History {
  const keep = new Set(h.revisions.slice(-limit).map((r) => r.revision));
  for (const n of [h.state.current, h.state.rollout?.revision, h.state.rollout?.from]) if (n !== undefined) keep.add(n);
  return { state: h.state, revisions: h.revisions.filter((r) => keep.has(r.revision)) };
}

/** The spec of `revision` as applied to one of its objects (per-workload selector in place). */
export function specForObject(revision: Pick<Revision, "spec">, target: ObjectTarget): Record<string, unknown> {
  if (!target.selector) return revision.spec;
  const { selector: _s, targetRefs: _t, ...rest } = revision.spec;
  return { selector: { matchLabels: target.selector }, ...rest };
}
