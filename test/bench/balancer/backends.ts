/**
 * Parent side of the benchmark's backend process (backends-process.ts): forks it with tsx, and
 * sends it requests over the IPC channel, one reply per request id. Requests: start the fleet
 * (the reply lists its ports, in order), apply a change to one backend, begin a measured run
 * (size the per-RPC table), collect which backend received each RPC, stop.
 */
import { fork, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "../../../manager/src/build/compile.ts";
import type { BackendChange, BackendSpec } from "./scenarios.ts";

export type BackendRequest =
  | { id: number; op: "start"; backends: BackendSpec[] }
  | { id: number; op: "change"; change: BackendChange }
  | { id: number; op: "begin"; lanes: number; perLane: number }
  | { id: number; op: "collect" }
  | { id: number; op: "stop" };

export interface BackendReply {
  id: number;
  ok: boolean;
  error?: string;
  ports?: number[];
  /** Backend index per (lane, k) (lane-major), -1 when the RPC reached no backend. */
  received?: number[];
}

type Body<R> = R extends { id: number } ? Omit<R, "id"> : never;

export class BackendProcess {
  private nextId = 1;
  private readonly waiting = new Map<number, (r: BackendReply) => void>();
  private constructor(private readonly child: ChildProcess) {
    child.on("message", (r: BackendReply) => {
      const done = this.waiting.get(r.id);
      this.waiting.delete(r.id);
      done?.(r);
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  static async start(specs: BackendSpec[]): Promise<{ process: BackendProcess; ports: number[] }> {
    const child = fork(join(REPO_ROOT, "test", "bench", "balancer", "backends-process.ts"), [], {
      cwd: REPO_ROOT,
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const p = new BackendProcess(child);
    const r = await p.request({ op: "start", backends: specs });
    return { process: p, ports: r.ports! };
  }

  request(body: Body<BackendRequest>): Promise<BackendReply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the backend process exited (${code}) during ${body.op}`));
      this.child.once("exit", onExit);
      this.waiting.set(id, (r) => {
        this.child.off("exit", onExit);
        if (r.ok) resolve(r);
        else reject(new Error(`backend process, ${body.op}: ${r.error}`));
      });
      this.child.send({ id, ...body } as BackendRequest);
    });
  }

  change(change: BackendChange): Promise<BackendReply> {
    return this.request({ op: "change", change });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    await this.request({ op: "stop" }).catch(() => undefined);
    await new Promise<void>((done) => {
      if (this.child.exitCode !== null) return done();
      this.child.once("exit", () => done());
      this.child.kill("SIGTERM");
    });
  }
}
