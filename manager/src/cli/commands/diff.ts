/**
 * `meshwasm diff -f meshwasm.yaml [PLUGIN…]`: what `deploy` would change, as unified diffs of each
 * object in the cluster against the API server's server-side dry run of the new one (after the
 * same checks as deploy). Changes nothing. `--exit-code` exits 1 when there are differences.
 */
import type { Command } from "commander";
import { addClusterFlags, type ClusterFlags } from "../../k8s/cluster/cli-flags.ts";
import { collect } from "../../oci/cli-flags.ts";

export interface DiffCommandOptions extends ClusterFlags {
  file: string;
  exitCode?: boolean;
  image?: string[];
  istioVersion?: string;
  kind?: string;
  insecure?: boolean;
}

export async function runDiffCommand(plugins: string[], opts: DiffCommandOptions): Promise<void> {
  const { UserError, ExitError } = await import("../../errors.ts");
  if (opts.kind !== undefined && opts.kind !== "WasmPlugin" && opts.kind !== "TrafficExtension") throw new UserError(`--kind: expected WasmPlugin or TrafficExtension, got ${JSON.stringify(opts.kind)}`);
  await (await import("../path-checks.ts")).checkInputFile("--file", opts.file);
  const { Cluster } = await import("../../k8s/cluster/client.ts");
  const { prepareDeploy, planDiffs } = await import("../../k8s/deploy/deploy.ts");
  const cluster = Cluster.connect(opts);
  const prepared = await prepareDeploy(cluster, {
    file: opts.file,
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
    ...(opts.istioVersion ? { istioVersion: opts.istioVersion } : {}),
    ...(opts.kind ? { kind: opts.kind as "WasmPlugin" | "TrafficExtension" } : {}),
    images: opts.image ?? [],
    only: plugins,
    insecure: opts.insecure === true,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const diffs = await planDiffs(cluster, prepared, false);
  let changed = 0;
  for (const list of diffs.values()) for (const d of list) {
    process.stdout.write(d);
    changed++;
  }
  if (opts.exitCode && changed > 0) throw new ExitError(1);
}

/** Registers `meshwasm diff`. */
export function register(program: Command): void {
  addClusterFlags(
    program
      .command("diff")
      .description("show what deploy would change (server-side dry run against the cluster)")
      .argument("[plugin...]", "only these plugins of the file (default: all)")
      .requiredOption("-f, --file <meshwasm.yaml>", "deployment file")
      .option("--exit-code", "exit 1 when there are differences")
      .option("--image <name=ref>", "use this image for a plugin or filter (repeatable)", collect, [])
      .option("--istio-version <version>", "the Istio release to target (default: the file's)")
      .option("--kind <kind>", "WasmPlugin or TrafficExtension (default: the file's)")
      .option("--insecure", "allow plain HTTP to the registry"),
    "namespace (default: the file's)",
  ).action(async (plugins: string[], opts: DiffCommandOptions) => runDiffCommand(plugins, opts));
}
