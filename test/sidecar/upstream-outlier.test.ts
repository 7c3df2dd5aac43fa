/**
 * Outlier detection (consecutive_5xx) through the full sidecar with demo backends. gRPC
 * trailers-only failures reach the detector as Envoy's router reports them,
 * grpcToHttpStatus(grpc-status): UNAVAILABLE -> 503 and INTERNAL -> 500 count as 5xx,
 * NOT_FOUND -> 404 does not. A backend failing every RPC is ejected (traffic moves to the
 * others, ejection counters, `/failed_outlier_check` in admin /clusters) and comes back once
 * base_ejection_time has passed. A detection that is not enforced does not eject, and the
 * next run of failures is detected again.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createDemoClients, type DemoClients } from "../../manager/src/demo/services/clients.ts";
import { startDemoBackend, type DemoBackend } from "../../manager/src/demo/services/backend.ts";
import { startSidecar, type Sidecar } from "../../manager/src/sidecar/proxy/sidecar.ts";
import type { Counter, Gauge } from "../../manager/src/sidecar/stats/types.ts";
import { envoyConfig, writeEnvoyConfig } from "../support/envoy-config.ts";

const BASE_EJECTION_MS = 1000;

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(outlier: Record<string, unknown> = {}): Promise<{ backends: DemoBackend[]; sidecar: Sidecar; client: DemoClients }> {
  const backends = await Promise.all(["o1", "o2", "o3"].map((name) => startDemoBackend({ name })));
  cleanups.push(() => Promise.all(backends.map((b) => b.stop())));
  const bootstrap = envoyConfig({ clusters: [{ name: "backend", ports: backends.map((b) => b.port) }], admin: true });
  const [cluster] = (bootstrap.static_resources as { clusters: Array<Record<string, unknown>> }).clusters;
  cluster!.outlier_detection = {
    consecutive_5xx: 5,
    interval: "0.2s",
    base_ejection_time: `${BASE_EJECTION_MS / 1000}s`,
    max_ejection_percent: 50,
    enforcing_success_rate: 0,
    ...outlier,
  };
  const cfg = await writeEnvoyConfig(bootstrap);
  const sidecar = await startSidecar({ configPath: cfg.path });
  cleanups.push(() => cfg.cleanup(), () => sidecar.stop());
  const client = createDemoClients(`127.0.0.1:${sidecar.listeners[0]!.port}`);
  cleanups.push(() => client.close());
  return { backends, sidecar, client };
}

const stat = (s: Sidecar, name: string): number =>
  Number((s.stats.find(`cluster.backend.${name}`) as Counter | Gauge | undefined)?.value() ?? -1);

async function healthFlags(s: Sidecar, b: DemoBackend): Promise<string> {
  const text = await (await fetch(`http://127.0.0.1:${s.adminPort}/clusters`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`backend::127.0.0.1:${b.port}::health_flags::`));
  return line?.split("::")[3] ?? "";
}

async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("outlier detection through the sidecar", () => {
  it("ejects a backend failing every RPC with UNAVAILABLE and takes it back after base_ejection_time", async () => {
    const { backends, sidecar, client } = await setup();
    const [bad] = backends;
    bad!.setErrorRate(1);
    // Sequential RPCs round robin over 3 backends: the 5th consecutive 503 of `bad` ejects it.
    await until(async () => {
      await client.unary({ message: "probe" }).catch(() => undefined);
      return stat(sidecar, "outlier_detection.ejections_enforced_total") >= 1;
    }, "the ejection");
    const ejectedAt = Date.now();
    expect(stat(sidecar, "outlier_detection.ejections_detected_consecutive_5xx")).toBe(1);
    expect(stat(sidecar, "outlier_detection.ejections_enforced_consecutive_5xx")).toBe(1);
    expect(stat(sidecar, "outlier_detection.ejections_active")).toBe(1);
    expect(stat(sidecar, "membership_healthy")).toBe(2);
    expect(await healthFlags(sidecar, bad!)).toBe("/failed_outlier_check");
    expect(await healthFlags(sidecar, backends[1]!)).toBe("healthy");

    // While ejected, every RPC goes to the two others and succeeds.
    const before = bad!.totalCalls();
    const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => client.unary({ message: `e${i}` })));
    expect(bad!.totalCalls()).toBe(before);
    expect(new Set(replies.map((r) => r.servedBy))).toEqual(new Set(["o2", "o3"]));

    // Healthy again: the interval timer unejects it once base_ejection_time has passed.
    bad!.setErrorRate(0);
    await until(async () => (await healthFlags(sidecar, bad!)) === "healthy", "the unejection");
    expect(Date.now() - ejectedAt).toBeGreaterThanOrEqual(BASE_EJECTION_MS - 100);
    expect(stat(sidecar, "outlier_detection.ejections_active")).toBe(0);
    expect(stat(sidecar, "membership_healthy")).toBe(3);
    const after = await Promise.all(Array.from({ length: 30 }, (_, i) => client.unary({ message: `r${i}` })));
    expect(after.filter((r) => r.servedBy === "o1").length).toBeGreaterThanOrEqual(5);
  }, 15_000);

  it("counts grpc-status as Envoy's router maps it: INTERNAL (500) ejects, NOT_FOUND (404) does not", async () => {
    const { sidecar, client } = await setup();
    // 30 NOT_FOUND failures spread over 3 backends: 10 consecutive 404s each, no ejection.
    for (let i = 0; i < 30; i++) await client.unary({ message: "nf", failWithCode: 5 }).catch(() => undefined);
    expect(stat(sidecar, "upstream_rq_200")).toBe(30); // trailers-only: HTTP 200 carrying grpc-status 5
    expect(stat(sidecar, "outlier_detection.ejections_detected_consecutive_5xx")).toBe(0);
    // INTERNAL maps to 500: five in a row on one backend eject it.
    for (let i = 0; i < 15 && stat(sidecar, "outlier_detection.ejections_enforced_total") < 1; i++) {
      await client.unary({ message: "int", failWithCode: 13 }).catch(() => undefined);
    }
    expect(stat(sidecar, "outlier_detection.ejections_enforced_consecutive_5xx")).toBe(1);
    expect(stat(sidecar, "membership_healthy")).toBe(2);
  }, 15_000);

  it("enforcing_consecutive_5xx 0: every run of 5 failures is detected, none ejects", async () => {
    const { backends, sidecar, client } = await setup({ enforcing_consecutive_5xx: 0 });
    const [bad] = backends;
    bad!.setErrorRate(1);
    // Round robin over 3: 45 sequential RPCs give the failing backend 15 in a row.
    for (let i = 0; i < 45; i++) await client.unary({ message: `d${i}` }).catch(() => undefined);
    expect(bad!.calls.get("Echo/Unary")).toBe(15);
    expect(stat(sidecar, "outlier_detection.ejections_detected_consecutive_5xx")).toBe(3);
    expect(stat(sidecar, "outlier_detection.ejections_enforced_total")).toBe(0);
    expect(stat(sidecar, "membership_healthy")).toBe(3);
    expect(await healthFlags(sidecar, bad!)).toBe("healthy");
  }, 15_000);
});
