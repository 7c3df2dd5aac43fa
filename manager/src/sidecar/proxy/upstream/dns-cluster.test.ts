import { lookup } from "node:dns/promises";
import { afterEach, describe, expect, it } from "vitest";
import { MemoryStatsStore } from "../../stats/store.ts";
import type { Counter } from "../../stats/types.ts";
import { createClusterManager, type UpstreamClusterManager } from "./cluster-manager.ts";
import { clusterConfig } from "./router-test-driver.ts";
import type { Cluster } from "../../config/model.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function start(c: Cluster, resolve?: (h: string) => Promise<string[]>) {
  const stats = new MemoryStatsStore();
  const cm: UpstreamClusterManager = createClusterManager([c], { stats, resolve });
  await cm.start();
  cleanups.push(() => cm.stop());
  return { cm, stats };
}

const dnsCluster = (type: Cluster["type"], o: Partial<Cluster> = {}): Cluster =>
  clusterConfig("d", [], { type, endpoints: [{ address: "localhost", port: 7001, loadBalancingWeight: 1 }], ...o });

describe("DNS clusters", () => {
  it("STRICT_DNS: every address of localhost becomes a host", async () => {
    const expected = (await lookup("localhost", { all: true })).map((a) => a.address);
    const { cm, stats } = await start(dnsCluster("STRICT_DNS"));
    const hosts = cm.clusters()[0]!.hosts();
    expect(hosts.map((h) => h.address.address).sort()).toEqual([...new Set(expected)].sort());
    expect(hosts.every((h) => h.hostname === "localhost" && h.address.port === 7001)).toBe(true);
    expect(Number((stats.find("cluster.d.membership_total") as Counter).value())).toBe(hosts.length);
  });

  it("LOGICAL_DNS: only the first address", async () => {
    const first = (await lookup("localhost", { all: true }))[0]!.address;
    const { cm } = await start(dnsCluster("LOGICAL_DNS"));
    expect(cm.clusters()[0]!.hosts().map((h) => h.address.address)).toEqual([first]);
  });

  it("STRICT_DNS: refreshes membership every dns_refresh_rate", async () => {
    let answer = ["10.0.0.1", "10.0.0.2"];
    const { cm, stats } = await start(dnsCluster("STRICT_DNS", { dnsRefreshRateMs: 30 }), async () => answer);
    expect(cm.clusters()[0]!.hosts().length).toBe(2);
    answer = ["10.0.0.2", "10.0.0.3", "10.0.0.4"];
    await new Promise((r) => setTimeout(r, 120));
    expect(cm.clusters()[0]!.hosts().map((h) => h.address.address)).toEqual(["10.0.0.2", "10.0.0.3", "10.0.0.4"]);
    expect(Number((stats.find("cluster.d.membership_change") as Counter).value())).toBeGreaterThanOrEqual(2);
  });
});
