/**
 * `meshwasm undeploy PLUGIN… -n NS [--purge-history]`: deletes the plugins' WasmPlugins (or
 * TrafficExtensions); the history stays for `rollback` unless `--purge-history`.
 */
import type { Command } from "commander";
import { addClusterFlags, type ClusterFlags } from "../../k8s/cluster/cli-flags.ts";

export interface UndeployCommandOptions extends ClusterFlags {
  purgeHistory?: boolean;
}

export async function runUndeployCommand(plugins: string[], opts: UndeployCommandOptions): Promise<void> {
  const { Cluster } = await import("../../k8s/cluster/client.ts");
  const { runUndeploy } = await import("../../k8s/deploy/undeploy.ts");
  const cluster = Cluster.connect(opts);
  const result = await runUndeploy(cluster, {
    namespace: opts.namespace ?? cluster.target.namespace ?? "default",
    plugins,
    purgeHistory: opts.purgeHistory === true,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  for (const r of result) process.stdout.write(`${r.plugin}: deleted ${r.deleted.length} object(s)\n`);
}

/** Registers `meshwasm undeploy`. */
export function register(program: Command): void {
  addClusterFlags(
    program
      .command("undeploy")
      .description("delete a plugin's WasmPlugins; its history stays for rollback unless --purge-history")
      .argument("<plugin...>", "plugin names")
      .option("--purge-history", "also delete the plugin's history"),
  ).action(async (plugins: string[], opts: UndeployCommandOptions) => runUndeployCommand(plugins, opts));
}
