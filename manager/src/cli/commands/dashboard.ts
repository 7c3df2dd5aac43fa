/**
 * `meshwasm dashboard [--out DIR] [--check]`: writes the Grafana dashboards (dashboards/) as JSON
 * and as ConfigMaps labelled `grafana_dashboard: "1"` into DIR (default: deploy/grafana/ in the
 * repository), one line per file on stdout. `--check` writes nothing and fails (UserError) when a
 * file in DIR differs from what would be written, naming it.
 */
import type { Command } from "commander";
import { UserError } from "../../errors.ts";

export interface DashboardCommandOptions {
  out?: string;
  check?: boolean;
}

const DEFAULT_OUT = new URL("../../../../deploy/grafana/", import.meta.url);

export async function runDashboardCommand(opts: DashboardCommandOptions): Promise<void> {
  const { renderDashboardFiles } = await import("../../dashboards/index.ts");
  const { mkdir, readFile, writeFile } = await import("node:fs/promises");
  const { join, resolve } = await import("node:path");
  const { fileURLToPath } = await import("node:url");
  const dir = opts.out ? resolve(opts.out) : fileURLToPath(DEFAULT_OUT);
  const files = renderDashboardFiles();
  if (opts.check) {
    if (opts.out) await (await import("../path-checks.ts")).checkInputFolder("--out", opts.out);
    const stale: string[] = [];
    for (const f of files) {
      const current = await readFile(join(dir, f.name), "utf8").catch(() => undefined);
      if (current !== f.content) stale.push(join(dir, f.name));
    }
    if (stale.length > 0) throw new UserError(`dashboards out of date (run meshwasm dashboard): ${stale.join(", ")}`);
    process.stdout.write(`${files.length} dashboard files up to date in ${dir}\n`);
    return;
  }
  if (opts.out) await (await import("../path-checks.ts")).checkOutputFolder("--out", opts.out);
  await mkdir(dir, { recursive: true });
  for (const f of files) {
    await writeFile(join(dir, f.name), f.content);
    process.stdout.write(`${join(dir, f.name)}\n`);
  }
}

/** Registers `meshwasm dashboard`. */
export function register(program: Command): void {
  program
    .command("dashboard")
    .description("write the Grafana dashboards as JSON and as grafana_dashboard ConfigMaps (default into deploy/grafana/)")
    .option("--out <dir>", "output folder")
    .option("--check", "write nothing; fail if the files in the output folder are not up to date")
    .action(async (opts: DashboardCommandOptions) => runDashboardCommand(opts));
}
