import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { echoClient, statusOf, unary, type EchoClient, type EchoReply } from "../support/grpc-echo.ts";
import { startHarness, type Harness } from "../support/sidecar-harness.ts";

describe("gRPC streaming, deadlines, cancellation and large messages through the sidecar", () => {
  let h: Harness;
  let client: EchoClient;
  beforeAll(async () => {
    h = await startHarness();
    client = echoClient(h.port);
  });
  afterAll(async () => {
    client?.close();
    await h?.stop();
  });

  it("server streaming delivers every message then OK", async () => {
    const call = client.ServerStream({ message: "s", count: 5 });
    const got: EchoReply[] = [];
    call.on("data", (r: EchoReply) => got.push(r));
    const status = await statusOf(call);
    expect(status.code).toBe(grpc.status.OK);
    expect(got.map((r) => r.index)).toEqual([0, 1, 2, 3, 4]);
  });

  it("client streaming aggregates every request message", async () => {
    const reply = await new Promise<EchoReply>((resolve, reject) => {
      const call = client.ClientStream(new grpc.Metadata(), {}, (err, r) => (err ? reject(err) : resolve(r!)));
      for (const m of ["a", "b", "c"]) call.write({ message: m, payload: Buffer.alloc(10) });
      call.end();
    });
    expect(reply.message).toBe("a,b,c|30");
  });

  it("bidi streaming echoes message by message", async () => {
    const call = client.Bidi();
    const got: string[] = [];
    const done = statusOf(call);
    call.on("data", (r: EchoReply) => {
      got.push(r.message);
      if (got.length < 3) call.write({ message: `m${got.length}` });
      else call.end();
    });
    call.write({ message: "m0" });
    expect((await done).code).toBe(grpc.status.OK);
    expect(got).toEqual(["m0", "m1", "m2"]);
  });

  it("a client deadline gives DEADLINE_EXCEEDED and the upstream sees the cancellation", async () => {
    const before = h.backends[0]!.calls.length;
    const err = (await unary(client, { message: "slow", delay_ms: 2000 }, { deadlineMs: 200 }).catch((e) => e)) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    const cancelled = await h.backends[0]!.waitForCancel("Unary");
    expect(cancelled.cancelled).toBe(true);
    expect(h.backends[0]!.calls.length).toBe(before + 1);
  });

  it("client cancellation of a server stream reaches the backend", async () => {
    const call = client.ServerStream({ message: "c", count: 100, delay_ms: 20 });
    const status = statusOf(call);
    call.on("error", () => {});
    call.on("data", () => call.cancel());
    expect((await status).code).toBe(grpc.status.CANCELLED);
    const c = await h.backends[0]!.waitForCancel("ServerStream");
    expect(c.cancelled).toBe(true);
  });

  it("a backend error mid-stream arrives with its status, message and metadata", async () => {
    const call = client.ServerStream({ count: 2, fail_code: grpc.status.RESOURCE_EXHAUSTED, fail_message: "quota gone" });
    call.on("data", () => {});
    const err = await new Promise<grpc.ServiceError>((resolve) => call.on("error", resolve));
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(err.details).toBe("quota gone");
    expect(err.metadata.get("x-fail")).toEqual(["yes"]);
  });

  it("trailers-only errors from the backend pass through intact", async () => {
    const err = (await unary(client, { fail_code: grpc.status.NOT_FOUND, fail_message: "no such thing: ü%" }).catch((e) => e)) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    expect(err.details).toBe("no such thing: ü%");
    expect(err.metadata.get("x-fail")).toEqual(["yes"]);
  });

  it("carries a 16 MiB message each way", async () => {
    const big = Buffer.alloc(16 * 1024 * 1024, 0x5a);
    const reply = await unary(client, { payload: big, reply_size: 16 * 1024 * 1024 });
    expect(reply.payload.length).toBe(16 * 1024 * 1024);
    expect(reply.payload[reply.payload.length - 1]).toBe(0x61);
  }, 60_000);
});
