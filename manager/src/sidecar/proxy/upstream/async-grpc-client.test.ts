import * as grpc from "@grpc/grpc-js";
import http2 from "node:http2";
import net, { type AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { HeaderPair } from "../../http/header-map.ts";
import type { GrpcCallDispatcher, GrpcStreamHandle, GrpcStreamRequest } from "../../host/api.ts";
import { MemoryStatsStore } from "../../stats/store.ts";
import { createAsyncGrpcClient, frameMessage, grpcTimeoutHeader } from "./async-grpc-client.ts";
import { createClusterManager } from "./cluster-manager.ts";
import { clusterConfig } from "./router-test-driver.ts";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const raw = (b: Buffer): Buffer => b;
const method = (name: string, requestStream: boolean, responseStream: boolean) => ({
  path: `/test.Echo/${name}`,
  requestStream,
  responseStream,
  requestSerialize: raw,
  requestDeserialize: raw,
  responseSerialize: raw,
  responseDeserialize: raw,
});
const SERVICE = {
  Unary: method("Unary", false, false),
  Fail: method("Fail", false, false),
  Slow: method("Slow", false, false),
  Big: method("Big", false, false),
  Count: method("Count", false, true),
  Bidi: method("Bidi", true, true),
} as grpc.ServiceDefinition;

interface Seen {
  metadata?: grpc.Metadata;
  cancelled: boolean;
}

async function grpcServer(): Promise<{ port: number; seen: Seen }> {
  const seen: Seen = { cancelled: false };
  const server = new grpc.Server();
  server.addService(SERVICE, {
    Unary: (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => {
      seen.metadata = call.metadata;
      const md = new grpc.Metadata();
      md.set("x-initial", "i1");
      call.sendMetadata(md);
      const trailer = new grpc.Metadata();
      trailer.set("x-trailer", "t1");
      done(null, Buffer.concat([Buffer.from("echo:"), call.request]), trailer);
    },
    Fail: (_call: unknown, done: grpc.sendUnaryData<Buffer>) =>
      done({ code: grpc.status.PERMISSION_DENIED, details: "no way, 100% denied" }),
    Slow: (call: grpc.ServerUnaryCall<Buffer, Buffer>) => {
      call.on("cancelled", () => (seen.cancelled = true));
    },
    Big: (_call: unknown, done: grpc.sendUnaryData<Buffer>) => done(null, Buffer.alloc(200_000, 7)),
    Count: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      const n = call.request[0]!;
      for (let i = 0; i < n; i++) call.write(Buffer.from(`m${i}`));
      call.end();
    },
    Bidi: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      call.on("data", (b: Buffer) => call.write(Buffer.concat([Buffer.from("re:"), b])));
      call.on("end", () => call.end());
      call.on("cancelled", () => (seen.cancelled = true));
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  cleanups.push(() => new Promise<void>((r) => server.tryShutdown(() => r())));
  cleanups.push(() => server.forceShutdown());
  return { port, seen };
}

async function client(ports: number[]): Promise<GrpcCallDispatcher> {
  const cm = createClusterManager([clusterConfig("backend", ports)], { stats: new MemoryStatsStore() });
  await cm.start();
  cleanups.push(() => cm.stop());
  return createAsyncGrpcClient(cm);
}

type Event = ["initial", HeaderPair[]] | ["message", string] | ["trailers", HeaderPair[]] | ["close", number, string];

function open(d: GrpcCallDispatcher, method: string, o: Partial<GrpcStreamRequest> = {}) {
  const events: Event[] = [];
  let sync = false;
  let returned = false;
  let resolveClose!: (e: Event[]) => void;
  const closed = new Promise<Event[]>((r) => (resolveClose = r));
  const mark = () => (sync ||= !returned);
  const handle: GrpcStreamHandle = d.grpcStream(
    { cluster: "backend", service: "test.Echo", method, metadata: [], timeoutMs: 0, ...o },
    {
      onInitialMetadata: (md) => (mark(), events.push(["initial", md])),
      onMessage: (m) => (mark(), events.push(["message", new TextDecoder().decode(m)])),
      onTrailingMetadata: (md) => (mark(), events.push(["trailers", md])),
      onClose: (s, m) => {
        mark();
        events.push(["close", s, m]);
        resolveClose(events);
      },
    },
  );
  returned = true;
  return { handle, events, closed, wasSync: () => sync };
}
const te = (s: string) => new TextEncoder().encode(s);
const get = (md: HeaderPair[], k: string) => md.find(([n]) => n === k)?.[1];

describe("async gRPC client against grpc-js", () => {
  it("unary: initial metadata, one message, trailers, close OK; request metadata and -bin base64", async () => {
    const { port, seen } = await grpcServer();
    const d = await client([port]);
    expect(d.hasCluster("backend")).toBe(true);
    expect(d.hasCluster("nope")).toBe(false);
    const s = open(d, "Unary", { metadata: [["x-plugin", "p1"], ["x-raw-bin", "\x01\x02"]], timeoutMs: 5000 });
    s.handle.send(te("hi"), true);
    const ev = await s.closed;
    expect(s.wasSync()).toBe(false);
    expect(ev.map((e) => e[0])).toEqual(["initial", "message", "trailers", "close"]);
    expect(get(ev[0]![1] as HeaderPair[], ":status")).toBe("200");
    expect(get(ev[0]![1] as HeaderPair[], "x-initial")).toBe("i1");
    expect(ev[1]).toEqual(["message", "echo:hi"]);
    expect(get(ev[2]![1] as HeaderPair[], "grpc-status")).toBe("0");
    expect(get(ev[2]![1] as HeaderPair[], "x-trailer")).toBe("t1");
    // grpc-js sends grpc-message "OK"; Envoy hands the message over as it came.
    expect(ev[3]).toEqual(["close", 0, "OK"]);
    expect(seen.metadata!.get("x-plugin")).toEqual(["p1"]);
    expect((seen.metadata!.get("x-raw-bin")[0] as Buffer).equals(Buffer.from([1, 2]))).toBe(true);
  });

  it("error status with a percent-encoded message (trailers-only)", async () => {
    const { port } = await grpcServer();
    const s = open(await client([port]), "Fail");
    s.handle.send(te(""), true);
    const ev = await s.closed;
    expect(ev[0]).toEqual(["initial", []]);
    expect(ev.at(-1)).toEqual(["close", 7, "no way, 100% denied"]);
  });

  it("reassembles a message spread over many DATA frames", async () => {
    const { port } = await grpcServer();
    const d = await client([port]);
    const events: number[] = [];
    await new Promise<void>((resolve) => {
      const h = d.grpcStream(
        { cluster: "backend", service: "test.Echo", method: "Big", metadata: [], timeoutMs: 0 },
        { onInitialMetadata() {}, onMessage: (m) => events.push(m.length), onTrailingMetadata() {}, onClose: () => resolve() },
      );
      h.send(te("x"), true);
    });
    expect(events).toEqual([200_000]);
  });

  it("server streaming: every message in order, then close OK", async () => {
    const { port } = await grpcServer();
    const s = open(await client([port]), "Count");
    s.handle.send(new Uint8Array([3]), true);
    const ev = await s.closed;
    expect(ev.filter((e) => e[0] === "message")).toEqual([["message", "m0"], ["message", "m1"], ["message", "m2"]]);
    expect(ev.at(-1)).toEqual(["close", 0, "OK"]);
  });

  it("bidi: messages both ways, closeSend half-closes, server ends", async () => {
    const { port } = await grpcServer();
    const s = open(await client([port]), "Bidi");
    s.handle.send(te("a"), false);
    await new Promise<void>((r) => {
      const t = setInterval(() => s.events.some((e) => e[0] === "message") && (clearInterval(t), r()), 5);
    });
    s.handle.send(te("b"), false);
    s.handle.closeSend();
    const ev = await s.closed;
    expect(ev.filter((e) => e[0] === "message")).toEqual([["message", "re:a"], ["message", "re:b"]]);
    expect(ev.at(-1)).toEqual(["close", 0, "OK"]);
  });

  it("timeout: grpc-timeout sent; the route timeout closes with 14 upstream request timeout (Envoy's local reply)", async () => {
    const { port, seen } = await grpcServer();
    const s = open(await client([port]), "Slow", { timeoutMs: 150 });
    s.handle.send(te(""), true);
    const ev = await s.closed;
    expect(ev.at(-1)![0]).toBe("close");
    // The router's 504 (14) or grpc-js enforcing grpc-timeout (4), whichever comes first.
    expect([[14, "upstream request timeout"], [4, "Deadline exceeded"]]).toContainEqual(ev.at(-1)!.slice(1));
    await new Promise((r) => setTimeout(r, 50));
    expect(seen.cancelled).toBe(true);
  });

  it("cancel: no callback afterwards and the server sees the cancellation", async () => {
    const { port, seen } = await grpcServer();
    const s = open(await client([port]), "Bidi");
    s.handle.send(te("a"), false);
    await new Promise((r) => setTimeout(r, 50));
    const before = s.events.length;
    s.handle.cancel();
    await new Promise((r) => setTimeout(r, 100));
    expect(s.events.length).toBe(before);
    expect(seen.cancelled).toBe(true);
  });

  it("connection refused -> 14 with the router's connect-failure message", async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const s = open(await client([port]), "Unary");
    s.handle.send(te(""), true);
    const ev = await s.closed;
    expect(ev[0]).toEqual(["initial", []]);
    expect(ev.at(-1)![1]).toBe(14);
    expect(ev.at(-1)![2]).toMatch(/^upstream connect error or disconnect\/reset before headers\. reset reason: /);
  });

  it("unknown cluster -> 14 Cluster not available, asynchronously", async () => {
    const s = open(await client([1]), "Unary", { cluster: "nope" });
    const ev = await s.closed;
    expect(s.wasSync()).toBe(false);
    expect(ev).toEqual([["close", 14, "Cluster not available"]]);
  });
});

describe("async gRPC client framing against a raw HTTP/2 server", () => {
  it("messages split across and packed into DATA frames; reset after headers -> 13; compressed -> 13", async () => {
    const server = http2.createServer();
    server.on("stream", (stream, headers) => {
      stream.on("error", () => {});
      const path = headers[":path"];
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      const a = frameMessage(te("first"));
      const b = frameMessage(te("second"));
      if (path === "/s/split") {
        const all = Buffer.concat([a, b]);
        stream.write(all.subarray(0, 3));
        setTimeout(() => stream.write(all.subarray(3, 9)), 10);
        setTimeout(() => stream.end(all.subarray(9)), 20);
        stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      } else if (path === "/s/reset") {
        stream.write(a);
        setTimeout(() => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR), 10);
      } else {
        const c = Buffer.from(frameMessage(te("zip")));
        c[0] = 1;
        stream.end(c);
        stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      }
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const d = await client([(server.address() as AddressInfo).port]);
    const run = async (m: string) => {
      const s = open(d, m, { service: "s" });
      s.handle.send(te(""), true);
      return s.closed;
    };
    const split = await run("split");
    expect(split.filter((e) => e[0] === "message")).toEqual([["message", "first"], ["message", "second"]]);
    expect(split.at(-1)).toEqual(["close", 0, ""]);
    const reset = await run("reset");
    expect(reset.slice(-3)).toEqual([["message", "first"], ["trailers", []], ["close", 13, ""]]);
    const zipped = await run("zip");
    expect(zipped.slice(-2)).toEqual([["trailers", []], ["close", 13, ""]]);
  });

  it("grpc-timeout uses Envoy's units", () => {
    expect(grpcTimeoutHeader(1500)).toBe("1500m");
    expect(grpcTimeoutHeader(1e9)).toBe("1000000S");
  });
});
