/**
 * `meshwasm deploy -f meshwasm.yaml [PLUGIN…]`: verifies, validates and server-side applies the
 * WasmPlugins (or TrafficExtensions) of a deployment file, wave by wave with the health gate when
 * the file has `rollout`, recording each revision in the cluster. `--dry-run` prints what would
 * change (server-side dry run) and changes nothing. Progress goes to stderr, one result line per
 * plugin to stdout; a failed gate exits 1 with the reading that failed after rolling back.
 */
import type { Command } from "commander";
import { addClusterFlags, type ClusterFlags } from "../../k8s/cluster/cli-flags.ts";
import { collect } from "../../oci/cli-flags.ts";

export interface DeployCommandOptions extends ClusterFlags {
  file: string;
  dryRun?: boolean;
  forceConflicts?: boolean;
  prometheus?: string;
  gate?: boolean;
  image?: string[];
  istioVersion?: string;
  kind?: string;
  insecure?: boolean;
}

export async function runDeployCommand(plugins: string[], opts: DeployCommandOptions): Promise<void> {
  const { UserError } = await import("../../errors.ts");
  if (opts.kind !== undefined && opts.kind !== "WasmPlugin" && opts.kind !== "TrafficExtension") throw new UserError(`--kind: expected WasmPlugin or TrafficExtension, got ${JSON.stringify(opts.kind)}`);
  await (await import("../path-checks.ts")).checkInputFile("--file", opts.file);
  const { Cluster } = await import("../../k8s/cluster/client.ts");
  const { runDeploy } = await import("../../k8s/deploy/deploy.ts");
  const cluster = Cluster.connect(opts);
  const outcomes = await runDeploy(cluster, {
    file: opts.file,
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
    ...(opts.istioVersion ? { istioVersion: opts.istioVersion } : {}),
    ...(opts.kind ? { kind: opts.kind as "WasmPlugin" | "TrafficExtension" } : {}),
    images: opts.image ?? [],
    only: plugins,
    dryRun: opts.dryRun === true,
    force: opts.forceConflicts === true,
    insecure: opts.insecure === true,
    ...(opts.prometheus ? { prometheus: opts.prometheus } : {}),
    noGate: opts.gate === false,
    log: (line) => process.stderr.write(`${line}\n`),
    report: (o) => process.stdout.write(`${o.plugin}: revision ${o.revision} ${o.action}\n`),
  });
  for (const o of outcomes) {
    if (o.action !== "planned") continue;
    for (const d of o.diffs) process.stdout.write(d);
    process.stdout.write(`${o.plugin}: ${o.diffs.length ? `${o.diffs.length} object(s) would change` : "no changes"} (dry run: nothing was applied)\n`);
  }
}

/** Registers `meshwasm deploy`. */
export function register(program: Command): void {
  addClusterFlags(
    program
      .command("deploy")
      .description("verify images, validate and server-side apply the WasmPlugins of a deployment file, in waves with a health gate; history kept in the cluster")
      .argument("[plugin...]", "only these plugins of the file (default: all)")
      .requiredOption("-f, --file <meshwasm.yaml>", "deployment file")
      .option("--dry-run", "print what would change (server-side dry run) and change nothing")
      .option("--force-conflicts", "take over fields another field manager owns")
      .option("--prometheus <url>", "Prometheus for the health gate (replaces rollout.gate.prometheus)")
      .option("--no-gate", "roll out without the health gate")
      .option("--image <name=ref>", "use this image for a plugin or filter (repeatable)", collect, [])
      .option("--istio-version <version>", "the Istio release to target (default: the file's)")
      .option("--kind <kind>", "WasmPlugin or TrafficExtension (default: the file's)")
      .option("--insecure", "allow plain HTTP to the registry (always allowed for loopback and private addresses)"),
    "namespace (default: the file's)",
  ).action(async (plugins: string[], opts: DeployCommandOptions) => runDeployCommand(plugins, opts));
}
