/**
 * The open-loop load generator: one gRPC client (h2-client.ts, one HTTP/2 connection) per lane,
 * each lane a listener of the sidecar, i.e. a balancing policy. RPCs leave on the fixed schedule of
 * schedule.ts whatever the earlier ones are doing; an RPC's latency runs from its *scheduled*
 * send time to its completion, and its deadline is the scheduled time plus `deadlineMs`, so a
 * late send (this process busy) counts against the RPC as queueing would. All lanes share one
 * timer loop in one process: whatever slows the generator slows every policy alike.
 */
import { H2GrpcClient } from "./h2-client.ts";
import { dueCount, dueMs, nextDueMs, type LaneSchedule } from "./schedule.ts";
import type { Method } from "./scenarios.ts";

/** What happened to each RPC of a lane, indexed by k. */
export interface LaneRecords {
  /** Scheduled send time, ms after the start. */
  due: Float64Array;
  /** From the scheduled send time to completion, ms; NaN if never completed. */
  latencyMs: Float64Array;
  /** gRPC status code; -1 if never completed. */
  code: Int16Array;
  /** 0 Light, 1 Heavy. */
  method: Uint8Array;
}

export interface LoadRun {
  lanes: LaneRecords[];
  /** performance.now() at the start of the schedule. */
  startPerf: number;
  /** Largest lag between an RPC's due time and its actual send, ms. */
  maxSendLagMs: number;
}

export interface LoadOptions {
  ports: number[];
  schedule: LaneSchedule;
  deadlineMs: number;
  methodOf: (k: number) => Method;
  /** Timed actions, ms after the start (the scenario's changes). */
  actions: Array<{ atMs: number; run: () => Promise<unknown> }>;
  /** How long to wait for stragglers after the last send, ms. */
  drainMs: number;
  /** Added to the lane in each RPC's `x-bench-rpc` tag (warm-up RPCs are tagged out of range). */
  tagLaneOffset?: number;
}

export async function runOpenLoop(o: LoadOptions): Promise<LoadRun> {
  const s = o.schedule;
  const clients = await Promise.all(o.ports.map((port) => H2GrpcClient.connect(port)));
  const lanes: LaneRecords[] = o.ports.map(() => ({
    due: new Float64Array(s.count),
    latencyMs: new Float64Array(s.count).fill(NaN),
    code: new Int16Array(s.count).fill(-1),
    method: new Uint8Array(s.count),
  }));
  const issued = o.ports.map(() => 0);
  let outstanding = 0;
  let maxSendLagMs = 0;
  const startPerf = performance.now();
  const actionErrors: Error[] = [];
  const timers = o.actions.map((a) => setTimeout(() => a.run().catch((e: Error) => actionErrors.push(e)), Math.max(0, a.atMs - (performance.now() - startPerf))));

  const send = (lane: number, k: number) => {
    const rec = lanes[lane]!;
    const due = dueMs(s, lane, k);
    const method = o.methodOf(k);
    rec.due[k] = due;
    rec.method[k] = method === "Heavy" ? 1 : 0;
    maxSendLagMs = Math.max(maxSendLagMs, performance.now() - startPerf - due);
    outstanding++;
    const left = due + o.deadlineMs - (performance.now() - startPerf);
    clients[lane]!.unary(`/meshbench.Work/${method}`, { "x-bench-rpc": `${lane + (o.tagLaneOffset ?? 0)}:${k}` }, left, (code) => {
      rec.latencyMs[k] = performance.now() - startPerf - due;
      rec.code[k] = code;
      outstanding--;
    });
  };

  await new Promise<void>((finished) => {
    const tick = () => {
      const now = performance.now() - startPerf;
      for (let lane = 0; lane < issued.length; lane++) {
        const due = dueCount(s, lane, now);
        while (issued[lane]! < due) send(lane, issued[lane]!++);
      }
      const next = nextDueMs(s, issued);
      if (next === Infinity) return finished();
      setTimeout(tick, Math.max(0, next - (performance.now() - startPerf)));
    };
    tick();
  });
  const drainUntil = performance.now() + o.drainMs;
  while (outstanding > 0 && performance.now() < drainUntil) await new Promise((r) => setTimeout(r, 20));
  for (const t of timers) clearTimeout(t);
  for (const c of clients) c.close();
  if (actionErrors.length) throw actionErrors[0];
  return { lanes, startPerf, maxSendLagMs };
}
