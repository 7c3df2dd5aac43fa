/**
 * Weighted traffic through the full sidecar, over one client connection: a route's
 * `weighted_clusters` (80/20 over two clusters) and endpoint `load_balancing_weight` (3:1)
 * under ROUND_ROBIN and LEAST_REQUEST. 1,000 RPCs each; every share must land within five
 * percentage points of its configured weight.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSidecar, type Sidecar } from "../../manager/src/sidecar/proxy/sidecar.ts";
import { randomU32, seededRandom } from "../../manager/src/sidecar/proxy/upstream/random.ts";
import type { Counter } from "../../manager/src/sidecar/stats/types.ts";
import { clusterConfig, envoyConfig, writeEnvoyConfig } from "../support/envoy-config.ts";
import { echoClient, startEchoServer, unary, type EchoServer } from "../support/grpc-echo.ts";

const RPCS = 1000;

async function withSidecar(bootstrap: Record<string, unknown>, fn: (s: Sidecar) => Promise<void>): Promise<void> {
  const cfg = await writeEnvoyConfig(bootstrap);
  // Seeded per-stream draws for weighted_clusters, so the split is reproducible.
  const draw = seededRandom(7);
  const sidecar = await startSidecar({ configPath: cfg.path }, { random: () => randomU32(draw) });
  try {
    await fn(sidecar);
  } finally {
    await sidecar.stop();
    await cfg.cleanup();
  }
}

function counter(sidecar: Sidecar, name: string): number {
  const s = sidecar.stats.find(name) as Counter | undefined;
  return s ? Number(s.value()) : 0;
}

/** Sends RPCS concurrent unary calls on one connection; returns the share (0..100) per backend. */
async function shares(port: number): Promise<Map<string, number>> {
  const client = echoClient(port);
  try {
    const replies = await Promise.all(Array.from({ length: RPCS }, (_, i) => unary(client, { message: `m${i}`, delay_ms: 2 })));
    const per = new Map<string, number>();
    for (const r of replies) per.set(r.backend, (per.get(r.backend) ?? 0) + (100 / RPCS));
    return per;
  } finally {
    client.close();
  }
}

describe("weighted traffic through the sidecar", () => {
  let a: EchoServer;
  let b: EchoServer;
  beforeAll(async () => {
    a = await startEchoServer("a");
    b = await startEchoServer("b");
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
  });

  it("route weighted_clusters 80/20 splits 1,000 RPCs 80/20 (±5 points)", async () => {
    const bootstrap = envoyConfig({
      clusters: [
        { name: "heavy", ports: [a.port] },
        { name: "light", ports: [b.port] },
      ],
      routes: [
        {
          match: { prefix: "/" },
          route: { weighted_clusters: { clusters: [{ name: "heavy", weight: 80 }, { name: "light", weight: 20 }] } },
        },
      ],
    });
    await withSidecar(bootstrap, async (sidecar) => {
      const per = await shares(sidecar.listeners[0]!.port);
      expect(Math.abs((per.get("a") ?? 0) - 80)).toBeLessThanOrEqual(5);
      expect(Math.abs((per.get("b") ?? 0) - 20)).toBeLessThanOrEqual(5);
      expect(counter(sidecar, "cluster.heavy.upstream_rq_200") + counter(sidecar, "cluster.light.upstream_rq_200")).toBe(RPCS);
    });
  }, 20_000);

  for (const lbPolicy of ["ROUND_ROBIN", "LEAST_REQUEST"] as const) {
    it(`${lbPolicy}: endpoint load_balancing_weight 3:1 gives 75/25 (±5 points)`, async () => {
      const bootstrap = envoyConfig({ clusters: [{ name: "backend", ports: [a.port, b.port], lbPolicy }] });
      const cluster = clusterConfig({ name: "backend", ports: [a.port, b.port], lbPolicy }) as {
        load_assignment: { endpoints: Array<{ lb_endpoints: Array<Record<string, unknown>> }> };
      };
      const [ea, eb] = cluster.load_assignment.endpoints[0]!.lb_endpoints;
      ea!.load_balancing_weight = 3;
      eb!.load_balancing_weight = 1;
      (bootstrap.static_resources as { clusters: unknown[] }).clusters = [cluster];
      await withSidecar(bootstrap, async (sidecar) => {
        const per = await shares(sidecar.listeners[0]!.port);
        expect(Math.abs((per.get("a") ?? 0) - 75)).toBeLessThanOrEqual(5);
        expect(Math.abs((per.get("b") ?? 0) - 25)).toBeLessThanOrEqual(5);
        expect(counter(sidecar, "cluster.backend.upstream_rq_200")).toBe(RPCS);
      });
    }, 20_000);
  }
});
