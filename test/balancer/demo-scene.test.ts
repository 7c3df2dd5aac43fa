/**
 * The balancer scene of `npm start` (manager/src/demo/balancer): the demo backends behind a
 * sidecar running the demo's WasmPlugins (grpc-balancer from build/filters, as `npm test` builds
 * it), one listener steered by grpc-balancer and one left to LEAST_REQUEST, open-loop load on
 * both, one backend degrading in the middle phase. Checked: the shares come from the sidecar's
 * per-host counters and account for every RPC the clients sent, phase by phase summed, on each
 * listener; grpc-balancer's cost gauge is read per backend; the printed table has both policies. (How well
 * each policy avoids the slow backend is the benchmark's job: test/bench/balancer.)
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDemoBackend, type DemoBackend } from "../../manager/src/demo/services/index.ts";
import { DEMO_LABELS, DEMO_NAMESPACE, writeDemoPlugins, type BuiltModule } from "../../manager/src/demo/mesh/demo-plugins.ts";
import { showBalancerScene } from "../../manager/src/demo/balancer/scene.ts";
import type { SceneOutcome } from "../../manager/src/demo/balancer/scene-report.ts";

const FILTERS = ["grpc-auth", "grpc-metrics", "grpc-balancer", "add-header"];

describe("the demo's balancer scene", () => {
  let backends: DemoBackend[] = [];
  let outcome: SceneOutcome;
  const printed: string[] = [];

  beforeAll(async () => {
    const modules = new Map<string, BuiltModule>();
    for (const name of FILTERS) {
      const file = path.resolve("build/filters", `${name}.wasm`);
      modules.set(name, { name, file, version: "0.0.0-test", wasm: new Uint8Array(await readFile(file)) });
    }
    for (const [name, ms] of [["backend-a", 2], ["backend-b", 4], ["backend-c", 8]] as const) backends.push(await startDemoBackend({ name, latencyMs: ms }));
    const plugins = await writeDemoPlugins(modules, backends.map((b) => b.port));
    outcome = await showBalancerScene(
      { backends, degrade: { index: 0, normalMs: 2, slowMs: 150 }, plugins: { dir: plugins.dir, namespace: DEMO_NAMESPACE, labels: DEMO_LABELS }, ratePerSecond: 30, seconds: [1, 2, 2] },
      (t) => printed.push(t),
    );
  }, 120_000);
  afterAll(async () => {
    await Promise.all(backends.map((b) => b.stop()));
    backends = [];
  });

  it("counts every RPC each listener's client sent at the sidecar's per-host counters, per cluster", () => {
    expect(outcome.policies.map((p) => [p.policy, p.cluster])).toEqual([
      ["grpc-balancer", "demo_backends"],
      ["LEAST_REQUEST", "demo_backends_least_request"],
    ]);
    for (const p of outcome.policies) {
      const counted = p.requests.flatMap((r) => Object.values(r)).reduce((a, b) => a + b, 0);
      const sent = p.latency.reduce((a, l) => a + l.count, 0) + p.failed.reduce((a, b) => a + b, 0);
      expect(counted, p.policy).toBe(sent);
      expect(sent, p.policy).toBeGreaterThan(0.8 * 30 * 5); // the open loop kept its rate
      expect(Object.keys(p.requests[0]!).sort()).toEqual(["backend-a", "backend-b", "backend-c"]);
    }
    // grpc-balancer's cost gauge was read for every backend at each phase's end.
    expect(outcome.policies[0]!.cost!.map((c) => Object.keys(c).length)).toEqual([3, 3, 3]);
    expect(outcome.policies[1]!.cost).toBeUndefined();
  });

  it("prints both policies' shares per phase beside each other", () => {
    expect(outcome.degraded).toBe("backend-a");
    const text = printed.join("\n");
    expect(text).toContain("backend-a slows from 2 ms to 150 ms in the middle phase");
    expect(text).toMatch(/before \(1 s\) +during \(2 s\) +after \(2 s\)/);
    expect(text).toMatch(/grpc-balancer \(demo_backends\)\n {8}backend-a \* +\d/);
    expect(text).toMatch(/LEAST_REQUEST \(demo_backends_least_request\)/);
    expect(text).toMatch(/While backend-a was slow it got grpc-balancer [\d.]+%, LEAST_REQUEST [\d.]+% of the RPCs/);
  });
});
