/**
 * Route retry_policy through the full sidecar with real grpc-js backends: a backend that
 * fails the first attempt of every RPC with UNAVAILABLE, one that always fails beside a
 * healthy one, and one too slow for per_try_timeout. With `retry_on: unavailable` every RPC
 * succeeds and the cluster counts upstream_rq_retry / upstream_rq_retry_success; without a
 * policy the client sees UNAVAILABLE.
 */
import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { startSidecar, type Sidecar } from "../../manager/src/sidecar/proxy/sidecar.ts";
import type { Counter } from "../../manager/src/sidecar/stats/types.ts";
import { envoyConfig, writeEnvoyConfig } from "../support/envoy-config.ts";
import { EchoService, echoClient, unary, type EchoReply, type EchoRequest } from "../support/grpc-echo.ts";

type Behaviour = "fail-first" | "always-fail" | "slow" | "ok";

interface TestBackend {
  name: string;
  port: number;
  /** Attempts received, per request message. */
  attempts: Map<string, number>;
  stop(): void;
}

/** A meshtest.Echo backend whose Unary follows `behaviour` (keyed by the request's message). */
async function backend(name: string, behaviour: Behaviour): Promise<TestBackend> {
  const attempts = new Map<string, number>();
  const server = new grpc.Server();
  server.addService(EchoService.service, {
    Unary: (call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) => {
      const key = call.request.message ?? "";
      const n = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, n);
      const ok = () => cb(null, { message: key, payload: Buffer.alloc(0), backend: name, headers: {}, index: n });
      const unavailable = () => cb({ code: grpc.status.UNAVAILABLE, details: `${name} unavailable` } as grpc.ServiceError);
      if (behaviour === "always-fail" || (behaviour === "fail-first" && n === 1)) return unavailable();
      if (behaviour === "slow") return void setTimeout(ok, 3000).unref();
      ok();
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return { name, port, attempts, stop: () => server.forceShutdown() };
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function sidecarFor(
  backends: TestBackend[],
  retryPolicy?: Record<string, unknown>,
  thresholds?: Record<string, unknown>,
): Promise<Sidecar> {
  const route: Record<string, unknown> = { cluster: "backend" };
  if (retryPolicy) route.retry_policy = retryPolicy;
  const bootstrap = envoyConfig({
    clusters: [{ name: "backend", ports: backends.map((b) => b.port) }],
    routes: [{ match: { prefix: "/" }, route }],
  });
  if (thresholds) {
    const [cluster] = (bootstrap.static_resources as { clusters: Array<Record<string, unknown>> }).clusters;
    cluster!.circuit_breakers = { thresholds: [{ priority: "DEFAULT", ...thresholds }] };
  }
  const cfg = await writeEnvoyConfig(bootstrap);
  const sidecar = await startSidecar({ configPath: cfg.path });
  cleanups.push(() => cfg.cleanup(), () => sidecar.stop());
  return sidecar;
}

const counter = (s: Sidecar, name: string): number => Number((s.stats.find(`cluster.backend.${name}`) as Counter).value());

function client(s: Sidecar) {
  const c = echoClient(s.listeners[0]!.port);
  cleanups.push(() => c.close());
  return c;
}

describe("retries through the sidecar", () => {
  it("retry_on unavailable: every RPC whose first attempt fails succeeds on the retry", async () => {
    const b = await backend("flaky", "fail-first");
    cleanups.push(() => b.stop());
    const s = await sidecarFor([b], { retry_on: "unavailable", num_retries: 2 }, { max_retries: 100 });
    const c = client(s);
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => unary(c, { message: `r${i}` })));
    expect(replies.map((r) => r.index)).toEqual(Array(20).fill(2));
    expect([...b.attempts.values()]).toEqual(Array(20).fill(2));
    expect(counter(s, "upstream_rq_retry")).toBe(20);
    expect(counter(s, "upstream_rq_retry_success")).toBe(20);
    expect(counter(s, "upstream_rq_retry_limit_exceeded")).toBe(0);
    expect(counter(s, "upstream_rq_retry_overflow")).toBe(0);
    // The failed first attempts (trailers-only, HTTP 200) are charged under retry., as Envoy does.
    expect(counter(s, "upstream_rq_200")).toBe(20);
    expect(counter(s, "retry.upstream_rq_200")).toBe(20);
    expect(counter(s, "retry.upstream_rq_completed")).toBe(20);
  });

  it("the default max_retries circuit breaker (3) turns excess concurrent retries into UNAVAILABLE", async () => {
    const b = await backend("flaky", "fail-first");
    cleanups.push(() => b.stop());
    const s = await sidecarFor([b], { retry_on: "unavailable", num_retries: 2 });
    const c = client(s);
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => unary(c, { message: `o${i}` })));
    const failed = results.filter((r) => r.status === "rejected");
    const retries = counter(s, "upstream_rq_retry");
    const overflow = counter(s, "upstream_rq_retry_overflow");
    expect(retries).toBeGreaterThanOrEqual(3);
    expect(retries + overflow).toBe(20);
    expect(failed).toHaveLength(overflow);
    for (const f of failed) expect((f as PromiseRejectedResult).reason).toMatchObject({ code: grpc.status.UNAVAILABLE });
    expect(counter(s, "upstream_rq_retry_success")).toBe(retries);
  });

  it("without a retry policy the client sees UNAVAILABLE", async () => {
    const b = await backend("flaky", "fail-first");
    cleanups.push(() => b.stop());
    const s = await sidecarFor([b]);
    const c = client(s);
    await expect(unary(c, { message: "once" })).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE, details: "flaky unavailable" });
    expect(b.attempts.get("once")).toBe(1);
    expect(counter(s, "upstream_rq_retry")).toBe(0);
    // The next attempt of the same message succeeds: the backend, not the proxy, decides.
    await expect(unary(c, { message: "once" })).resolves.toMatchObject({ backend: "flaky" });
  });

  it("one backend always UNAVAILABLE among two: retries land on the healthy one", async () => {
    const bad = await backend("bad", "always-fail");
    const good = await backend("good", "ok");
    cleanups.push(() => bad.stop(), () => good.stop());
    const s = await sidecarFor([bad, good], { retry_on: "unavailable", num_retries: 2 });
    const c = client(s);
    for (let i = 0; i < 20; i++) {
      await expect(unary(c, { message: `s${i}` })).resolves.toMatchObject({ backend: "good" });
    }
    // Round robin alternates, so about every other RPC starts on the bad backend.
    const retries = counter(s, "upstream_rq_retry");
    expect(retries).toBeGreaterThanOrEqual(5);
    expect(retries).toBe([...bad.attempts.values()].reduce((a, n) => a + n, 0));
    expect(counter(s, "upstream_rq_retry_success")).toBe(retries);
    expect(good.attempts.size).toBe(20);
  });

  it("per_try_timeout abandons a slow first attempt and the retry succeeds elsewhere", async () => {
    const slow = await backend("slow", "slow");
    const fast = await backend("fast", "ok");
    cleanups.push(() => slow.stop(), () => fast.stop());
    const s = await sidecarFor([slow, fast], { retry_on: "5xx,unavailable", num_retries: 2, per_try_timeout: "0.3s" });
    const c = client(s);
    for (let i = 0; i < 4; i++) {
      const started = Date.now();
      await expect(unary(c, { message: `t${i}` })).resolves.toMatchObject({ backend: "fast" });
      // The slow backend answers after 3 s; the retry does not wait for it.
      expect(Date.now() - started).toBeLessThan(2500);
    }
    const timeouts = counter(s, "upstream_rq_per_try_timeout");
    expect(timeouts).toBeGreaterThanOrEqual(3);
    expect(timeouts).toBe(slow.attempts.size);
    expect(counter(s, "upstream_rq_retry")).toBe(timeouts);
    expect(counter(s, "upstream_rq_retry_success")).toBe(timeouts);
  });
});
