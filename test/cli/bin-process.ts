/**
 * Runs the `meshwasm` bin as a user does (`node manager/bin/meshwasm.mjs ...`) and follows it:
 * collected stdout / stderr, a wait for a line, the process's children (from /proc), its exit.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFile, readdir, readlink } from "node:fs/promises";

export const BIN = "manager/bin/meshwasm.mjs";

export interface BinProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout line matching `re` (rejects on exit or after `ms`). */
  waitForStdout(re: RegExp, ms?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startBin(args: string[], env: NodeJS.ProcessEnv = {}): BinProcess {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let out = "";
  let err = "";
  const waiters = new Set<() => void>();
  child.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
    for (const w of waiters) w();
  });
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => {
      for (const w of waiters) w();
      resolve({ code, signal });
    }),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForStdout(re, ms = 20_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => done(new Error(`no stdout line matching ${re} within ${ms} ms; stderr: ${err}`)), ms);
        const check = () => {
          const m = out.match(re);
          if (m) done(undefined, m);
          else if (child.exitCode !== null || child.signalCode !== null) done(new Error(`exited before ${re}; stderr: ${err}`));
        };
        const done = (e?: Error, m?: RegExpMatchArray) => {
          clearTimeout(timer);
          waiters.delete(check);
          if (e) reject(e);
          else resolve(m!);
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** Starts `meshwasm sidecar -c <config> ...args` and waits for its listener and admin port lines. */
export async function startSidecarBin(
  config: string,
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<{ proc: BinProcess; listener: number; admin: number }> {
  const proc = startBin(["sidecar", "-c", config, ...args], env);
  const listener = Number((await proc.waitForStdout(/listener \S+ on 127\.0\.0\.1:(\d+)\n/))[1]);
  const admin = Number((await proc.waitForStdout(/admin on port (\d+)\n/))[1]);
  return { proc, listener, admin };
}

/** Sends `signal` to `proc` unless it has already ended, and waits for it to exit. */
export async function stopBin(proc: BinProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (proc && proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill(signal);
  await proc?.exited;
}

/** Every descendant process id of `pid` (Linux /proc: children of each of its threads). */
export async function descendants(pid: number): Promise<number[]> {
  const found: number[] = [];
  const visit = async (p: number) => {
    let tasks: string[];
    try {
      tasks = await readdir(`/proc/${p}/task`);
    } catch {
      return;
    }
    for (const t of tasks) {
      const text = await readFile(`/proc/${p}/task/${t}/children`, "utf8").catch(() => "");
      for (const c of text.split(/\s+/).filter(Boolean).map(Number)) {
        found.push(c);
        await visit(c);
      }
    }
  };
  await visit(pid);
  return found;
}

/** The command line of a process, or undefined once it has gone. */
export async function commandLine(pid: number): Promise<string | undefined> {
  const text = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => undefined);
  return text === undefined || text === "" ? undefined : text.replace(/\0/g, " ").trim();
}

/**
 * Whether the process holds an IP socket (TCP or UDP, v4 or v6): its fds' `socket:[inode]` links
 * looked up in /proc/net/{tcp,tcp6,udp,udp6}. Unix sockets (Node's stdio pipes) do not count.
 */
export async function hasIpSocket(pid: number): Promise<boolean> {
  const inodes = new Set<string>();
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
  for (const fd of fds) {
    const m = /^socket:\[(\d+)\]$/.exec(await readlink(`/proc/${pid}/fd/${fd}`).catch(() => ""));
    if (m) inodes.add(m[1]!);
  }
  if (inodes.size === 0) return false;
  for (const table of ["tcp", "tcp6", "udp", "udp6"]) {
    const text = await readFile(`/proc/net/${table}`, "utf8").catch(() => "");
    for (const line of text.split("\n").slice(1)) {
      const inode = line.trim().split(/\s+/)[9];
      if (inode !== undefined && inodes.has(inode)) return true;
    }
  }
  return false;
}
