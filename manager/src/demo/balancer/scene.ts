/**
 * The demo's balancer scene (`npm start`): the demo backends behind a second sidecar with two
 * listeners (scene-config.ts), one steered by grpc-balancer from the demo's WasmPlugins, one left
 * to Envoy's LEAST_REQUEST, fed the same open-loop load at the same time (a fixed rate of Echo/Unary
 * RPCs on each, one HTTP/2 connection each, issued on a clock whatever the answers do: a closed
 * loop would slow down with the slow backend and hide it). Three phases: before, during (one
 * backend much slower), after (recovered). The share per backend in each phase is read from the
 * sidecar's per-host request counters (admin `/clusters`, `rq_total`), latency from the client.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSidecar } from "../../sidecar/proxy/sidecar.ts";
import { createDemoClients, type DemoBackend, type DemoClients } from "../services/index.ts";
import { summarizeLatencies } from "../latency.ts";
import { parsePrometheusText } from "../metrics-report.ts";
import { BALANCED_CLUSTER, LEAST_REQUEST_CLUSTER, renderSceneConfig } from "./scene-config.ts";
import { balancerCosts, counterDelta, formatScene, parseClusterCounters, summarizeScene, type HostCounters, type PolicyOutcome, type SceneOutcome, type ScenePhase } from "./scene-report.ts";

export interface BalancerSceneOptions {
  backends: DemoBackend[];
  /** Index in `backends` of the one that degrades, and its latency before and during (ms). */
  degrade: { index: number; normalMs: number; slowMs: number };
  /** The demo's WasmPlugins (grpc-balancer among them). */
  plugins: { dir: string; namespace: string; labels: Record<string, string> };
  /** RPCs per second on each listener. */
  ratePerSecond?: number;
  /** Seconds of each phase: before, during, after. */
  seconds?: [number, number, number];
}

interface Load {
  /** Per phase: the latency of each RPC that succeeded (ms). */
  latencies: number[][];
  failed: number[];
}

/** Issues `rate` RPCs per second on `clients` until `stop()`; latencies go to the current phase. */
function openLoop(clients: DemoClients, rate: number, phase: () => number): { stop: () => Promise<Load> } {
  const load: Load = { latencies: [[], [], []], failed: [0, 0, 0] };
  const inflight = new Set<Promise<void>>();
  const start = performance.now();
  let issued = 0;
  const issue = () => {
    const p = phase();
    const t0 = performance.now();
    const call: Promise<void> = clients
      .unary({ message: "scene" }, { deadlineMs: 2000 })
      .then(
        () => void load.latencies[p]!.push(performance.now() - t0),
        () => void load.failed[p]!++,
      )
      .finally(() => inflight.delete(call));
    inflight.add(call);
  };
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - start) / 1000) * rate);
    while (issued < due) {
      issued++;
      issue();
    }
  }, 5);
  return {
    stop: async () => {
      clearInterval(timer);
      await Promise.all([...inflight]);
      return load;
    },
  };
}

async function counters(adminPort: number): Promise<HostCounters> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/clusters`);
  return parseClusterCounters(await res.text());
}

async function costs(adminPort: number): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/stats/prometheus`);
  return balancerCosts(parsePrometheusText(await res.text()), BALANCED_CLUSTER);
}

