/**
 * `meshwasm build [filter…] [--debug] [--json] [--out DIR]`: release builds of the filters into
 * <out>/filters/<name>.wasm and <out>/manifest.json (default out: build/ in the repository).
 * Output: on a terminal a progress line redrawn in place, then the size report; otherwise one plain
 * line per module, then the report; with --json only the manifest, as JSON, on stdout. Errors are
 * thrown (UserError) for the CLI.
 */
import type { Command } from "commander";
import type { BuildProgress } from "../../build/build-filters.ts";

export interface BuildCommandOptions {
  debug?: boolean;
  json?: boolean;
  out?: string;
}

/** Progress renderer: redraws one line on a terminal, prints plain lines otherwise. */
export function progressPrinter(
  stream: { isTTY?: boolean; write(s: string): unknown },
  formatBuilt: (e: Extract<BuildProgress, { kind: "built" }>) => string,
): (e: BuildProgress) => void {
  const tty = stream.isTTY === true;
  return (e) => {
    if (e.kind === "compiling" && tty) stream.write(`\r\x1b[2K[${e.index}/${e.total}] compiling ${e.name} (${e.variant})…`);
    if (e.kind === "built") {
      if (tty) stream.write(`\r\x1b[2K[${e.index}/${e.total}] built ${e.module.name} (${e.module.variant})${e.index === e.total ? "\n" : ""}`);
      else stream.write(`${formatBuilt(e)}\n`);
    }
  };
}

export async function runBuildCommand(filters: string[], opts: BuildCommandOptions): Promise<void> {
  if (opts.out) await (await import("../path-checks.ts")).checkOutputFolder("--out", opts.out);
  const { buildFilters, formatSizeReport, formatBuiltLine } = await import("../../build/index.ts");
  const path = await import("node:path");
  const onProgress = opts.json ? undefined : progressPrinter(process.stderr, (e) => formatBuiltLine(e.module));
  const result = await buildFilters({
    debug: opts.debug === true,
    only: filters,
    ...(opts.out ? { outDir: path.resolve(opts.out) } : {}),
    ...(onProgress ? { onProgress } : {}),
  });
  if (opts.json) process.stdout.write(JSON.stringify(result.manifest, null, 2) + "\n");
  else process.stdout.write(formatSizeReport(result) + "\n");
}

/** Registers `meshwasm build`. */
export function register(program: Command): void {
  program
    .command("build")
    .description("release builds of the filters (all, or those named) into build/filters/<name>.wasm and build/manifest.json")
    .argument("[filter...]", "filter names (default: every filter)")
    .option("--debug", "also build the debug variants")
    .option("--json", "print the build manifest as JSON instead of the report")
    .option("--out <dir>", "output directory (default: build/ in the repository)")
    .action(async (filters: string[], opts: BuildCommandOptions) => runBuildCommand(filters, opts));
}
