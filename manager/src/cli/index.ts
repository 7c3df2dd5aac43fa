/**
 * The `meshwasm` command line. Every file in ./commands registers its own command with
 * `export function register(program)` and keeps its top-level imports light (implementations
 * are imported inside the action), so starting one command never loads the others. This is the
 * only place that exits the process; commands throw UserError / ExitError instead, and any
 * failure is printed on one line (failure.ts); `--verbose` or DEBUG=meshwasm adds the stack.
 */
import { Command } from "commander";
import { readdirSync } from "node:fs";
import { register } from "node:module";
import { ExitError } from "../errors.ts";
import { debugRequested, describeFailure, verboseDetail } from "./failure.ts";

// Dependencies load as plain Node loads them, not through tsx (see node-modules-hooks.mjs).
register(new URL("./node-modules-hooks.mjs", import.meta.url));

/** Commands in the order `meshwasm --help` lists them; files not named here follow, sorted. */
const ORDER = ["build", "sidecar", "push", "pull", "verify", "inspect", "policy", "dashboard",
  "render", "deploy", "status", "diff", "rollback", "undeploy", "demo"];

async function registerCommands(program: Command): Promise<void> {
  const dir = new URL("./commands/", import.meta.url);
  const names = readdirSync(dir)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))
    .map((f) => f.slice(0, -3));
  const rank = (n: string) => (ORDER.includes(n) ? ORDER.indexOf(n) : ORDER.length);
  names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  for (const name of names) {
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
