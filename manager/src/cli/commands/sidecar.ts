/**
 * `meshwasm sidecar -c <file>`: runs the local sidecar from an Envoy v3 bootstrap until
 * SIGINT/SIGTERM. Configuration errors surface as UserError (one line, no stack).
 * `-l/--log-level` and `--component-log-level` set Envoy's loggers as Envoy's own options do
 * (`wasm:debug` shows a filter's logDebug); log lines go to stderr in Envoy's default format.
 * `--plugins DIR` or `--watch [--kubeconfig F] [--context C]` (with `--labels`, `--namespace`, `--wasm-cache`, `--insecure-registries`,
 * `--pull-secrets`)
 * loads and watches WasmPlugin resources as istiod + istio-agent would (sidecar/plugins).
 */
import { UserError } from "../../errors.ts";
import type { Command } from "commander";
import type { WatchCliOptions } from "../../sidecar/plugins/watch-options.ts";

export interface SidecarCommandOptions extends WatchCliOptions {
  config: string;
  concurrency?: string;
  logLevel?: string;
  componentLogLevel?: string;
}

export async function runSidecarCommand(opts: SidecarCommandOptions): Promise<void> {
  const concurrency = opts.concurrency === undefined ? 1 : Number(opts.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new UserError(`--concurrency: expected a positive integer, got "${opts.concurrency}"`);
  }
  // Log lines wait until start-up succeeds: if it fails, the one-line error already carries the
  // reason (a plugin's own complaint is quoted in it).
  let held: string[] | undefined = [];
  const { LogRegistry, LogLevelError, formatEnvoyLogLine } = await import("../../sidecar/host/log.ts");
  const logs = new LogRegistry((logger, level, message) => {
    const line = formatEnvoyLogLine(new Date(), process.pid, logger, level, message);
    if (held) held.push(line);
    else process.stderr.write(`${line}\n`);
  });
  try {
    logs.applyOptions(opts.logLevel ?? "info", opts.componentLogLevel ?? "");
  } catch (e) {
    throw e instanceof LogLevelError ? new UserError(e.message) : e;
  }
  if (opts.wasmCache) await (await import("../path-checks.ts")).checkOutputFolder("--wasm-cache", opts.wasmCache);
  const { pluginsOptionsFrom } = await import("../../sidecar/plugins/cli-options.ts");
  const { usesWatch, watchOptionsFrom } = await import("../../sidecar/plugins/watch-options.ts");
  const { LogLevel } = await import("../../sidecar/host/abi.ts");
  const levels = { info: LogLevel.Info, warn: LogLevel.Warn, error: LogLevel.Error } as const;
  const plugins = usesWatch(opts) ? await watchOptionsFrom(opts, (level, line) => logs.log("wasm", levels[level], line)) : pluginsOptionsFrom(opts);
  const { startSidecar } = await import("../../sidecar/proxy/sidecar.ts");
  const sidecar = await startSidecar({ configPath: opts.config }, { concurrency, logs, ...(plugins ? { plugins } : {}) });
  for (const line of held) process.stderr.write(`${line}\n`);
  held = undefined;
  for (const l of sidecar.listeners) {
    process.stdout.write(`listener ${l.name} on ${l.address}:${l.port}\n`);
  }
  if (sidecar.adminPort !== undefined) process.stdout.write(`admin on port ${sidecar.adminPort}\n`);
  // Envoy runs until signalled even with nothing to serve; signal handlers alone do not keep
  // Node's event loop alive (a bootstrap with no listener and no admin exited at once, code 13).
  const keepAlive = setInterval(() => {}, 2 ** 30);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  clearInterval(keepAlive);
  await sidecar.stop();
}

/** Registers `meshwasm sidecar`. */
export function register(program: Command): void {
  program
    .command("sidecar")
    .description("run the local sidecar from an Envoy v3 bootstrap (YAML or JSON)")
    .requiredOption("-c, --config <file>", "Envoy bootstrap file")
    .option("--concurrency <n>", "worker VMs per Wasm plugin (Envoy --concurrency)", "1")
    .option("-l, --log-level <level>", "trace, debug, info, warning|warn, error, critical or off (Envoy --log-level)", "info")
    .option("--component-log-level <list>", "per-logger levels, e.g. wasm:debug,http:trace (Envoy --component-log-level)")
    .option("--plugins <dir>", "load and watch the WasmPlugin resources in <dir>, as istiod and istio-agent would")
    .option("--labels <k=v,...>", "the workload's labels, for WasmPlugin selectors (repeatable)", (v: string, all: string[] = []) => [...all, v])
    .option("--namespace <ns>", "the workload's namespace (and of manifests without one); default \"default\"")
    .option("--wasm-cache <dir>", "write fetched Wasm modules here, as istio-agent's cache does")
    .option("--insecure-registries <hosts>", "registries to pull from over plain HTTP (comma-separated, * for all)")
    .option("--watch", "follow the WasmPlugins (and TrafficExtensions) of --namespace and istio-system in an API server, as istiod pushes them")
    .option("--kubeconfig <file>", "with --watch: kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)")
    .option("--context <name>", "with --watch: kubeconfig context")
    .option("--pull-secrets <dir>", "the Secrets imagePullSecret names: <dir>/<name>.json, each a .dockerconfigjson")
    .action(async (opts: SidecarCommandOptions) => runSidecarCommand(opts));
}
