/**
 * The `meshwasm` command line. Every file in ./commands registers its own command with
 * `export function register(program)` and keeps its top-level imports light (implementations
 * are imported inside the action), so starting one command never loads the others. This is the
 * only place that exits the process; commands throw UserError / ExitError instead.
 */
import { Command } from "commander";
import { readdirSync } from "node:fs";
import { ExitError, UserError } from "../errors.ts";

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
  program.name("meshwasm").description("gRPC-aware Envoy Wasm filters: build, run locally, publish, deploy");
  try {
    await registerCommands(program);
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
