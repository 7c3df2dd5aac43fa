import { describe, expect, it } from "vitest";
import { Host } from "../host.ts";
import { seededRandom } from "../random.ts";
import { EdfScheduler } from "./edf-scheduler.ts";
import { LeastRequestLoadBalancer } from "./least-request.ts";
import { healthPercent } from "./load-balancer.ts";
import { OverrideHostState, selectStatefulSessionHost, selectedHostsFromHeaders } from "./override-host.ts";
import { RandomLoadBalancer } from "./random-lb.ts";
import { RoundRobinLoadBalancer } from "./round-robin.ts";
import { HeaderMap } from "../../../http/header-map.ts";

const mk = (n: number, weights?: number[]): Host[] =>
  Array.from({ length: n }, (_, i) => new Host({ address: `10.0.0.${i + 1}`, port: 8080 }, "", weights?.[i] ?? 1));

function counts(pick: () => Host | undefined, n: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const h = pick()!;
    m.set(h.key, (m.get(h.key) ?? 0) + 1);
  }
  return m;
}

describe("EDF scheduler", () => {
  it("picks entries in proportion to their weights", () => {
    const s = new EdfScheduler<string>();
    s.add(1, "a");
    s.add(2, "b");
    s.add(3, "c");
    const got = new Map<string, number>();
    for (let i = 0; i < 600; i++) {
      const e = s.pickAndAdd((x) => ({ a: 1, b: 2, c: 3 })[x as "a"])!;
      got.set(e, (got.get(e) ?? 0) + 1);
    }
    expect(got.get("a")).toBe(100);
    expect(got.get("b")).toBe(200);
    expect(got.get("c")).toBe(300);
  });
});

describe("ROUND_ROBIN", () => {
  it("rotates evenly over equal-weight hosts", () => {
    const hosts = mk(3);
    const lb = new RoundRobinLoadBalancer({ random: seededRandom(1) });
    lb.refresh(hosts);
    const c = counts(() => lb.chooseHost(), 300);
    expect([...c.values()]).toEqual([100, 100, 100]);
  });

  it("uses weights through EDF when weights differ", () => {
    const hosts = mk(3, [1, 2, 5]);
    const lb = new RoundRobinLoadBalancer({ random: seededRandom(2) });
    lb.refresh(hosts);
    const c = counts(() => lb.chooseHost(), 8000);
    expect(c.get(hosts[0]!.key)).toBeCloseTo(1000, -1);
    expect(c.get(hosts[1]!.key)).toBeCloseTo(2000, -1);
    expect(c.get(hosts[2]!.key)).toBeCloseTo(5000, -1);
  });

  it("skips unhealthy hosts, and balances over all hosts in panic", () => {
    const hosts = mk(3);
    let panics = 0;
    const lb = new RoundRobinLoadBalancer({ random: seededRandom(3), onPanic: () => panics++ });
    hosts[0]!.failedOutlierCheck = true;
    lb.refresh(hosts);
    const c = counts(() => lb.chooseHost(), 100);
    expect(c.has(hosts[0]!.key)).toBe(false);
    expect(panics).toBe(0);
    // 1 healthy of 3: 140 * 1/3 = 46 < 50 -> panic.
    hosts[1]!.failedActiveHc = true;
    lb.refresh(hosts);
    const p = counts(() => lb.chooseHost(), 300);
    expect(p.size).toBe(3);
    expect(panics).toBe(300);
  });

  it("computes Envoy's health percentage with the 1.4 overprovisioning factor", () => {
    expect(healthPercent(3, 1)).toBe(46);
    expect(healthPercent(3, 2)).toBe(93);
    expect(healthPercent(2, 1)).toBe(70);
  });
});

