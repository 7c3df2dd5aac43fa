/**
 * `meshwasm build`: compiles every filter to build/filters/<name>.wasm, writes
 * build/manifest.json and prints the size report. Errors are thrown (UserError) for the CLI.
 */
import { buildFilters, formatSizeReport } from "../../build/index.ts";

export async function runBuildCommand(opts: { debug?: boolean }): Promise<void> {
  const result = await buildFilters({ debug: opts.debug === true });
  process.stdout.write(formatSizeReport(result) + "\n");
}
