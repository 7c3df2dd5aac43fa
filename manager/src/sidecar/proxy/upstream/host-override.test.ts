import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { MemoryStatsStore } from "../../stats/store.ts";
import { createClusterManager, type UpstreamClusterManager } from "./cluster-manager.ts";
import { seededRandom } from "./random.ts";
import { clusterConfig, drive, route } from "./router-test-driver.ts";
import type { Cluster } from "../../config/model.ts";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function backends(n: number): Promise<{ ports: number[]; hits: number[] }> {
  const hits = Array<number>(n).fill(0);
  const ports: number[] = [];
  for (let i = 0; i < n; i++) {
    const server = http2.createServer();
    const sessions = new Set<http2.ServerHttp2Session>();
    server.on("session", (s) => sessions.add(s));
    server.on("stream", (stream) => {
      hits[i]!++;
      stream.respond({ ":status": 200 });
      stream.end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    ports.push((server.address() as AddressInfo).port);
    cleanups.push(() => new Promise<void>((r) => { for (const s of sessions) s.destroy(); server.close(() => r()); }));
  }
  return { ports, hits };
}

async function manager(c: Cluster): Promise<UpstreamClusterManager> {
  const cm = createClusterManager([c], { stats: new MemoryStatsStore(), random: seededRandom(9) });
  await cm.start();
  cleanups.push(() => cm.stop());
  return cm;
}

const req = (extra: [string, string][] = []) => ({
  headers: [[":method", "GET"], [":path", "/"], [":scheme", "http"], [":authority", "svc"], ...extra] as [string, string][],
});
const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("stateful session (header)", () => {
  it("routes to the host named in the header and echoes the served host when it differs", async () => {
    const { ports, hits } = await backends(3);
    const cm = await manager(clusterConfig("c", ports));
    const filters = (strict = false) => [
      cm.statefulSessionFilterFactory({ kind: "stateful_session", name: "s", path: "", headerName: "x-session", strict })(),
      cm.routerFilterFactory({ kind: "router", name: "r", path: "" })(),
    ];
    for (let i = 0; i < 10; i++) {
      const r = await drive(filters(), route("c"), req([["x-session", b64(`127.0.0.1:${ports[2]}`)]]));
      expect(r.headers?.get(":status")).toBe("200");
      expect(r.headers?.has("x-session")).toBe(false);
    }
    expect(hits).toEqual([0, 0, 10]);
    // No header: the LB picks and the response names the served host.
    const r = await drive(filters(), route("c"), req());
    const served = r.info.upstreamHost!;
    expect(r.headers?.get("x-session")).toBe(b64(`127.0.0.1:${served.port}`));
    // Unknown host: normal LB unless strict, strict gives 503 no healthy upstream.
    const loose = await drive(filters(), route("c"), req([["x-session", b64("10.9.9.9:1")]]));
    expect(loose.headers?.get(":status")).toBe("200");
    const strict = await drive(filters(true), route("c"), req([["x-session", b64("10.9.9.9:1")]]));
    expect(strict.localReply).toMatchObject({ status: 503, flag: "UH", details: "no_healthy_upstream" });
  });
});

describe("override_host policy", () => {
  it("uses the first address, then the next ones for retries, then the fallback policy", async () => {
    const { ports, hits } = await backends(3);
    const cm = await manager(
      clusterConfig("c", ports, { overrideHost: { headers: ["x-gateway-destination-endpoint"], fallback: { kind: "ROUND_ROBIN" } } }),
    );
    const router = () => [cm.routerFilterFactory({ kind: "router", name: "r", path: "" })()];
    for (let i = 0; i < 5; i++) {
      await drive(router(), route("c"), req([["x-gateway-destination-endpoint", `127.0.0.1:${ports[1]},127.0.0.1:${ports[0]}`]]));
    }
    expect(hits).toEqual([0, 5, 0]);
    // Unknown addresses fall through to the fallback LB.
    for (let i = 0; i < 3; i++) await drive(router(), route("c"), req([["x-gateway-destination-endpoint", "10.1.1.1:80"]]));
    expect(hits.reduce((a, b) => a + b)).toBe(8);
    expect(hits[0]! + hits[2]!).toBeGreaterThanOrEqual(2);
  });
});
