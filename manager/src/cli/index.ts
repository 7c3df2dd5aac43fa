/**
 * The `meshwasm` command line: registers commands and loads each lazily. This is the only
 * place that exits the process; commands throw UserError / ExitError instead.
 */
import { Command } from "commander";
import { ExitError, UserError } from "../errors.ts";

const program = new Command();
program.name("meshwasm").description("gRPC-aware Envoy Wasm filters: build, run locally, publish, deploy");

program
  .command("build")
  .description("compile every filter to build/filters/<name>.wasm and write build/manifest.json")
  .option("--debug", "also build the debug variants")
  .action(async (opts: { debug?: boolean }) => {
    const { runBuildCommand } = await import("./commands/build.ts");
    await runBuildCommand(opts);
  });

program
  .command("sidecar")
  .description("run the local sidecar from an Envoy v3 bootstrap (YAML or JSON)")
  .requiredOption("-c, --config <file>", "Envoy bootstrap file")
  .option("--concurrency <n>", "worker VMs per Wasm plugin (Envoy --concurrency)", "1")
  .action(async (opts: { config: string; concurrency?: string }) => {
    const { runSidecarCommand } = await import("./commands/sidecar.ts");
    await runSidecarCommand(opts);
  });

program
  .command("demo")
  .description("run the demo mesh: sidecar, filters, three demo gRPC services, a burst of traffic")
  .option("--rpcs <n>", "number of RPCs in the burst", "600")
  .action(async (opts: { rpcs: string }) => {
    const { runDemoCommand } = await import("./commands/demo.ts");
    await runDemoCommand({ rpcs: Number(opts.rpcs) });
  });

async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof ExitError) process.exit(err.code);
    if (err instanceof UserError) {
      process.stderr.write(`meshwasm: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

await main();
