/**
 * `meshwasm build`: compiles every filter to build/filters/<name>.wasm, writes
 * build/manifest.json and prints the size report. Errors are thrown (UserError) for the CLI.
 */
import type { Command } from "commander";

export async function runBuildCommand(opts: { debug?: boolean }): Promise<void> {
  const { buildFilters, formatSizeReport } = await import("../../build/index.ts");
  const result = await buildFilters({ debug: opts.debug === true });
  process.stdout.write(formatSizeReport(result) + "\n");
}

/** Registers `meshwasm build`. */
export function register(program: Command): void {
  program
    .command("build")
    .description("compile every filter to build/filters/<name>.wasm and write build/manifest.json")
    .option("--debug", "also build the debug variants")
    .action(async (opts: { debug?: boolean }) => runBuildCommand(opts));
}
