/**
 * The `meshwasm` command line. Every file in ./commands registers its own command with
 * `export function register(program)` and keeps its top-level imports light (implementations
 * are imported inside the action); a run that names its command loads only that command's file
 * (command-files.ts). This is the only place that exits the process; commands throw UserError /
 * ExitError instead, and any failure is printed on one line (failure.ts); `--verbose` or
 * DEBUG=meshwasm adds the stack trace.
 */
import { Command } from "commander";
import { readdirSync } from "node:fs";
import { register } from "node:module";
import { ExitError } from "../errors.ts";
import { commandNames, commandsToLoad } from "./command-files.ts";
import { debugRequested, describeFailure, verboseDetail } from "./failure.ts";

// Dependencies load as plain Node loads them, not through tsx (see node-modules-hooks.mjs).
register(new URL("./node-modules-hooks.mjs", import.meta.url));

async function registerCommands(program: Command): Promise<void> {
  const dir = new URL("./commands/", import.meta.url);
  for (const name of commandsToLoad(commandNames(readdirSync(dir)), process.argv.slice(2))) {
    const mod = (await import(new URL(`${name}.ts`, dir).href)) as { register?: (p: Command) => void };
    mod.register?.(program);
  }
}

async function main(): Promise<void> {
  const program = new Command();
  program
    .name("meshwasm")
    .description("gRPC-aware Envoy Wasm filters: build, run locally, publish, deploy")
    .option("--verbose", "on failure, also print the stack trace (as DEBUG=meshwasm does)");
  try {
    await registerCommands(program);
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof ExitError) process.exit(err.code);
    const failure = describeFailure(err);
    process.stderr.write(`meshwasm: ${failure.line}\n`);
    if (program.opts().verbose === true || debugRequested(process.env)) process.stderr.write(`${verboseDetail(err)}\n`);
    process.exit(1);
  }
}

await main();
