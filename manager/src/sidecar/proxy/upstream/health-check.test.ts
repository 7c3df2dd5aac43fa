import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { MemoryStatsStore } from "../../stats/store.ts";
import type { Counter } from "../../stats/types.ts";
import type { HealthCheckConfig } from "../../config/model.ts";
import { createClusterManager } from "./cluster-manager.ts";
import { decodeHealthCheckStatus, encodeHealthCheckRequest } from "./health-probe.ts";
import { seededRandom } from "./random.ts";
import { clusterConfig } from "./router-test-driver.ts";

const PROTO = `
syntax = "proto3";
package grpc.health.v1;
message HealthCheckRequest { string service = 1; }
message HealthCheckResponse {
  enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; SERVICE_UNKNOWN = 3; }
  ServingStatus status = 1;
}
service Health { rpc Check(HealthCheckRequest) returns (HealthCheckResponse); }
`;

function healthService(): grpc.ServiceDefinition {
  const dir = mkdtempSync(join(tmpdir(), "hc-"));
  const file = join(dir, "health.proto");
  writeFileSync(file, PROTO);
  const def = protoLoader.loadSync(file, { enums: String });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    grpc: { health: { v1: { Health: { service: grpc.ServiceDefinition } } } };
  };
  return pkg.grpc.health.v1.Health.service;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A grpc-js server whose health status per service can be flipped. */
async function healthServer(initial: string): Promise<{ port: number; set(s: string): void; checks: string[]; kill(): void }> {
  let status = initial;
  const checks: string[] = [];
  const server = new grpc.Server();
  server.addService(healthService(), {
    Check: (call: grpc.ServerUnaryCall<{ service: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      checks.push(call.request.service);
      cb(null, { status });
    },
  });
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  cleanups.push(() => server.forceShutdown());
  return { port, set: (s) => (status = s), checks, kill: () => server.forceShutdown() };
}

const hc = (o: Partial<HealthCheckConfig> = {}): HealthCheckConfig => ({
  timeoutMs: 500,
  intervalMs: 50,
  unhealthyThreshold: 2,
  healthyThreshold: 2,
  grpcServiceName: "pkg.Svc",
  noTrafficIntervalMs: 50,
  ...o,
});

const until = async (cond: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe("gRPC health checking", () => {
  it("encodes HealthCheckRequest and decodes HealthCheckResponse by hand", () => {
    expect([...encodeHealthCheckRequest("ab")]).toEqual([0, 0, 0, 0, 4, 0x0a, 2, 0x61, 0x62]);
    expect([...encodeHealthCheckRequest("")]).toEqual([0, 0, 0, 0, 0]);
    expect(decodeHealthCheckStatus(new Uint8Array([0, 0, 0, 0, 2, 0x08, 1]))).toBe(1);
    expect(decodeHealthCheckStatus(new Uint8Array([0, 0, 0, 0, 0]))).toBe(0);
  });

  it("marks NOT_SERVING hosts unhealthy at start, and restores them after healthy_threshold successes", async () => {
    const a = await healthServer("SERVING");
    const b = await healthServer("NOT_SERVING");
    const stats = new MemoryStatsStore();
    const cm = createClusterManager([clusterConfig("c", [a.port, b.port], { healthChecks: [hc()] })], { stats, random: seededRandom(1) });
    await cm.start();
    cleanups.push(() => cm.stop());
    const hosts = () => cm.clusters()[0]!.hosts();
    expect(hosts()[0]!.healthFlags).toEqual(["healthy"]);
    expect(hosts()[1]!.healthFlags).toEqual(["/failed_active_hc"]);
    expect(a.checks[0]).toBe("pkg.Svc");
    expect(Number((stats.find("cluster.c.membership_healthy") as Counter).value())).toBe(1);
    b.set("SERVING");
    await until(() => hosts()[1]!.healthFlags[0] === "healthy");
    expect(Number((stats.find("cluster.c.health_check.success") as Counter).value())).toBeGreaterThanOrEqual(3);
    // An ACTIVE failure (NOT_SERVING) takes the host out at once.
    a.set("NOT_SERVING");
    await until(() => hosts()[0]!.healthFlags[0] === "/failed_active_hc");
    expect(Number((stats.find("cluster.c.health_check.failure") as Counter).value())).toBeGreaterThanOrEqual(2);
  });

  it("needs unhealthy_threshold network failures before marking a host unhealthy", async () => {
    const a = await healthServer("SERVING");
    const stats = new MemoryStatsStore();
    const cm = createClusterManager([clusterConfig("c", [a.port], { healthChecks: [hc({ unhealthyThreshold: 3 })] })], { stats });
    await cm.start();
    cleanups.push(() => cm.stop());
    expect(cm.clusters()[0]!.hosts()[0]!.healthFlags).toEqual(["healthy"]);
    a.kill();
    await until(() => Number((stats.find("cluster.c.health_check.network_failure") as Counter).value()) >= 1);
    expect(cm.clusters()[0]!.hosts()[0]!.healthFlags).toEqual(["healthy"]);
    await until(() => cm.clusters()[0]!.hosts()[0]!.healthFlags[0] === "/failed_active_hc");
    expect(Number((stats.find("cluster.c.health_check.network_failure") as Counter).value())).toBeGreaterThanOrEqual(3);
  });
});
