/**
 * `meshwasm rollback PLUGIN [--to N] -n NS`: restores revision N (default: the previous complete
 * one) exactly, digest and configuration, from the history kept in the cluster.
 */
import type { Command } from "commander";
import { addClusterFlags, type ClusterFlags } from "../../k8s/cluster/cli-flags.ts";

export interface RollbackCommandOptions extends ClusterFlags {
  to?: string;
  forceConflicts?: boolean;
  insecure?: boolean;
}

export async function runRollbackCommand(plugin: string, opts: RollbackCommandOptions): Promise<void> {
  const { UserError } = await import("../../errors.ts");
  if (opts.to !== undefined && !/^\d+$/.test(opts.to)) throw new UserError(`--to: expected a revision number, got ${JSON.stringify(opts.to)}`);
  const { Cluster } = await import("../../k8s/cluster/client.ts");
  const { runRollback } = await import("../../k8s/deploy/rollback.ts");
  const cluster = Cluster.connect(opts);
  const result = await runRollback(cluster, {
    namespace: opts.namespace ?? cluster.target.namespace ?? "default",
    plugin,
    ...(opts.to !== undefined ? { to: Number(opts.to) } : {}),
    force: opts.forceConflicts === true,
    insecure: opts.insecure === true,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`${plugin}: revision ${result.revision} restores revision ${result.restored}\n`);
}

/** Registers `meshwasm rollback`. */
export function register(program: Command): void {
  addClusterFlags(
    program
      .command("rollback")
      .description("restore an earlier revision of a plugin exactly (digest and configuration), from the history in the cluster")
      .argument("<plugin>", "plugin name")
      .option("--to <revision>", "revision to restore (default: the previous complete one)")
      .option("--force-conflicts", "take over fields another field manager owns")
      .option("--insecure", "allow plain HTTP to the registry"),
  ).action(async (plugin: string, opts: RollbackCommandOptions) => runRollbackCommand(plugin, opts));
}
