import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { MemoryStatsStore } from "../../stats/store.ts";
import type { Counter } from "../../stats/types.ts";
import type { Cluster, RetryPolicy } from "../../config/model.ts";
import { createClusterManager, type UpstreamClusterManager } from "./cluster-manager.ts";
import { seededRandom } from "./random.ts";
import { clusterConfig, drive, route } from "./router-test-driver.ts";

type Handler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, index: number) => void;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function h2Server(handler: Handler, index = 0): Promise<{ port: number; hits: number; server: http2.Http2Server }> {
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => sessions.add(s));
  const state = { port: 0, hits: 0, server };
  server.on("stream", (stream, headers) => {
    state.hits++;
    stream.on("error", () => {});
    handler(stream, headers, index);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  state.port = (server.address() as AddressInfo).port;
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        for (const s of sessions) s.destroy();
        server.close(() => r());
      }),
  );
  return state;
}

const ok: Handler = (stream, headers, index) => {
  stream.respond({ ":status": 200, "x-backend": String(index), "x-expected": String(headers["x-envoy-expected-rq-timeout-ms"] ?? "") });
  stream.end("hello");
};

const grpcOk = (stream: http2.ServerHttp2Stream, index: number): void => {
  stream.respond({ ":status": 200, "content-type": "application/grpc", "x-backend": String(index) }, { waitForTrailers: true });
  stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
  stream.end(Buffer.from([0, 0, 0, 0, 0]));
};

async function manager(clusters: Cluster[]): Promise<{ cm: UpstreamClusterManager; stats: MemoryStatsStore }> {
  const stats = new MemoryStatsStore();
  const cm = createClusterManager(clusters, { stats, random: seededRandom(42) });
  await cm.start();
  cleanups.push(() => cm.stop());
  return { cm, stats };
}

const get = (path = "/"): { headers: [string, string][] } => ({
  headers: [
    [":method", "GET"],
    [":path", path],
    [":scheme", "http"],
    [":authority", "svc"],
  ],
});

const grpcReq = () => ({
  headers: [
    [":method", "POST"],
    [":path", "/pkg.Svc/Do"],
    [":scheme", "http"],
    [":authority", "svc"],
    ["content-type", "application/grpc"],
    ["te", "trailers"],
  ] as [string, string][],
  body: new Uint8Array([0, 0, 0, 0, 0]),
});

const counter = (s: MemoryStatsStore, n: string): number => Number((s.find(n) as Counter | undefined)?.value() ?? 0n);

const retryPolicy = (o: Partial<RetryPolicy>): RetryPolicy => ({
  retryOn: [],
  numRetries: 1,
  perTryTimeoutMs: 0,
  retriableStatusCodes: [],
  baseIntervalMs: 25,
  maxIntervalMs: 250,
  ...o,
});

