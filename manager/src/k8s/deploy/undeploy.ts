/**
 * `meshwasm undeploy PLUGIN…`: deletes every WasmPlugin / TrafficExtension of the plugins (those
 * labelled `app.kubernetes.io/managed-by: meshwasm` and `meshwasm.io/plugin: <name>`) after
 * reverting any interrupted rollout. The history stays, so `rollback` can bring a plugin back;
 * `--purge-history` deletes it too.
 */
import { UserError } from "../../errors.ts";
import type { Cluster } from "../cluster/client.ts";
import { HistoryStore } from "../history/store.ts";
import { PluginEngine } from "../rollout/engine.ts";
import { checkNamespace } from "./preflight.ts";

export interface UndeployOptions {
  namespace: string;
  plugins: string[];
  purgeHistory?: boolean;
  log: (line: string) => void;
}

export async function runUndeploy(cluster: Cluster, opts: UndeployOptions): Promise<Array<{ plugin: string; deleted: string[] }>> {
  if (opts.plugins.length === 0) throw new UserError("name the plugins to undeploy (meshwasm status lists them)");
  const who = await cluster.whoami();
  await checkNamespace(cluster, opts.namespace);
  const out: Array<{ plugin: string; deleted: string[] }> = [];
  for (const plugin of opts.plugins) {
    const store = new HistoryStore(cluster, opts.namespace, plugin, 100);
    const history = await store.load();
    const engine = new PluginEngine(store, history, { cluster, namespace: opts.namespace, who, force: false, log: opts.log });
    const deleted = await engine.undeploy();
    if (deleted.length === 0 && history.revisions.length === 0) throw new UserError(`plugin ${plugin} has no objects and no history in namespace ${opts.namespace}`);
    if (opts.purgeHistory) await store.remove();
    opts.log(`${plugin}: deleted ${deleted.join(", ") || "nothing (no objects left)"}${opts.purgeHistory ? "; history deleted" : "; history kept (meshwasm rollback can restore it)"}`);
    out.push({ plugin, deleted });
  }
  return out;
}