describe("LEAST_REQUEST", () => {
  it("P2C prefers hosts with fewer active requests", () => {
    const hosts = mk(3);
    hosts[0]!.stats.rqActive = 10;
    hosts[1]!.stats.rqActive = 0;
    hosts[2]!.stats.rqActive = 5;
    const lb = new LeastRequestLoadBalancer({ random: seededRandom(4) }, 2, 1);
    lb.refresh(hosts);
    const c = counts(() => lb.chooseHost(), 9000);
    // P(pick least loaded) = 1 - (2/3)^2 = 5/9; middle = (1/3)^2 + 2*(1/3)*(1/3) = 3/9; worst = 1/9.
    expect(c.get(hosts[1]!.key)! / 9000).toBeCloseTo(5 / 9, 1);
    expect(c.get(hosts[2]!.key)! / 9000).toBeCloseTo(3 / 9, 1);
    expect(c.get(hosts[0]!.key)! / 9000).toBeCloseTo(1 / 9, 1);
  });

  it("spreads evenly when active counts follow the picks", () => {
    const hosts = mk(3);
    const lb = new LeastRequestLoadBalancer({ random: seededRandom(5) }, 2, 1);
    lb.refresh(hosts);
    for (let i = 0; i < 300; i++) lb.chooseHost()!.stats.rqActive++;
    for (const h of hosts) expect(h.stats.rqActive).toBeGreaterThanOrEqual(95);
  });

  it("uses weight / (active + 1) with unequal weights", () => {
    const hosts = mk(2, [1, 3]);
    const lb = new LeastRequestLoadBalancer({ random: seededRandom(6) }, 2, 1);
    lb.refresh(hosts);
    const c = counts(() => lb.chooseHost(), 4000);
    expect(c.get(hosts[1]!.key)! / 4000).toBeCloseTo(0.75, 1);
  });
});

describe("RANDOM", () => {
  it("is uniform within tolerance", () => {
    const hosts = mk(4);
    const lb = new RandomLoadBalancer({ random: seededRandom(7) });
    lb.refresh(hosts);
    const c = counts(() => lb.chooseHost(), 8000);
    for (const v of c.values()) expect(Math.abs(v - 2000)).toBeLessThan(200);
  });
});

describe("override host", () => {
  const hosts = mk(3);
  const map = new Map(hosts.map((h) => [h.key, h]));

  it("parses every source header, comma separated, first value only", () => {
    const h = new HeaderMap([
      ["x-a", "10.0.0.2:8080, 10.0.0.9:1"],
      ["x-a", "10.0.0.3:8080"],
      ["x-b", "10.0.0.1:8080"],
    ]);
    expect(selectedHostsFromHeaders(h, ["x-a", "x-b"])).toEqual(["10.0.0.2:8080", "10.0.0.9:1", "10.0.0.1:8080"]);
  });

  it("uses the first address for the first attempt and later ones for retries, then falls back", () => {
    const s = new OverrideHostState(["10.0.0.2:8080", "10.0.0.9:1", "bogus", "10.0.0.3:8080"]);
    expect(s.choose(map)?.key).toBe("10.0.0.2:8080");
    expect(s.choose(map)?.key).toBe("10.0.0.3:8080");
    expect(s.choose(map)).toBeUndefined();
  });

  it("stateful session: allowed status, unknown host, strict", () => {
    const allowed = ["UNKNOWN", "HEALTHY", "DEGRADED"] as const;
    const ok = selectStatefulSessionHost({ host: { address: "10.0.0.1", port: 8080 }, strict: false }, map, [...allowed]);
    expect(ok.kind === "host" && ok.host.key).toBe("10.0.0.1:8080");
    hosts[0]!.failedOutlierCheck = true;
    expect(selectStatefulSessionHost({ host: { address: "10.0.0.1", port: 8080 }, strict: false }, map, [...allowed]).kind).toBe("none");
    expect(selectStatefulSessionHost({ host: { address: "10.0.0.1", port: 8080 }, strict: true }, map, [...allowed]).kind).toBe("strict_miss");
    expect(selectStatefulSessionHost({ host: { address: "10.9.9.9", port: 1 }, strict: true }, map, [...allowed]).kind).toBe("strict_miss");
    hosts[0]!.failedOutlierCheck = false;
  });
});