describe("router filter", () => {
  it("forwards a request over HTTP/2 and returns headers, body and Envoy's headers", async () => {
    const b = await h2Server(ok);
    const { cm, stats } = await manager([clusterConfig("c", [b.port])]);
    const r = await drive([cm.routerFilterFactory({ kind: "router", name: "r", path: "" })()], route("c", { timeoutMs: 3000 }), get());
    expect(r.headers?.get(":status")).toBe("200");
    expect(new TextDecoder().decode(r.body)).toBe("hello");
    expect(r.headers?.get("x-expected")).toBe("3000");
    expect(Number(r.headers?.get("x-envoy-upstream-service-time"))).toBeGreaterThanOrEqual(0);
    expect(r.info.upstreamHost).toEqual({ address: "127.0.0.1", port: b.port });
    expect(r.info.upstreamRequestAttemptCount).toBe(1);
    expect(r.info.upstreamLocalAddress?.address).toBe("127.0.0.1");
    expect(counter(stats, "cluster.c.upstream_rq_200")).toBe(1);
    expect(counter(stats, "cluster.c.upstream_rq_2xx")).toBe(1);
    expect(counter(stats, "cluster.c.upstream_cx_total")).toBe(1);
    const host = cm.clusters()[0]!.hosts()[0]!;
    expect(host.rqTotal).toBe(1);
    expect(host.rqSuccess).toBe(1);
    expect(host.rqActive).toBe(0);
  });

  it("streams request body and trailers upstream and response trailers back (gRPC)", async () => {
    let got = 0;
    const b = await h2Server((stream) => {
      stream.on("data", (d: Buffer) => (got += d.length));
      stream.on("end", () => grpcOk(stream, 0));
    });
    const { cm } = await manager([clusterConfig("c", [b.port])]);
    const r = await drive([cm.routerFilterFactory({ kind: "router", name: "r", path: "" })()], route("c"), grpcReq());
    expect(got).toBe(5);
    expect(r.trailers?.get("grpc-status")).toBe("0");
  });

  it("balances ROUND_ROBIN requests evenly over three backends on one connection each", async () => {
    const bs = await Promise.all([0, 1, 2].map((i) => h2Server(ok, i)));
    const { cm, stats } = await manager([clusterConfig("c", bs.map((b) => b.port))]);
    await Promise.all(
      Array.from({ length: 300 }, () => drive([cm.routerFilterFactory({ kind: "router", name: "r", path: "" })()], route("c"), get())),
    );
    expect(bs.map((b) => b.hits)).toEqual([100, 100, 100]);
    expect(counter(stats, "cluster.c.upstream_cx_total")).toBe(3);
  });

  it("retries a gRPC UNAVAILABLE trailers-only response and succeeds", async () => {
    let calls = 0;
    const b = await h2Server((stream) => {
      stream.on("data", () => {});
      stream.on("end", () => {
        if (calls++ === 0) stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "14" }, { endStream: true });
        else grpcOk(stream, 0);
      });
    });
    const { cm, stats } = await manager([clusterConfig("c", [b.port])]);
    const r = await drive(
      [cm.routerFilterFactory({ kind: "router", name: "r", path: "" })()],
      route("c", { retryPolicy: retryPolicy({ retryOn: ["unavailable"], numRetries: 2 }) }),
      grpcReq(),
    );
    expect(r.trailers?.get("grpc-status")).toBe("0");
    expect(calls).toBe(2);
    expect(r.info.upstreamRequestAttemptCount).toBe(2);
    expect(counter(stats, "cluster.c.upstream_rq_retry")).toBe(1);
    expect(counter(stats, "cluster.c.upstream_rq_retry_success")).toBe(1);
  });

  it("passes the last response through with URX when retries are exhausted", async () => {
    const b = await h2Server((stream) => {
      stream.respond({ ":status": 503 });
      stream.end("busy");
    });
    const { cm, stats } = await manager([clusterConfig("c", [b.port])]);
    const r = await drive(
      [cm.routerFilterFactory({ kind: "router", name: "r", path: "" })()],
      route("c", { retryPolicy: retryPolicy({ retryOn: ["5xx"], numRetries: 2 }) }),
      get(),
    );
    expect(r.headers?.get(":status")).toBe("503");
    expect(b.hits).toBe(3);
    expect(r.info.responseFlags.has("URX")).toBe(true);
    expect(counter(stats, "cluster.c.upstream_rq_retry_limit_exceeded")).toBe(1);
    // Only the forwarded response is charged as upstream_rq_503; the retried ones under retry.
    expect(counter(stats, "cluster.c.upstream_rq_503")).toBe(1);
    expect(counter(stats, "cluster.c.retry.upstream_rq_503")).toBe(2);
    expect(counter(stats, "cluster.c.retry.upstream_rq_5xx")).toBe(2);
    expect(counter(stats, "cluster.c.retry.upstream_rq_completed")).toBe(2);
  });

  it("answers 503 UF on connection refused, with Envoy's body and details", async () => {
    const b = await h2Server(ok);
    const port = b.port;
    await new Promise<void>((r) => b.server.close(() => r()));
    const { cm, stats } = await manager([clusterConfig("c", [port])]);
    const r = await drive([cm.routerFilterFactory({ kind: "router", name: "r", path: "" })()], route("c"), get());
    expect(r.localReply?.status).toBe(503);
    expect(r.localReply?.flag).toBe("UF");
    expect(String(r.localReply?.body)).toMatch(
      /^upstream connect error or disconnect\/reset before headers\. reset reason: remote connection failure, transport failure reason: delayed connect error: \d+$/,
    );
    expect(r.localReply?.details).toMatch(/^upstream_reset_before_response_started\{remote_connection_failure\|delayed_connect_error:_\d+\}$/);
    expect(counter(stats, "cluster.c.upstream_cx_connect_fail")).toBe(1);
    expect(counter(stats, "cluster.c.upstream_rq_503")).toBe(1);
  });

  it("answers 504 UT on route timeout and counts upstream_rq_timeout", async () => {
    const b = await h2Server(() => {});
    const { cm, stats } = await manager([clusterConfig("c", [b.port])]);
    const r = await drive([cm.routerFilterFactory({ kind: "router", name: "r", path: "" })()], route("c", { timeoutMs: 100 }), get());
    expect(r.localReply).toMatchObject({ status: 504, body: "upstream request timeout", details: "upstream_response_timeout", flag: "UT" });
    expect(counter(stats, "cluster.c.upstream_rq_timeout")).toBe(1);
    expect(cm.clusters()[0]!.hosts()[0]!.rqTimeout).toBe(1);
  });

  it("retries after a per-try timeout and succeeds", async () => {
    let calls = 0;
    const b = await h2Server((stream, h) => {
      if (calls++ > 0) ok(stream, h, 0);
    });
    const { cm, stats } = await manager([clusterConfig("c", [b.port])]);
    const r = await drive(
      [cm.routerFilterFactory({ kind: "router", name: "r", path: "" })()],
      route("c", { retryPolicy: retryPolicy({ retryOn: ["5xx"], numRetries: 1, perTryTimeoutMs: 100 }) }),
      get(),
    );
    expect(r.headers?.get(":status")).toBe("200");
    expect(r.headers?.get("x-expected")).toBe("100");
    expect(counter(stats, "cluster.c.upstream_rq_per_try_timeout")).toBe(1);
    expect(counter(stats, "cluster.c.upstream_rq_retry")).toBe(1);
  });

  it("answers 504 UT upstream_per_try_timeout when no retry is left", async () => {
    const b = await h2Server(() => {});
    const { cm } = await manager([clusterConfig("c", [b.port])]);
    const r = await drive(
      [cm.routerFilterFactory({ kind: "router", name: "r", path: "" })()],
      route("c", { retryPolicy: retryPolicy({ retryOn: ["connect-failure"], numRetries: 1, perTryTimeoutMs: 50 }) }),
      get(),
    );
    expect(r.localReply).toMatchObject({ status: 504, details: "upstream_per_try_timeout", flag: "UT" });
  });

  it("answers 503 UH when the cluster has no host", async () => {
    const { cm, stats } = await manager([clusterConfig("c", [])]);
    const r = await drive([cm.routerFilterFactory({ kind: "router", name: "r", path: "" })()], route("c"), get());
    expect(r.localReply).toMatchObject({ status: 503, body: "no healthy upstream", details: "no_healthy_upstream", flag: "UH" });
    expect(counter(stats, "cluster.c.upstream_cx_none_healthy")).toBe(1);
  });

  it("overflows max_requests with 503 UO and upstream_rq_pending_overflow", async () => {
    const b = await h2Server((stream) => setTimeout(() => ok(stream, {}, 0), 150));
    const { cm, stats } = await manager([
      clusterConfig("c", [b.port], { circuitBreakers: [{ priority: "DEFAULT", maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1, maxRetries: 3 }] }),
    ]);
    const f = () => drive([cm.routerFilterFactory({ kind: "router", name: "r", path: "" })()], route("c"), get());
    const first = f();
    await new Promise((r) => setTimeout(r, 50));
    const second = await f();
    expect(second.localReply?.status).toBe(503);
    expect(second.localReply?.flag).toBe("UO");
    expect(second.localReply?.details).toBe("upstream_reset_before_response_started{overflow}");
    expect((await first).headers?.get(":status")).toBe("200");
    expect(counter(stats, "cluster.c.upstream_rq_pending_overflow")).toBe(1);
  });

  it("queues requests over max_concurrent_streams and opens more connections", async () => {
    const b = await h2Server((stream) => setTimeout(() => ok(stream, {}, 0), 30));
    const { cm, stats } = await manager([clusterConfig("c", [b.port], { http2MaxConcurrentStreams: 2 })]);
    const rs = await Promise.all(
      Array.from({ length: 6 }, () => drive([cm.routerFilterFactory({ kind: "router", name: "r", path: "" })()], route("c"), get())),
    );
    for (const r of rs) expect(r.headers?.get(":status")).toBe("200");
    expect(counter(stats, "cluster.c.upstream_cx_total")).toBe(3);
  });

  it("forwards to an HTTP/1.1 upstream with keep-alive", async () => {
    const server = http.createServer((req, res) => {
      res.setHeader("x-host", String(req.headers.host));
      res.end("h1");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    cleanups.push(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
    const port = (server.address() as AddressInfo).port;
    const { cm, stats } = await manager([clusterConfig("c", [port], { upstreamProtocol: "HTTP1" })]);
    for (let i = 0; i < 3; i++) {
      const r = await drive([cm.routerFilterFactory({ kind: "router", name: "r", path: "" })()], route("c"), get());
      expect(r.headers?.get(":status")).toBe("200");
      expect(r.headers?.get("x-host")).toBe("svc");
      expect(new TextDecoder().decode(r.body)).toBe("h1");
    }
    expect(counter(stats, "cluster.c.upstream_cx_total")).toBe(1);
    expect(counter(stats, "cluster.c.upstream_cx_http1_total")).toBe(1);
  });

  it("cancels the upstream stream when the downstream resets", async () => {
    let aborted = false;
    const b = await h2Server((stream) => stream.on("close", () => (aborted = stream.rstCode === http2.constants.NGHTTP2_CANCEL)));
    const { cm } = await manager([clusterConfig("c", [b.port])]);
    await drive([cm.routerFilterFactory({ kind: "router", name: "r", path: "" })()], route("c"), get(), {
      onStart: (api) => setTimeout(() => api.reset(), 50),
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(aborted).toBe(true);
  });

  it("resets the downstream when the upstream resets after response headers", async () => {
    const b = await h2Server((stream) => {
      stream.respond({ ":status": 200 });
      stream.write("partial");
      setTimeout(() => stream.session?.destroy(), 20);
    });
    const { cm } = await manager([clusterConfig("c", [b.port])]);
    const r = await drive([cm.routerFilterFactory({ kind: "router", name: "r", path: "" })()], route("c"), get());
    expect(r.headers?.get(":status")).toBe("200");
    expect(r.reset).toMatch(/^upstream_reset_after_response_started\{(remote_reset|connection_termination)\}$/);
    expect(r.info.responseFlags.has("UR") || r.info.responseFlags.has("UC")).toBe(true);
  });

  it("ejects a failing host via outlier detection so traffic moves to the others", async () => {
    const bad = await h2Server((stream) => {
      stream.respond({ ":status": 500 });
      stream.end();
    }, 0);
    const good = await h2Server(ok, 1);
    const good2 = await h2Server(ok, 2);
    const { cm, stats } = await manager([
      clusterConfig("c", [bad.port, good.port, good2.port], {
        outlierDetection: {
          consecutive5xx: 3,
          consecutiveGatewayFailure: 5,
          enforcingConsecutive5xx: 100,
          enforcingConsecutiveGatewayFailure: 0,
          intervalMs: 10_000,
          baseEjectionTimeMs: 30_000,
          maxEjectionTimeMs: 300_000,
          maxEjectionPercent: 100,
        },
      }),
    ]);
    for (let i = 0; i < 30; i++) await drive([cm.routerFilterFactory({ kind: "router", name: "r", path: "" })()], route("c"), get());
    expect(bad.hits).toBe(3);
    expect(counter(stats, "cluster.c.outlier_detection.ejections_enforced_consecutive_5xx")).toBe(1);
    expect(cm.clusters()[0]!.hosts()[0]!.healthFlags).toEqual(["/failed_outlier_check"]);
  });
});
