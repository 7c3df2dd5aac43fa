import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { echoClient, unary, type EchoClient } from "../support/grpc-echo.ts";
import { startHarness, type Harness } from "../support/sidecar-harness.ts";

describe("per-request balancing of one HTTP/2 connection", () => {
  let h: Harness;
  let client: EchoClient;
  beforeAll(async () => {
    h = await startHarness({ backends: 3 });
    client = echoClient(h.port);
  });
  afterAll(async () => {
    client?.close();
    await h?.stop();
  });

  it("spreads 1,000 concurrent RPCs on one client connection round robin over 3 backends", async () => {
    const replies = await Promise.all(Array.from({ length: 1000 }, (_, i) => unary(client, { message: `m${i}` })));
    const counts = new Map<string, number>();
    for (const r of replies) counts.set(r.backend, (counts.get(r.backend) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual(["b1", "b2", "b3"]);
    for (const n of counts.values()) expect(Math.abs(n - 1000 / 3)).toBeLessThanOrEqual(2);
    // one downstream connection carried them all
    expect(h.counter("http.ingress_http.downstream_cx_total")).toBe(1n);
    expect(h.counter("http.ingress_http.downstream_rq_total")).toBe(1000n);
    expect(h.counter("http.ingress_http.downstream_rq_2xx")).toBe(1000n);
  }, 60_000);
});
