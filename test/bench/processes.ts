/**
 * Child processes for the sidecar benchmark: the demo backend and `meshwasm sidecar -c <file>`
 * each run in a process of their own, as they would in a pod, so the client's process measures
 * only the client's own work.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "../../manager/src/build/compile.ts";

export interface Child {
  /** The first number captured by `ready` from the child's stdout. */
  port: number;
  pid: number;
  stop(): Promise<void>;
}

function start(args: string[], ready: RegExp): Promise<Child> {
  // `node --import tsx`: one process per child (the tsx CLI would add a wrapper process).
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", ...args], {
    cwd: REPO_ROOT,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => { stderr += d.toString(); if (process.env.BENCH_TRACE) process.stderr.write(d); });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) {
        resolve({
          port: Number(m[1]),
          pid: child.pid!,
          stop: () =>
            new Promise<void>((done) => {
              if (child.exitCode !== null) return done();
              child.once("exit", () => done());
              child.kill("SIGTERM");
            }),
        });
      }
    });
    child.once("exit", (code) => reject(new Error(`${args.join(" ")} exited with ${code}: ${stderr.trim()}`)));
  });
}

export function startBackendProcess(): Promise<Child> {
  return start([join("test", "bench", "backend-process.ts")], /port (\d+)/);
}

export function startSidecarProcess(configPath: string): Promise<Child> {
  return start([join("manager", "src", "cli", "index.ts"), "sidecar", "-c", configPath], /listener \S+ on [^:]+:(\d+)/);
}
