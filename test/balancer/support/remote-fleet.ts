/**
 * Parent side of fleet-process.ts: forks the backends' process (`node --import tsx`, one process,
 * IPC channel) and sends it requests, one reply per request id. A request made after the process
 * died rejects with its exit code and the end of its stderr.
 */
import { fork, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "../../../manager/src/build/compile.ts";
import type { Behaviour, Method } from "./fleet.ts";

export type FleetRequest =
  | { id: number; op: "start"; count: number; behaviour: Partial<Behaviour> }
  | { id: number; op: "set"; index: number; behaviour: Partial<Behaviour> }
  | { id: number; op: "reset" }
  | { id: number; op: "snapshot"; index: number }
  | { id: number; op: "stop" };

export interface FleetReply {
  id: number;
  ok: boolean;
  error?: string;
  backends?: Array<{ name: string; port: number }>;
  served?: Record<Method, number>;
  lastMetadata?: Array<Record<string, string>>;
}

export interface BackendSnapshot {
  /** RPCs served (or failed) per method. */
  served: Record<Method, number>;
  /** Request metadata of the backend's last calls (at most 50). */
  lastMetadata: Array<Record<string, string>>;
}

type Body<R> = R extends { id: number } ? Omit<R, "id"> : never;

export class RemoteFleet {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: FleetReply) => void; reject: (e: Error) => void }>();
  private stderr = "";
  private exited?: string;

  private constructor(
    private readonly child: ChildProcess,
    public backends: Array<{ name: string; port: number }> = [],
  ) {
    child.stderr!.on("data", (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-2000)));
    child.on("message", (r: FleetReply) => {
      const w = this.waiting.get(r.id);
      this.waiting.delete(r.id);
      if (!w) return;
      if (r.ok) w.resolve(r);
      else w.reject(new Error(`backend process: ${r.error}`));
    });
    child.once("exit", (code, signal) => {
      this.exited = `the backend process exited (${signal ?? code})${this.stderr ? `: ${this.stderr.trim()}` : ""}`;
      for (const w of this.waiting.values()) w.reject(new Error(this.exited));
      this.waiting.clear();
    });
  }

  /** Forks the process and starts `count` backends named b0, b1, … with `behaviour`. */
  static async start(count: number, behaviour: Partial<Behaviour> = {}): Promise<RemoteFleet> {
    const child = fork(join(REPO_ROOT, "test", "balancer", "support", "fleet-process.ts"), [], {
      cwd: REPO_ROOT,
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "ignore", "pipe", "ipc"],
    });
    const fleet = new RemoteFleet(child);
    try {
      fleet.backends = (await fleet.request({ op: "start", count, behaviour })).backends!;
    } catch (e) {
      await fleet.stop();
      throw e;
    }
    return fleet;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get ports(): number[] {
    return this.backends.map((b) => b.port);
  }

  private request(body: Body<FleetRequest>): Promise<FleetReply> {
    if (this.exited) return Promise.reject(new Error(this.exited));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.child.send({ id, ...body } as FleetRequest);
    });
  }

  /** Merges `behaviour` into backend `index`'s (takes effect for the calls that arrive after the reply). */
  async set(index: number, behaviour: Partial<Behaviour>): Promise<void> {
    await this.request({ op: "set", index, behaviour });
  }

  /** Every backend back to its normal behaviour: multiplier 1, not failing, serving. */
  async reset(): Promise<void> {
    await this.request({ op: "reset" });
  }

  async snapshot(index: number): Promise<BackendSnapshot> {
    const r = await this.request({ op: "snapshot", index });
    return { served: r.served!, lastMetadata: r.lastMetadata! };
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await this.request({ op: "stop" }).catch(() => undefined);
    await new Promise<void>((done) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return done();
      this.child.once("exit", () => done());
      this.child.disconnect();
    });
  }
}
