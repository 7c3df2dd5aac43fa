/**
 * The balancer benchmark's scenarios (issue "grpc-balancer", section Benchmark), as data:
 * backends with timer-injected latency per method, the changes made to them during the run, and
 * the load. Every time is in seconds from the start of the measured part (after the warm-up).
 *
 * Scale: Linkerd's "Beyond Round Robin" setup (11 servers at a 167 ms median, one forced to 2 s
 * for the middle of the run, 1000 RPC/s) brought to one shared two-core machine: a 200 ms median
 * (±10% uniform jitter), the bad backend 10× slower (2 s), 50 RPC/s per policy (about 10 RPCs
 * in flight, one per backend), a 4 s deadline on every RPC (above the slow backend's latency, so
 * percentiles are not cut off at the deadline). The backends sleep on timers, so their CPU cost
 * does not grow with the latency, and the load stays low enough for a machine running other work.
 */

export type Method = "Light" | "Heavy";
export type ScenarioId = "a" | "b" | "c" | "d" | "e";

export interface BackendSpec {
  name: string;
  lightMs: number;
  heavyMs: number;
  /** Uniform jitter: latency × (1 ± jitter). */
  jitter: number;
  /** Latency multiplier at the start (default 1). */
  multiplier?: number;
  /** Answers health checks SERVING at the start (default true). */
  serving?: boolean;
}

export interface BackendChange {
  atS: number;
  backend: string;
  set: { multiplier?: number; failing?: boolean; serving?: boolean };
}

export interface Scenario {
  id: ScenarioId;
  title: string;
  backends: BackendSpec[];
  /** Length of one warm-up round (run-scenario.ts repeats them until the system keeps up). */
  warmupS: number;
  seconds: number;
  ratePerSec: number;
  /** Share of RPCs calling Heavy (the rest call Light). */
  heavyShare: number;
  deadlineMs: number;
  changes: BackendChange[];
  /** The backend the scenario is about (slow, failing, added). */
  subject?: string;
  /** The window in which the subject is bad, in seconds. */
  window?: [number, number];
  /** Health-check interval of every cluster (ms); the added backend joins by passing its checks. */
  healthCheckMs?: number;
}

export const BASE_MS = 200;
export const JITTER = 0.1;
export const DEADLINE_MS = 4000;
export const RATE = 50;

const fleet = (n: number, lightMs = BASE_MS, heavyMs = BASE_MS * 20): BackendSpec[] =>
  Array.from({ length: n }, (_, i) => ({ name: `b${i}`, lightMs, heavyMs, jitter: JITTER }));

export interface ScenarioOptions {
  quick: boolean;
}

/** The five scenarios; `quick` shortens them (a smoke run, not for the committed results). */
export function scenarios(o: ScenarioOptions): Scenario[] {
  // Full: 120 s runs (6,000 RPCs per policy); quick: a quarter of the time at half the rate.
  const t = (s: number) => (o.quick ? s / 4 : s);
  const rate = o.quick ? RATE / 2 : RATE;
  const warmupS = o.quick ? 3 : 5;
  const common = { warmupS, ratePerSec: rate, deadlineMs: DEADLINE_MS };
  const differentMs = [80, 100, 120, 140, 160, 200, 240, 280, 340, 400];
  return [
    {
      id: "a",
      title: "10 backends; b9 10× slower for the middle third",
      backends: fleet(10),
      ...common,
      seconds: t(120),
      heavyShare: 0,
      changes: [
        { atS: t(40), backend: "b9", set: { multiplier: 10 } },
        { atS: t(80), backend: "b9", set: { multiplier: 1 } },
      ],
      subject: "b9",
      window: [t(40), t(80)],
    },
    {
      id: "b",
      title: "10 backends; b9 fails fast with UNAVAILABLE for the middle third",
      backends: fleet(10),
      ...common,
      seconds: t(120),
      heavyShare: 0,
      changes: [
        { atS: t(40), backend: "b9", set: { failing: true } },
        { atS: t(80), backend: "b9", set: { failing: false } },
      ],
      subject: "b9",
      window: [t(40), t(80)],
    },
    {
      id: "c",
      title: `10 backends with steady, different latencies (${differentMs.join(", ")} ms)`,
      backends: differentMs.map((ms, i) => ({ name: `b${i}`, lightMs: ms, heavyMs: ms * 20, jitter: JITTER })),
      ...common,
      seconds: t(60),
      heavyShare: 0,
      changes: [],
    },
    {
      id: "d",
      title: "10 backends; b10 added (passes its health check) a third into the run",
      backends: [...fleet(10), { name: "b10", lightMs: BASE_MS, heavyMs: BASE_MS * 20, jitter: JITTER, serving: false }],
      ...common,
      seconds: t(60),
      heavyShare: 0,
      changes: [{ atS: t(20), backend: "b10", set: { serving: true } }],
      subject: "b10",
      window: [t(20), t(60)],
      healthCheckMs: 500,
    },
    {
      id: "e",
      title: "two methods (Light 20 ms, Heavy 400 ms: 20×), half the RPCs each; b9 5× slower for both",
      backends: fleet(10, 20, 400).map((b) => (b.name === "b9" ? { ...b, multiplier: 5 } : b)),
      ...common,
      seconds: t(120),
      heavyShare: 0.5,
      changes: [],
      subject: "b9",
    },
  ];
}
