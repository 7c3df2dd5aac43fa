/**
 * Runs one scenario: the backends in their process, the sidecar in its own with one listener per
 * policy, the open-loop load from this process (warm-up, then the measured part, the scenario's
 * changes on time), then which backend received each RPC. Returns every RPC of the measured
 * part per policy, with the CPU each process used.
 */
import { readFileSync } from "node:fs";
import type { Policy } from "../../balancer/support/bootstrap.ts";
import { steady, type Rpc } from "./analysis.ts";
import { BackendProcess } from "./backends.ts";
import { isBalancer, type PolicyRun } from "./goals.ts";
import { runOpenLoop } from "./load.ts";
import { countFor, unitFor } from "./schedule.ts";
import type { Scenario } from "./scenarios.ts";
import { startBenchSidecar } from "./sidecar.ts";

export interface ScenarioRun {
  runs: PolicyRun[];
  /** Largest lag of a send behind its schedule, ms. */
  maxSendLagMs: number;
  /** CPU seconds used during the load by the generator, the backends and the sidecar. */
  cpuS: { generator: number; backends: number; sidecar: number };
  wallS: number;
  /** Warm-up rounds run before the measured part, and whether the last one was steady. */
  warmup: { rounds: number; steady: boolean; seconds: number };
  /** grpc-balancer's decisions (directed, explored, pinned, passthrough), both listeners together. */
  decisions: Record<string, number>;
}

const prometheus = async (adminPort: number) => (await fetch(`http://127.0.0.1:${adminPort}/stats/prometheus`)).text();

/** grpc_balancer_rpcs_total per decision. */
function decisions(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^grpc_balancer_rpcs_total\{decision="(\w+)"\} (\d+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

/** grpc_balancer_picks_total (RPCs the filter directed) of `cluster` to 127.0.0.1:`port`. */
function picks(text: string, cluster: string, port: number): number {
  const m = new RegExp(`^grpc_balancer_picks_total\\{cluster="${cluster}",endpoint="127\\.0\\.0\\.1_${port}"\\} (\\d+)$`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

/** user + system CPU seconds of a process, from /proc (Linux); NaN elsewhere. */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

const ownCpuS = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** Measured runs start with this much unmeasured load (new client connections). */
const LEAD_IN_S = 2;
const MAX_WARMUP_ROUNDS = 12;

/**
 * Warm-up: rounds of `s.warmupS` seconds of the same load until one shows every lane keeping up
 * (analysis.ts `steady`: every RPC OK, p99 within twice the slowest backend's nominal latency
 * + 250 ms; sends at most 250 ms late), at most MAX_WARMUP_ROUNDS. Returns the rounds run and
 * whether the last was steady.
 */
async function warmUp(s: Scenario, ports: number[], log: (line: string) => void): Promise<{ rounds: number; steady: boolean }> {
  const slowest = Math.max(...s.backends.map((b) => Math.max(b.lightMs, s.heavyShare > 0 ? b.heavyMs : 0) * (b.multiplier ?? 1)));
  for (let round = 1; round <= MAX_WARMUP_ROUNDS; round++) {
    const load = await runOpenLoop({
      ports,
      schedule: { ratePerSec: s.ratePerSec, lanes: ports.length, count: countFor(s.ratePerSec, s.warmupS) },
      deadlineMs: s.deadlineMs,
      methodOf: (k) => (unitFor(11, k) < s.heavyShare ? "Heavy" : "Light"),
      actions: [],
      drainMs: s.deadlineMs + 5000,
      tagLaneOffset: ports.length,
    });
    if (load.lanes.every((l) => steady(l.latencyMs, l.code, 2 * slowest + 250)) && load.maxSendLagMs < 250) return { rounds: round, steady: true };
    log(`  warm-up round ${round}: not steady yet (largest send lag ${load.maxSendLagMs.toFixed(0)} ms)`);
  }
  return { rounds: MAX_WARMUP_ROUNDS, steady: false };
}

export async function runScenario(s: Scenario, policies: Policy[], filter: Record<string, unknown>, log: (line: string) => void): Promise<ScenarioRun> {
  const { process: backends, ports } = await BackendProcess.start(s.backends);
  try {
    const sidecar = await startBenchSidecar({ policies, backendPorts: ports, healthCheckMs: s.healthCheckMs, filter });
    try {
      log(`  scenario (${s.id}): warm-up rounds of ${s.warmupS} s, then ${s.seconds} s at ${s.ratePerSec} RPC/s per policy, ${policies.length} policies`);
      const warm = await warmUp(s, sidecar.ports, log);
      const perLane = countFor(s.ratePerSec, LEAD_IN_S + s.seconds);
      await backends.request({ op: "begin", lanes: policies.length, perLane });
      const warmupMs = LEAD_IN_S * 1000;
      const before = { generator: ownCpuS(), backends: cpuSeconds(backends.pid), sidecar: cpuSeconds(sidecar.pid) };
      const wallStart = performance.now();
      // Directed picks of the subject backend over its window (or the measured part), per listener.
      const [from, to] = s.window ?? [0, s.seconds];
      const snapshots: string[] = [];
      const snapshot = async () => void snapshots.push(await prometheus(sidecar.adminPort));
      const load = await runOpenLoop({
        ports: sidecar.ports,
        schedule: { ratePerSec: s.ratePerSec, lanes: policies.length, count: perLane },
        deadlineMs: s.deadlineMs,
        methodOf: (k) => (unitFor(7, k) < s.heavyShare ? "Heavy" : "Light"),
        actions: [
          ...s.changes.map((c) => ({ atMs: warmupMs + c.atS * 1000, run: () => backends.change(c) })),
          ...(s.subject ? [{ atMs: warmupMs + from * 1000, run: snapshot }, { atMs: warmupMs + to * 1000 - 1, run: snapshot }] : []),
        ],
        drainMs: s.deadlineMs + 5000,
      });
      const wallS = (performance.now() - wallStart) / 1000;
      const cpuS = {
        generator: ownCpuS() - before.generator,
        backends: cpuSeconds(backends.pid) - before.backends,
        sidecar: cpuSeconds(sidecar.pid) - before.sidecar,
      };
      const received = (await backends.request({ op: "collect" })).received!;
      const decided = decisions(await prometheus(sidecar.adminPort));
      const subjectPort = s.subject ? ports[s.backends.findIndex((b) => b.name === s.subject)]! : 0;
      const runs = policies.map((policy, lane) => {
        const rec = load.lanes[lane]!;
        const rpcs: Rpc[] = [];
        for (let k = 0; k < perLane; k++) {
          if (rec.due[k]! < warmupMs) continue;
          const latency = rec.latencyMs[k]!;
          rpcs.push({
            t: (rec.due[k]! - warmupMs) / 1000,
            latencyMs: Number.isNaN(latency) ? Infinity : latency,
            code: rec.code[k]!,
            method: rec.method[k]!,
            backend: received[lane * perLane + k]!,
          });
        }
        const cluster = policy.toLowerCase();
        const directedToSubject = snapshots.length === 2 && isBalancer(policy) ? picks(snapshots[1]!, cluster, subjectPort) - picks(snapshots[0]!, cluster, subjectPort) : undefined;
        return { policy, rpcs, directedToSubject };
      });
      return { runs, maxSendLagMs: load.maxSendLagMs, cpuS, wallS, decisions: decided, warmup: { ...warm, seconds: warm.rounds * s.warmupS } };
    } finally {
      await sidecar.stop();
    }
  } finally {
    await backends.stop();
  }
}
