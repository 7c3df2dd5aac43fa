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

/** Prints a failure on one line (the stack too when asked for) and exits 1. */
function fail(err: unknown, verbose: boolean): never {
  process.stderr.write(`meshwasm: ${describeFailure(err).line}\n`);
  if (verbose || debugRequested(process.env)) process.stderr.write(`${verboseDetail(err)}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  const program = new Command();
  program
    .name("meshwasm")
    .description("gRPC-aware Envoy Wasm filters: build, run locally, publish, deploy")
    .option("--verbose", "on failure, also print the stack trace (as DEBUG=meshwasm does)");
  const verbose = () => program.opts().verbose === true;
  // A reader that stops early (`meshwasm ... | head`) ends the output, not in an error.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (e: NodeJS.ErrnoException) => (e.code === "EPIPE" ? process.exit(0) : fail(e, verbose())));
  }
  // Failures outside the command's own promise (an event handler, a timer) get the same one line.
  process.on("uncaughtException", (err) => fail(err, verbose()));
  try {
    await registerCommands(program);
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof ExitError) process.exit(err.code);
    fail(err, verbose());
  }
}

await main();
