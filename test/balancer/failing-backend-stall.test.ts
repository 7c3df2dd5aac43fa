/**
 * A backend failing fast with UNAVAILABLE, in the proxy-wasm host on the virtual clock, with the
 * end-to-end test's load (balancer-sidecar.test.ts, "--concurrency 2": four endpoints, four
 * closed-loop lanes, explore 2%, tick 50 ms; 80 RPCs, then the failure, 40 RPCs, 200 ms, and the
 * 400 RPCs measured). Run for run reproducible, no event loop involved:
 *  - without a stall the failing backend keeps only what exploring sends it (about 1%), with one
 *    or two worker VMs, from 5 ms to 300 ms of healthy latency;
 *  - a stall of the process timing the RPCs (every RPC in flight ends late) gives shares like the
 *    29% one end-to-end run (client, sidecar and backends then on one event loop) sent to the
 *    failing backend, nothing else tried here did: the RPCs in flight during a stall are the
 *    healthy backends' (a failing one answers at once), their peak-EWMA jumps to the stall's
 *    length, and with RPCs in flight, cost = latency × (in-flight + 1) reaches the failure's
 *    penalty (penalty_ms, 5 s) as a latency. The failing backend then wins P2C against them
 *    until the peak decays (τ 10 s), and its RPCs end at once, so it collects RPCs fast.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { filterWasm, loadBalancer } from "../../filters/grpc-balancer/test/host-harness.ts";
import { runLanes, seededRandom, type LaneState } from "./support/lane-sim.ts";

beforeAll(async () => {
  await filterWasm();
}, 180_000);

const ADDRESSES = ["127.0.0.1:9000", "127.0.0.1:9001", "127.0.0.1:9002", "127.0.0.1:9003"];
const FAILING = ADDRESSES[0]!;

/** The failing backend's share of the measured RPCs. */
async function failingShare(opts: { concurrency: number; latencyMs: number; seed: number; stallMs?: number }): Promise<number> {
  const l = await loadBalancer({ tick_ms: 50, seed: opts.seed, explore_share: 0.02 }, { concurrency: opts.concurrency });
  try {
    const random = seededRandom(opts.seed * 7919);
    const latencyMs = () => opts.latencyMs * (0.5 + random()); // ±50%
    const state: LaneState = { nowMs: 0, inFlight: new Map() };
    const phase = (rpcs: number, failing: string[], stall?: { afterRpcs: number; stallMs: number }) =>
      runLanes(l, { addresses: ADDRESSES, lanes: 4, rpcs, latencyMs, failing: new Set(failing), random, stall }, state);
    phase(80, []);
    phase(40, [FAILING]);
    l.env.clock.advance(200);
    state.nowMs += 200;
    const served = phase(400, [FAILING], opts.stallMs ? { afterRpcs: 30, stallMs: opts.stallMs } : undefined);
    return served.filter((a) => a === FAILING).length / served.length;
  } finally {
    await l.plugin.close();
  }
}

describe("a backend failing fast, four lanes, as the end-to-end test loads it", () => {
  for (const concurrency of [1, 2]) {
    it(`keeps under 5% of the RPCs with ${concurrency} worker VM(s), at 5 to 300 ms of healthy latency`, async () => {
      for (const latencyMs of [5, 30, 300]) {
        for (const seed of [1, 2, 3]) {
          const share = await failingShare({ concurrency, latencyMs, seed });
          expect(share, `latency ${latencyMs} ms, seed ${seed}`).toBeLessThan(0.05);
        }
      }
    }, 120_000);
  }

  it("gets a large share after one stall of 3 s of every RPC in flight (the end-to-end failure, reproduced)", async () => {
    const shares: number[] = [];
    for (const seed of [1, 2, 3]) shares.push(await failingShare({ concurrency: 2, latencyMs: 20, seed, stallMs: 3000 }));
    // Not a goal: what the estimator does with a stall, pinned so that a change of it shows here.
    // A 1 s stall stays harmless (below).
    expect(Math.max(...shares)).toBeGreaterThan(0.1);
    for (const seed of [1, 2, 3]) {
      expect(await failingShare({ concurrency: 2, latencyMs: 20, seed, stallMs: 1000 }), `1 s stall, seed ${seed}`).toBeLessThan(0.05);
    }
  }, 120_000);
});
