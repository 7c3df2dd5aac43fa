/**
 * `meshwasm sidecar -c <file>`: runs the local sidecar from an Envoy v3 bootstrap until
 * SIGINT/SIGTERM. Configuration errors surface as UserError (one line, no stack).
 */
import { UserError } from "../../errors.ts";
import type { Command } from "commander";

export interface SidecarCommandOptions {
  config: string;
  concurrency?: string;
}

export async function runSidecarCommand(opts: SidecarCommandOptions): Promise<void> {
  const concurrency = opts.concurrency === undefined ? 1 : Number(opts.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new UserError(`--concurrency: expected a positive integer, got "${opts.concurrency}"`);
  }
  // Log lines wait until start-up succeeds: if it fails, the one-line error already carries the
  // reason (a plugin's own complaint is quoted in it).
  let held: string[] | undefined = [];
  const log = (line: string) => (held ? held.push(line) : process.stderr.write(`${line}\n`));
  const { startSidecar } = await import("../../sidecar/proxy/sidecar.ts");
  const sidecar = await startSidecar({ configPath: opts.config }, { concurrency, log });
  for (const line of held) process.stderr.write(`${line}\n`);
  held = undefined;
  for (const l of sidecar.listeners) {
    process.stdout.write(`listener ${l.name} on ${l.address}:${l.port}\n`);
  }
  if (sidecar.adminPort !== undefined) process.stdout.write(`admin on port ${sidecar.adminPort}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await sidecar.stop();
}

/** Registers `meshwasm sidecar`. */
export function register(program: Command): void {
  program
    .command("sidecar")
    .description("run the local sidecar from an Envoy v3 bootstrap (YAML or JSON)")
    .requiredOption("-c, --config <file>", "Envoy bootstrap file")
    .option("--concurrency <n>", "worker VMs per Wasm plugin (Envoy --concurrency)", "1")
    .action(async (opts: SidecarCommandOptions) => runSidecarCommand(opts));
}
