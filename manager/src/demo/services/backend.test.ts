import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDemoClients, type DemoClients } from "./clients.ts";
import { startDemoBackend, type DemoBackend } from "./backend.ts";
import { collect } from "./clients.ts";
import { ECHO_SERVICE, INVENTORY_SERVICE } from "./protos.ts";
import { SERVED_BY_TRAILER } from "./messages.ts";

let backend: DemoBackend;
let clients: DemoClients;

beforeAll(async () => {
  backend = await startDemoBackend({ name: "backend-a" });
  clients = createDemoClients(backend.address);
});

afterAll(async () => {
  clients.close();
  await backend.stop();
});

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => grpc.status.OK,
    (e: grpc.ServiceError) => e.code,
  );

async function until(cond: () => boolean, timeoutMs = 5000) {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("demo backend: Echo", () => {
  it("answers on a loopback address with its name", () => {
    expect(backend.port).toBeGreaterThan(0);
    expect(backend.address).toBe(`127.0.0.1:${backend.port}`);
    expect(backend.name).toBe("backend-a");
  });

  it("Unary echoes message, payload and metadata, and names the backend", async () => {
    const before = backend.calls.get("Echo/Unary") ?? 0;
    const reply = await clients.unary(
      { message: "hi", payload: Buffer.from([1, 2, 3]) },
      { metadata: { "x-user": "alice" } },
    );
    expect(reply.message).toBe("hi");
    expect(reply.servedBy).toBe("backend-a");
    expect([...reply.payload]).toEqual([1, 2, 3]);
    expect(reply.receivedMetadata["x-user"]).toBe("alice");
    expect(backend.calls.get("Echo/Unary")).toBe(before + 1);
  });

  it("Unary puts the backend name in the trailers", async () => {
    const trailers = await new Promise<grpc.Metadata>((resolve, reject) => {
      const call = clients.echo.Unary({ message: "t" }, new grpc.Metadata(), {}, (err) => {
        if (err) reject(err);
      });
      call.on("status", (s: grpc.StatusObject) => resolve(s.metadata));
    });
    expect(trailers.get(SERVED_BY_TRAILER)).toEqual(["backend-a"]);
  });

  it("ServerStream sends `repeat` replies in order", async () => {
    const replies = await clients.serverStream({ message: "s", repeat: 4 });
    expect(replies.map((r) => r.sequence)).toEqual([0, 1, 2, 3]);
    expect(replies.every((r) => r.message === "s" && r.servedBy === "backend-a")).toBe(true);
  });

  it("ClientStream counts and concatenates", async () => {
    const reply = await clients.clientStream([
      { message: "a", payload: Buffer.from("x") },
      { message: "b", payload: Buffer.from("y") },
      { message: "c", payload: Buffer.from("z") },
    ]);
    expect(reply.message).toBe("a,b,c");
    expect(reply.sequence).toBe(3);
    expect(reply.payload.toString()).toBe("xyz");
  });

  it("Bidi echoes each message", async () => {
    const replies = await clients.bidi([{ message: "1" }, { message: "2" }, { message: "3" }]);
    expect(replies.map((r) => [r.message, r.sequence])).toEqual([
      ["1", 0],
      ["2", 1],
      ["3", 2],
    ]);
  });

  it("fail_with_code fails every RPC kind with that status", async () => {
    expect(await codeOf(clients.unary({ failWithCode: grpc.status.NOT_FOUND }))).toBe(
      grpc.status.NOT_FOUND,
    );
    expect(await codeOf(clients.serverStream({ repeat: 3, failWithCode: 7 }))).toBe(7);
    expect(await codeOf(clients.clientStream([{ message: "a" }, { failWithCode: 9 }]))).toBe(9);
    expect(await codeOf(clients.bidi([{ message: "a" }, { failWithCode: 13 }]))).toBe(13);
    const err = await clients.unary({ failWithCode: 8 }).catch((e: grpc.ServiceError) => e);
    expect((err as grpc.ServiceError).details).toContain("RESOURCE_EXHAUSTED");
  });

  it("errorRate 1 answers UNAVAILABLE; 0 restores service", async () => {
    backend.setErrorRate(1);
    try {
      expect(await codeOf(clients.unary({ message: "x" }))).toBe(grpc.status.UNAVAILABLE);
      expect(await codeOf(clients.getItem({ sku: "sku-001" }))).toBe(grpc.status.UNAVAILABLE);
      expect(await codeOf(clients.check())).toBe(grpc.status.OK);
    } finally {
      backend.setErrorRate(0);
    }
    expect(await codeOf(clients.unary({ message: "x" }))).toBe(grpc.status.OK);
    expect(() => backend.setErrorRate(1.5)).toThrow(RangeError);
  });

  it("a deadline shorter than the latency cancels the work and is counted", async () => {
    const cancelledBefore = backend.cancelled;
    backend.setLatency(2000);
    try {
      const started = Date.now();
      expect(await codeOf(clients.unary({ message: "slow" }, { deadlineMs: 50 }))).toBe(
        grpc.status.DEADLINE_EXCEEDED,
      );
      expect(Date.now() - started).toBeLessThan(1500);
      await until(() => backend.cancelled === cancelledBefore + 1 && backend.inFlight === 0);
    } finally {
      backend.setLatency(0);
    }
  });

  it("a cancelled server stream stops sending and is counted", async () => {
    const cancelledBefore = backend.cancelled;
    const call = clients.echo.ServerStream({ message: "long", repeat: 1000, delayMs: 10 });
    const seen: number[] = [];
    const done = collect(call).catch((e: grpc.ServiceError) => e.code);
    call.on("data", (r: { sequence: number }) => {
      seen.push(r.sequence);
      if (seen.length === 2) call.cancel();
    });
    expect(await done).toBe(grpc.status.CANCELLED);
    await until(() => backend.cancelled === cancelledBefore + 1 && backend.inFlight === 0);
    expect(seen.length).toBeLessThan(10);
  });

  it("inFlight counts calls being served", async () => {
    backend.setLatency(200);
    try {
      const pending = Promise.all([clients.unary({}), clients.unary({})]);
      await until(() => backend.inFlight === 2);
      await pending;
      expect(backend.inFlight).toBe(0);
    } finally {
      backend.setLatency(0);
    }
  });
});

describe("demo backend: Inventory", () => {
  it("GetItem, ListItems, ReserveItem", async () => {
    const item = await clients.getItem({ sku: "sku-002" });
    expect(item).toMatchObject({ sku: "sku-002", servedBy: "backend-a" });
    expect(await codeOf(clients.getItem({ sku: "nope" }))).toBe(grpc.status.NOT_FOUND);
    expect((await clients.listItems({ limit: 2 })).map((i) => i.sku)).toEqual([
      "sku-001",
      "sku-002",
    ]);
    const r = await clients.reserveItem({ sku: "sku-004", quantity: 2 });
    expect(r).toMatchObject({ sku: "sku-004", quantity: 2, remaining: 1, servedBy: "backend-a" });
    expect(await codeOf(clients.reserveItem({ sku: "sku-004", quantity: 2 }))).toBe(
      grpc.status.FAILED_PRECONDITION,
    );
    expect(await codeOf(clients.reserveItem({ sku: "sku-001", quantity: 0 }))).toBe(
      grpc.status.INVALID_ARGUMENT,
    );
  });
});

describe("demo backend: Health", () => {
  it("Check follows setHealth; unknown services are NOT_FOUND", async () => {
    expect((await clients.check()).status).toBe("SERVING");
    expect((await clients.check(ECHO_SERVICE)).status).toBe("SERVING");
    expect((await clients.check(INVENTORY_SERVICE)).status).toBe("SERVING");
    expect(await codeOf(clients.check("no.such.Service"))).toBe(grpc.status.NOT_FOUND);

    backend.setHealth("NOT_SERVING");
    expect((await clients.check()).status).toBe("NOT_SERVING");
    expect((await clients.check(ECHO_SERVICE)).status).toBe("SERVING");
    backend.setHealth("NOT_SERVING", ECHO_SERVICE);
    expect((await clients.check(ECHO_SERVICE)).status).toBe("NOT_SERVING");
    backend.setHealth("SERVING");
    backend.setHealth("SERVING", ECHO_SERVICE);
    expect((await clients.check()).status).toBe("SERVING");
  });

  it("Watch streams the current status then each change", async () => {
    const call = clients.health.Watch({ service: "late.Service" });
    const statuses: string[] = [];
    call.on("data", (r: { status: string }) => statuses.push(r.status));
    const ended = collect(call).catch((e: grpc.ServiceError) => e.code);
    await until(() => statuses.length === 1);
    backend.setHealth("SERVING", "late.Service");
    await until(() => statuses.length === 2);
    backend.setHealth("NOT_SERVING", "late.Service");
    await until(() => statuses.length === 3);
    call.cancel();
    expect(await ended).toBe(grpc.status.CANCELLED);
    expect(statuses).toEqual(["SERVICE_UNKNOWN", "SERVING", "NOT_SERVING"]);
  });
});

describe("demo clients", () => {
  it("share one channel across services", async () => {
    await clients.unary({});
    await clients.getItem({ sku: "sku-001" });
    await clients.check();
    expect(clients.echo.getChannel()).toBe(clients.channel);
    expect(clients.inventory.getChannel()).toBe(clients.channel);
    expect(clients.health.getChannel()).toBe(clients.channel);
  });

  it("maxMessageBytes rejects larger messages", async () => {
    const small = await startDemoBackend({ name: "small", maxMessageBytes: 1024 });
    const c = createDemoClients(small.address);
    try {
      expect(await codeOf(c.unary({ payload: Buffer.alloc(4096) }))).toBe(
        grpc.status.RESOURCE_EXHAUSTED,
      );
      expect(await codeOf(c.unary({ payload: Buffer.alloc(16) }))).toBe(grpc.status.OK);
    } finally {
      c.close();
      await small.stop();
    }
  });
});
