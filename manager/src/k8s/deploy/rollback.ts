/**
 * `meshwasm rollback PLUGIN [--to N]`: puts a plugin back exactly as revision N had it (default:
 * the last complete revision before the one in effect): the same objects, selectors, pinned
 * digest and configuration, from the history kept in the cluster, so it works from any machine.
 * An interrupted rollout is reverted first. The image is pulled and verified again with the
 * pull secret's credentials (a registry may have lost it) and every object goes through a
 * server-side dry run before anything is written. The rollback is itself a new revision
 * (`rollbackOf: N`), applied in one wave without a gate.
 */
import { UserError } from "../../errors.ts";
import type { Cluster } from "../cluster/client.ts";
import { findRevision, type History, type Revision } from "../history/model.ts";
import { HistoryStore } from "../history/store.ts";
import { PluginEngine } from "../rollout/engine.ts";
import { objectFor } from "../rollout/objects.ts";
import { checkNamespace, pullSecretAuth } from "./preflight.ts";

export interface RollbackOptions {
  namespace: string;
  plugin: string;
  to?: number;
  force?: boolean;
  insecure?: boolean;
  historyLimit?: number;
  log: (line: string) => void;
  now?: () => Date;
}

/** The revision `rollback` restores when no --to is given. */
export function defaultRollbackTarget(history: History): Revision | undefined {
  const current = history.state.current;
  const candidates = history.revisions.filter((r) => r.outcome === "complete" && (current === undefined ? true : r.revision < current) && r.revision !== current);
  return candidates[candidates.length - 1];
}

export async function runRollback(cluster: Cluster, opts: RollbackOptions): Promise<{ revision: number; restored: number }> {
  const who = await cluster.whoami();
  await checkNamespace(cluster, opts.namespace);
  const store = new HistoryStore(cluster, opts.namespace, opts.plugin, opts.historyLimit ?? 10);
  const history = await store.load();
  if (history.revisions.length === 0) throw new UserError(`plugin ${opts.plugin} has no history in namespace ${opts.namespace} (configmap ${store.name}); nothing to roll back to`);
  const known = history.revisions.map((r) => r.revision).join(", ");
  let target: Revision | undefined;
  if (opts.to !== undefined) {
    target = findRevision(history, opts.to);
    if (!target) throw new UserError(`plugin ${opts.plugin} has no revision ${opts.to} (kept: ${known})`);
  } else {
    target = defaultRollbackTarget(history);
    if (!target) throw new UserError(`plugin ${opts.plugin} has no earlier complete revision to roll back to (kept: ${known}; in effect: ${history.state.current ?? "none"})`);
  }
  const module = (target.kind === "WasmPlugin" ? target.spec : (target.spec.wasm as Record<string, unknown>)) as { url: string; imagePullSecret?: string };
  const auth = module.imagePullSecret ? await pullSecretAuth(cluster, opts.namespace, module.imagePullSecret, `${opts.plugin} revision ${target.revision}`) : undefined;
  const { pullWasmImage } = await import("../../oci/pull.ts");
  await pullWasmImage(module.url, { ...(auth ? { auth } : {}), ...(opts.insecure ? { insecure: true } : {}), expectedSha256: target.digest, timeoutMs: 30_000 }).catch((e: Error) => {
    throw new UserError(`${opts.plugin} revision ${target!.revision}: istio-agent would not load ${module.url}: ${e.message}; nothing was changed`, { cause: e });
  });
  for (const o of target.objects) await cluster.apply(objectFor(target, o, opts.namespace), { dryRun: true, force: opts.force === true });
  const engine = new PluginEngine(store, history, { cluster, namespace: opts.namespace, who, force: opts.force === true, log: opts.log, ...(opts.now ? { now: opts.now } : {}) });
  await engine.settleInterrupted();
  const number = engine.current.state.next;
  const revision: Revision = { ...structuredClone(target), revision: number, who, when: (opts.now?.() ?? new Date()).toISOString(), rollbackOf: target.revision, outcome: "in-progress" };
  opts.log(`${opts.plugin}: rolling back to revision ${target.revision} (${target.version ?? "unversioned"}, sha256:${target.digest.slice(0, 12)}…) as revision ${number}`);
  await engine.rollOut(revision, [{ name: "rollback", objects: target.objects }]);
  return { revision: number, restored: target.revision };
}
