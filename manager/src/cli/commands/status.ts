/**
 * `meshwasm status [PLUGIN…] -n NS [--json]`: per plugin, the revision in effect (digest, version,
 * configuration), the rollout and the wave it reached, the last health-gate reading, the live
 * objects and what they select, and the history kept in the cluster.
 */
import type { Command } from "commander";
import { addClusterFlags, type ClusterFlags } from "../../k8s/cluster/cli-flags.ts";

export interface StatusCommandOptions extends ClusterFlags {
  json?: boolean;
}

export async function runStatusCommand(plugins: string[], opts: StatusCommandOptions): Promise<void> {
  const { Cluster } = await import("../../k8s/cluster/client.ts");
  const { collectStatus, formatStatus } = await import("../../k8s/deploy/status.ts");
  const cluster = Cluster.connect(opts);
  const namespace = opts.namespace ?? cluster.target.namespace ?? "default";
  const status = await collectStatus(cluster, namespace, plugins);
  process.stdout.write(opts.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
}

/** Registers `meshwasm status`. */
export function register(program: Command): void {
  addClusterFlags(
    program
      .command("status")
      .description("what is deployed: revision, digest, version, waves, last gate reading, selected workloads, history")
      .argument("[plugin...]", "only these plugins (default: all in the namespace)")
      .option("--json", "print the status as JSON"),
  ).action(async (plugins: string[], opts: StatusCommandOptions) => runStatusCommand(plugins, opts));
}
