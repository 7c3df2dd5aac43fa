/**
 * Runs the health gate of one wave against a real Prometheus: reads the counters at t0 (when the
 * wave was applied), waits out the bake time, reads them again and the p99 latency of the window,
 * and judges (evaluate.ts). Prometheus being unreachable or refusing a query fails the gate with
 * that reason (a gate that cannot read must not pass).
 */
import type { GateConfig } from "../render/config.ts";
import { judge, type CounterReadings, type GateVerdict } from "./evaluate.ts";
import { PrometheusClient } from "./prometheus.ts";
import { counterQueries, latencyP99Query, type GateScope } from "./queries.ts";

export interface GateRun {
  config: GateConfig;
  scope: GateScope;
  /** When the wave was applied. */
  t0: Date;
  /** Waits (default: setTimeout); tests may shorten nothing here, the bake is the config's. */
  sleep?: (ms: number) => Promise<void>;
  /** Progress lines. */
  log?: (line: string) => void;
}

async function readCounters(prom: PrometheusClient, scope: GateScope, at: Date): Promise<CounterReadings> {
  const q = counterQueries(scope);
  const entries = await Promise.all(Object.entries(q).map(async ([k, expr]) => [k, await prom.value(expr, at)] as const));
  return Object.fromEntries(entries) as unknown as CounterReadings;
}

export async function runGate(run: GateRun): Promise<GateVerdict> {
  const prom = new PrometheusClient(run.config.prometheus);
  const sleep = run.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  if (run.scope.pods.length === 0) {
    if (run.config.minRequests === 0) return { passed: true, readings: ["no pod runs the wave's workloads (minRequests is 0)"] };
    return { passed: false, readings: [], failure: "no pod runs the wave's workloads, so there is no traffic to judge (set minRequests: 0 to accept that)" };
  }
  try {
    const before = await readCounters(prom, run.scope, run.t0);
    const t1 = new Date(run.t0.getTime() + run.config.bakeMs);
    const wait = t1.getTime() - Date.now();
    run.log?.(`gate: observing ${run.scope.pods.join(", ")} for ${Math.round(run.config.bakeMs / 1000)} s`);
    if (wait > 0) await sleep(wait);
    // Let the scrape that covers t1 land (Prometheus serves the last sample at or before t1).
    const after = await readCounters(prom, run.scope, t1);
    const p99 = run.config.maxLatencyP99Ms === undefined ? undefined : await prom.value(latencyP99Query(run.scope, run.config.bakeMs / 1000), t1);
    return judge(run.config, before, after, p99, run.scope.pods);
  } catch (e) {
    return { passed: false, readings: [], failure: (e as Error).message };
  }
}
