import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBackend, type Backend } from "../../balancer/support/fleet.ts";
import { DEADLINE_EXCEEDED, grpcFrame, H2GrpcClient, statusFromHttp, UNAVAILABLE, WORK_REQUEST } from "./h2-client.ts";

describe("gRPC wire format", () => {
  it("frames a message with flag 0 and a big-endian length", () => {
    expect([...grpcFrame(Uint8Array.from([1, 2, 3]))]).toEqual([0, 0, 0, 0, 3, 1, 2, 3]);
    expect([...WORK_REQUEST]).toEqual([0, 0, 0, 0, 3, 0x0a, 0x01, 0x78]);
  });

  it("maps HTTP statuses without grpc-status as gRPC's mapping table does", () => {
    expect([400, 401, 403, 404, 429, 502, 503, 504, 500].map(statusFromHttp)).toEqual([13, 16, 7, 12, 14, 14, 14, 14, 2]);
  });
});

describe("against a grpc-js server", () => {
  let backend: Backend;
  let client: H2GrpcClient;
  beforeAll(async () => {
    backend = await startBackend("h2", { lightMs: 5, heavyMs: 300, jitter: 0 });
    client = await H2GrpcClient.connect(backend.port);
  });
  afterAll(async () => {
    client.close();
    await backend.stop();
  });
  const call = (method: string, timeoutMs: number, md: Record<string, string> = {}) =>
    new Promise<{ code: number; ms: number }>((resolve) => {
      const t0 = performance.now();
      client.unary(`/meshbench.Work/${method}`, md, timeoutMs, (code) => resolve({ code, ms: performance.now() - t0 }));
    });

  it("gets OK with the request's metadata delivered", async () => {
    expect((await call("Light", 2000, { "x-bench-rpc": "0:7" })).code).toBe(0);
    expect(backend.lastMetadata.at(-1)?.["x-bench-rpc"]).toBe("0:7");
  });

  it("reads UNAVAILABLE from the trailers of a failing server", async () => {
    backend.behaviour.failing = true;
    try {
      expect((await call("Light", 2000)).code).toBe(UNAVAILABLE);
    } finally {
      backend.behaviour.failing = false;
    }
  });

  it("ends a call that outlives its deadline with DEADLINE_EXCEEDED, not before", async () => {
    const r = await call("Heavy", 100);
    expect(r.code).toBe(DEADLINE_EXCEEDED);
    expect(r.ms).toBeGreaterThanOrEqual(99);
    expect((await call("Light", 2000)).code).toBe(0); // the connection is still usable
  });

  it("reports an unknown method as UNIMPLEMENTED", async () => {
    expect((await call("Nope", 2000)).code).toBe(12);
  });
});
