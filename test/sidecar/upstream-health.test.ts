/**
 * Active gRPC health checking (grpc_health_check) through the full sidecar with demo
 * backends: a backend whose grpc.health.v1 status turns NOT_SERVING leaves the load-balancing
 * set (no more RPCs, `/failed_active_hc` in admin /clusters, membership_healthy and
 * health_check.healthy drop) and returns once it is SERVING again.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDemoClients, type DemoClients } from "../../manager/src/demo/services/clients.ts";
import { startDemoBackend, type DemoBackend } from "../../manager/src/demo/services/backend.ts";
import { startSidecar, type Sidecar } from "../../manager/src/sidecar/proxy/sidecar.ts";
import type { Counter, Gauge } from "../../manager/src/sidecar/stats/types.ts";
import { envoyConfig, writeEnvoyConfig, type WrittenConfig } from "../support/envoy-config.ts";

const stat = (s: Sidecar, name: string): number =>
  Number((s.stats.find(`cluster.backend.${name}`) as Counter | Gauge | undefined)?.value() ?? -1);

async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("gRPC active health checking through the sidecar", () => {
  let backends: DemoBackend[];
  let cfg: WrittenConfig;
  let sidecar: Sidecar;
  let client: DemoClients;

  beforeAll(async () => {
    backends = await Promise.all(["h1", "h2", "h3"].map((name) => startDemoBackend({ name })));
    const bootstrap = envoyConfig({ clusters: [{ name: "backend", ports: backends.map((b) => b.port) }], admin: true });
    const [cluster] = (bootstrap.static_resources as { clusters: Array<Record<string, unknown>> }).clusters;
    cluster!.health_checks = [
      {
        timeout: "1s",
        interval: "0.1s",
        no_traffic_interval: "0.1s",
        unhealthy_threshold: 1,
        healthy_threshold: 1,
        grpc_health_check: {},
      },
    ];
    cfg = await writeEnvoyConfig(bootstrap);
    sidecar = await startSidecar({ configPath: cfg.path });
    client = createDemoClients(`127.0.0.1:${sidecar.listeners[0]!.port}`);
  });
  afterAll(async () => {
    client?.close();
    await sidecar?.stop();
    await Promise.all((backends ?? []).map((b) => b.stop()));
    await cfg?.cleanup();
  });

  const flags = async (b: DemoBackend): Promise<string> => {
    const text = await (await fetch(`http://127.0.0.1:${sidecar.adminPort}/clusters`)).text();
    const line = text.split("\n").find((l) => l.startsWith(`backend::127.0.0.1:${b.port}::health_flags::`));
    return line?.split("::")[3] ?? "";
  };
  const unaryCalls = (b: DemoBackend): number => b.calls.get("Echo/Unary") ?? 0;
  const burst = (n: number, tag: string) => Promise.all(Array.from({ length: n }, (_, i) => client.unary({ message: `${tag}${i}` })));

  it("starts with every backend checked healthy and in rotation", async () => {
    expect(stat(sidecar, "membership_healthy")).toBe(3);
    expect(stat(sidecar, "health_check.healthy")).toBe(3);
    expect(stat(sidecar, "health_check.success")).toBeGreaterThanOrEqual(3);
    for (const b of backends) expect(b.calls.get("Health/Check")).toBeGreaterThanOrEqual(1);
    const replies = await burst(30, "a");
    expect(new Set(replies.map((r) => r.servedBy))).toEqual(new Set(["h1", "h2", "h3"]));
  });

  it("a NOT_SERVING backend stops getting RPCs; SERVING again, it gets them again", async () => {
    const [down] = backends;
    down!.setHealth("NOT_SERVING");
    await until(() => stat(sidecar, "membership_healthy") === 2, "membership_healthy 2");
    expect(stat(sidecar, "health_check.healthy")).toBe(2);
    expect(stat(sidecar, "health_check.failure")).toBeGreaterThanOrEqual(1);
    expect(await flags(down!)).toBe("/failed_active_hc");

    const before = unaryCalls(down!);
    const replies = await burst(60, "b");
    expect(unaryCalls(down!)).toBe(before);
    expect(new Set(replies.map((r) => r.servedBy))).toEqual(new Set(["h2", "h3"]));

    down!.setHealth("SERVING");
    await until(() => stat(sidecar, "membership_healthy") === 3, "membership_healthy 3");
    expect(stat(sidecar, "health_check.healthy")).toBe(3);
    expect(await flags(down!)).toBe("healthy");
    const back = await burst(60, "c");
    expect(back.filter((r) => r.servedBy === "h1").length).toBeGreaterThanOrEqual(10);
  }, 15_000);
});
