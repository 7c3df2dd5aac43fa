/**
 * Per-request balancing of gRPC through the sidecar: one grpc-js client connection (one
 * HTTP/2 connection to the listener) carries 1,000 concurrent RPCs, and the router spreads
 * them over three backends under each lb_policy; plus retries of UNAVAILABLE through the
 * route's retry_policy.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSidecar, type Sidecar } from "../../manager/src/sidecar/proxy/sidecar.ts";
import type { Counter } from "../../manager/src/sidecar/stats/types.ts";
import { echoClient, startEchoServer, unary, type EchoServer } from "../support/grpc-echo.ts";
import { envoyConfig, writeEnvoyConfig, type TestCluster } from "../support/envoy-config.ts";

async function withSidecar<T>(clusters: TestCluster[], routes: unknown[] | undefined, fn: (s: Sidecar) => Promise<T>): Promise<T> {
  const cfg = await writeEnvoyConfig(envoyConfig({ clusters, routes }));
  const sidecar = await startSidecar({ configPath: cfg.path });
  try {
    return await fn(sidecar);
  } finally {
    await sidecar.stop();
    await cfg.cleanup();
  }
}

describe("per-request balancing over one client connection", () => {
  let backends: EchoServer[] = [];
  beforeAll(async () => {
    backends = await Promise.all(["b0", "b1", "b2"].map((n) => startEchoServer(n)));
  });
  afterAll(async () => {
    await Promise.all(backends.map((b) => b.stop()));
  });

  for (const lbPolicy of ["ROUND_ROBIN", "LEAST_REQUEST", "RANDOM"] as const) {
    it(`${lbPolicy}: 1,000 concurrent RPCs on one connection reach all three backends fairly`, async () => {
      await withSidecar([{ name: "backend", ports: backends.map((b) => b.port), lbPolicy }], undefined, async (sidecar) => {
        const client = echoClient(sidecar.listeners[0]!.port);
        try {
          const replies = await Promise.all(Array.from({ length: 1000 }, (_, i) => unary(client, { message: String(i), delay_ms: 5 })));
          const per = new Map<string, number>();
          for (const r of replies) per.set(r.backend, (per.get(r.backend) ?? 0) + 1);
          expect([...per.keys()].sort()).toEqual(["b0", "b1", "b2"]);
          for (const n of per.values()) expect(n).toBeGreaterThan(lbPolicy === "ROUND_ROBIN" ? 320 : 250);
          const rq = sidecar.stats.find("cluster.backend.upstream_rq_200") as Counter;
          expect(Number(rq.value())).toBe(1000);
        } finally {
          client.close();
        }
      });
    });
  }

  it("retries UNAVAILABLE per retry_policy and counts upstream_rq_retry", async () => {
    const routes = [
      {
        match: { prefix: "/" },
        route: { cluster: "backend", retry_policy: { retry_on: "unavailable", num_retries: 2 } },
      },
    ];
    await withSidecar([{ name: "backend", ports: [backends[0]!.port] }], routes, async (sidecar) => {
      const client = echoClient(sidecar.listeners[0]!.port);
      try {
        // The echo backend fails every call asking for it; the retries are exhausted.
        await expect(unary(client, { message: "x", fail_code: 14 })).rejects.toMatchObject({ code: 14 });
        expect(Number((sidecar.stats.find("cluster.backend.upstream_rq_retry") as Counter).value())).toBe(2);
        expect(Number((sidecar.stats.find("cluster.backend.upstream_rq_retry_limit_exceeded") as Counter).value())).toBe(1);
      } finally {
        client.close();
      }
    });
  });
});
