/**
 * The local sidecar as users run it, in a process of its own: `meshwasm sidecar -c <file>
 * --concurrency <n>` (`node --import tsx manager/src/cli/index.ts`, one process). Ready once it
 * has printed a `listener <name> on <address>:<port>` line for every listener expected. Its
 * stderr (Envoy-format log lines, the filter's included) is kept for the test to read. The child
 * is killed if the test process exits first.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "../../../manager/src/build/compile.ts";

export interface SidecarProcess {
  pid: number;
  /** Port per listener name. */
  ports: Map<string, number>;
  /** Everything the sidecar logged so far. */
  log(): string;
  stop(): Promise<void>;
}

export async function startSidecarProcess(
  configPath: string,
  opts: { listeners: string[]; concurrency?: number; startTimeoutMs?: number },
): Promise<SidecarProcess> {
  const args = [join("manager", "src", "cli", "index.ts"), "sidecar", "-c", configPath, "--concurrency", String(opts.concurrency ?? 1)];
  const child = spawn(process.execPath, ["--import", "tsx", ...args], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  const stop = async () => {
    process.off("exit", killOnExit);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  const ports = new Map<string, number>();
  const ready = new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      for (const m of out.matchAll(/^listener (\S+) on \S+:(\d+)$/gm)) ports.set(m[1]!, Number(m[2]));
      if (opts.listeners.every((l) => ports.has(l))) resolve();
    });
    child.once("exit", (code, signal) => reject(new Error(`meshwasm sidecar exited (${signal ?? code}) before listening: ${stderr.trim().split("\n").slice(-5).join(" | ")}`)));
    const limit = opts.startTimeoutMs ?? 45_000;
    setTimeout(() => reject(new Error(`meshwasm sidecar: no listener line within ${limit} ms`)), limit).unref();
  });
  try {
    await ready;
  } catch (e) {
    await stop();
    throw e;
  }
  return { pid: child.pid!, ports, log: () => stderr, stop };
}
