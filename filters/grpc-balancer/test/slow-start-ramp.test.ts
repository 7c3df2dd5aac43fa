/**
 * Slow start under power of two choices, over simulated time: ten endpoints at 200 ms ± 10%
 * under open-loop load (the benchmark's scenario (d), open-loop-sim.ts), then an eleventh passes
 * its health check. The admin discovery (every second) reports it; the filter probes it with one
 * RPC and ramps its share over the window as Envoy's slow start does (EDF weight × factor /
 * (active + 1), compared here as cost / factor), instead of the full share a new, idle endpoint
 * with a default cost would win at once (P2C keeps the cheaper candidate, and an idle endpoint is
 * the cheaper one in nearly every draw it is part of).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { seededRandom } from "../../../manager/src/sidecar/proxy/upstream/random.ts";
import { adminClusters, filterWasm, loadBalancer } from "./host-harness.ts";
import { runOpenLoop, shareOfFair, type SentRpc } from "./open-loop-sim.ts";

beforeAll(async () => {
  await filterWasm();
}, 120_000);

const OLD = Array.from({ length: 10 }, (_, i) => `10.0.0.${i + 1}:8080`);
const NEW = "10.0.0.11:8080";
const ADD_MS = 8000;
const N = OLD.length + 1;

async function addBackend(slowStart: Record<string, number>, seed: number, ratePerSec: number, o: { discoveryMs?: number; explore?: number } = {}): Promise<SentRpc[]> {
  const l = await loadBalancer({
    explore_share: o.explore ?? 0.05,
    seed,
    clusters: ["backend"],
    discovery: { cluster: "admin", interval_ms: o.discoveryMs ?? 1000 },
    slow_start: slowStart,
  });
  // The health check passes 300 ms after the add: from then on Envoy's balancer may pick the new
  // endpoint, and the admin lists it healthy.
  const healthy = (atMs: number) => atMs >= ADD_MS + 300;
  l.env.httpCalls.addCluster("admin", () => ({
    headers: [[":status", "200"]],
    body: new Uint8Array(Buffer.from(adminClusters("backend", [...OLD.map((address) => ({ address })), { address: NEW, hc: !healthy(now) }]))),
    trailers: [],
  }));
  let now = 0;
  const random = seededRandom(seed);
  return runOpenLoop(l, {
    ratePerSec,
    durationMs: ADD_MS + 8000,
    envoyHosts: (atMs) => (healthy(atMs) ? [...OLD, NEW] : OLD),
    latencyMs: (_address, _atMs, u) => 200 * (0.9 + 0.2 * u),
    random,
    onTime: (atMs) => (now = atMs),
  });
}

const firstTo = (rpcs: readonly SentRpc[], address: string, fromMs: number) => rpcs.find((r) => r.atMs >= fromMs && r.address === address)?.atMs;

describe("slow start under P2C", () => {
  it("a new endpoint is probed at once, then ramps to its share over the window (3 s)", async () => {
    for (const [seed, rate] of [[21, 50], [22, 100], [23, 100]] as const) {
      const rpcs = await addBackend({ window_ms: 3000 }, seed, rate);
      const first = firstTo(rpcs, NEW, ADD_MS)!;
      // Discovery every second, a fold, then the probe.
      expect(first).toBeDefined();
      expect(first - ADD_MS).toBeLessThan(1600);
      const perSecond = [0, 1, 2, 3, 4, 5].map((s) => shareOfFair(rpcs, NEW, first + s * 1000, first + (s + 1) * 1000, N));
      // Its first second (the probe included) well under half its share; then rising; its full
      // share once the window has passed.
      expect(perSecond[0]).toBeLessThan(0.5);
      expect(shareOfFair(rpcs, NEW, first, first + 2000, N)).toBeLessThan(shareOfFair(rpcs, NEW, first + 2000, first + 4000, N));
      expect(shareOfFair(rpcs, NEW, first + 3000, first + 7000, N)).toBeGreaterThan(0.8);
      expect(shareOfFair(rpcs, NEW, first + 3000, first + 7000, N)).toBeLessThan(1.3);
      // Meanwhile the old endpoints keep their share (no one is starved while it ramps).
      for (const a of OLD) expect(shareOfFair(rpcs, a, ADD_MS - 4000, ADD_MS, N - 1)).toBeGreaterThan(0.6);
    }
  }, 120_000);

  it("an RPC Envoy's balancer sends to the endpoint known unhealthy starts its ramp, before the next discovery answer", async () => {
    // Discovery every 5 s (rounds at about 0.1, 5.1, 10.1 s): the endpoint is known unhealthy
    // from the first; it passes its health check at 8.3 s, and the explored share (20% here)
    // reaches it well before the round at 10.1 s would report it.
    const rpcs = await addBackend({ window_ms: 3000 }, 31, 100, { discoveryMs: 5000, explore: 0.2 });
    const first = firstTo(rpcs, NEW, ADD_MS)!;
    expect(rpcs.find((r) => r.atMs === first && r.address === NEW)!.directed).toBe(false);
    const firstDirected = rpcs.find((r) => r.atMs >= ADD_MS && r.address === NEW && r.directed)!.atMs;
    expect(firstDirected).toBeLessThan(10_000);
    // No probe (it has served): under half its share in its first second, then its share.
    expect(shareOfFair(rpcs, NEW, first, first + 1000, N)).toBeLessThan(0.5);
    expect(shareOfFair(rpcs, NEW, first + 3000, first + 7000, N)).toBeGreaterThan(0.8);
  }, 60_000);

  it("without slow start the new, idle endpoint takes most of its share in its first second", async () => {
    const rpcs = await addBackend({ window_ms: 0 }, 21, 50);
    const first = firstTo(rpcs, NEW, ADD_MS)!;
    expect(shareOfFair(rpcs, NEW, first, first + 1000, N)).toBeGreaterThan(0.6);
  }, 60_000);
});
