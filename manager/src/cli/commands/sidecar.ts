/**
 * `meshwasm sidecar -c <file>`: runs the local sidecar from an Envoy v3 bootstrap until
 * SIGINT/SIGTERM. Configuration errors surface as UserError (one line, no stack).
 */
import { startSidecar } from "../../sidecar/proxy/sidecar.ts";

export interface SidecarCommandOptions {
  config: string;
  concurrency?: string;
}

export async function runSidecarCommand(opts: SidecarCommandOptions): Promise<void> {
  const concurrency = opts.concurrency === undefined ? 1 : Number(opts.concurrency);
  const sidecar = await startSidecar(
    { configPath: opts.config },
    { concurrency, log: (line) => process.stderr.write(`${line}\n`) },
  );
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