/** Runs the scene; the degraded backend is back to its normal latency afterwards. */
export async function runBalancerScene(opts: BalancerSceneOptions): Promise<SceneOutcome> {
  const rate = opts.ratePerSecond ?? 40;
  const seconds = opts.seconds ?? [3, 5, 5];
  const degraded = opts.backends[opts.degrade.index]!;
  const { normalMs, slowMs } = opts.degrade;
  const phases: ScenePhase[] = [
    { name: "before", seconds: seconds[0], note: `${normalMs} ms per RPC` },
    { name: "during", seconds: seconds[1], note: `${slowMs} ms per RPC` },
    { name: "after", seconds: seconds[2], note: `${normalMs} ms again (grpc-balancer's estimate of it decays, τ 10 s, and explored RPCs measure it again)` },
  ];
  const dir = await mkdtemp(join(tmpdir(), "meshwasm-demo-balancer-"));
  const configPath = join(dir, "envoy.yaml");
  await writeFile(configPath, renderSceneConfig({ backendPorts: opts.backends.map((b) => b.port) }));
  const sidecar = await startSidecar({ configPath }, { plugins: { ...opts.plugins, watch: false } });
  const clients: DemoClients[] = [];
  try {
    const adminPort = sidecar.adminPort!;
    const [balanced, leastRequest] = sidecar.listeners.map((l) => createDemoClients(`${l.address}:${l.port}`));
    clients.push(balanced!, leastRequest!);
    // One RPC each to open the connections and let the filter's first fold happen.
    await Promise.all(clients.map((c) => c.unary({ message: "warm-up" }, { deadlineMs: 2000 }).catch(() => undefined)));
    await new Promise((r) => setTimeout(r, 300));
    let current = 0;
    const snapshots: HostCounters[] = [await counters(adminPort)];
    const loads = clients.map((c) => openLoop(c, rate, () => current));
    const endCosts: Array<Map<string, number>> = [];
    let results: Load[] = [];
    for (let p = 0; p < 3; p++) {
      current = p;
      if (p === 1) degraded.setLatency(slowMs);
      if (p === 2) degraded.setLatency(normalMs);
      await new Promise((r) => setTimeout(r, seconds[p]! * 1000));
      // The last phase ends once every RPC it issued has finished, so the counts are complete.
      if (p === 2) results = await Promise.all(loads.map((l) => l.stop()));
      snapshots.push(await counters(adminPort));
      endCosts.push(await costs(adminPort));
    }
    const names = new Map(opts.backends.map((b) => [`127.0.0.1:${b.port}`, b.name]));
    const outcome = (policy: string, cluster: string, load: Load): PolicyOutcome => ({
      policy,
      cluster,
      requests: [0, 1, 2].map((p) => {
        const delta = counterDelta(snapshots[p]!, snapshots[p + 1]!, cluster);
        return Object.fromEntries([...names].map(([host, name]) => [name, delta.get(host) ?? 0]));
      }),
      latency: load.latencies.map((l) => summarizeLatencies(l)),
      failed: load.failed,
      ...(cluster === BALANCED_CLUSTER ? { cost: endCosts.map((c) => Object.fromEntries([...names].filter(([h]) => c.has(h)).map(([h, n]) => [n, c.get(h)!]))) } : {}),
    });
    return {
      phases,
      backends: opts.backends.map((b) => b.name),
      degraded: degraded.name,
      ratePerSecond: rate,
      policies: [outcome("grpc-balancer", BALANCED_CLUSTER, results[0]!), outcome("LEAST_REQUEST", LEAST_REQUEST_CLUSTER, results[1]!)],
    };
  } finally {
    degraded.setLatency(normalMs);
    for (const c of clients) c.close();
    await sidecar.stop();
  }
}

/** Runs the scene and prints it (what `npm start` shows); returns the numbers. */
export async function showBalancerScene(opts: BalancerSceneOptions, print: (text: string) => void): Promise<SceneOutcome> {
  const rate = opts.ratePerSecond ?? 40;
  const b = opts.backends[opts.degrade.index]!;
  print(
    `\ngrpc-balancer beside Envoy's LEAST_REQUEST: ${rate} RPC/s (open loop) on each of two listeners of one more sidecar, ` +
      `the same ${opts.backends.length} backends; ${b.name} slows from ${opts.degrade.normalMs} ms to ${opts.degrade.slowMs} ms in the middle phase`,
  );
  const outcome = await runBalancerScene(opts);
  print("      share of the RPCs per backend (count) from the sidecar's per-host rq_total (admin /clusters); grpc-balancer's");
  print(`      cost per backend (${opts.backends.map((x) => x.name).join(" ")}; 1 = idle, typical) from its grpc_balancer_endpoint_cost gauge:`);
  print(formatScene(outcome).split("\n").map((l) => `      ${l}`).join("\n"));
  print(`      ${summarizeScene(outcome)}`);
  return outcome;
}
