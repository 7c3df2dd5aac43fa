import { describe, expect, it } from "vitest";
import type { Counter } from "../../stats/types.ts";
import { MemoryStatsStore } from "../../stats/store.ts";
import type { OutlierDetectionConfig } from "../../config/model.ts";
import { ClusterStats } from "./cluster-stats.ts";
import { Host } from "./host.ts";
import { OutlierDetector } from "./outlier-detection.ts";
import { seededRandom } from "./random.ts";

const config = (o: Partial<OutlierDetectionConfig> = {}): OutlierDetectionConfig => ({
  consecutive5xx: 3,
  consecutiveGatewayFailure: 5,
  enforcingConsecutive5xx: 100,
  enforcingConsecutiveGatewayFailure: 0,
  intervalMs: 1000,
  baseEjectionTimeMs: 10_000,
  maxEjectionTimeMs: 25_000,
  maxEjectionPercent: 100,
  ...o,
});

function setup(o: Partial<OutlierDetectionConfig> = {}) {
  const store = new MemoryStatsStore();
  const stats = new ClusterStats(store, "c");
  let now = 0;
  let changes = 0;
  const det = new OutlierDetector(config(o), { stats, random: seededRandom(1), now: () => now, onChange: () => changes++ });
  const hosts = [1, 2, 3].map((i) => new Host({ address: `10.0.0.${i}`, port: 80 }, "", 1));
  for (const h of hosts) det.addHost(h);
  const v = (n: string) => Number((store.find(`cluster.c.outlier_detection.${n}`) as Counter).value());
  return { det, hosts, v, advance: (ms: number) => (now += ms), changes: () => changes };
}

describe("outlier detection", () => {
  it("ejects after consecutive 5xx, un-ejects after base_ejection_time on the interval", () => {
    const { det, hosts, v, advance } = setup();
    const h = hosts[0]!;
    det.putHttpResponseCode(h, 500);
    det.putHttpResponseCode(h, 200); // resets
    det.putHttpResponseCode(h, 500);
    det.putHttpResponseCode(h, 503);
    expect(h.failedOutlierCheck).toBe(false);
    det.putHttpResponseCode(h, 502);
    expect(h.failedOutlierCheck).toBe(true);
    expect(v("ejections_active")).toBe(1);
    expect(v("ejections_enforced_total")).toBe(1);
    expect(v("ejections_enforced_consecutive_5xx")).toBe(1);
    expect(v("ejections_detected_consecutive_5xx")).toBe(1);
    advance(9_000);
    det.onIntervalTimer();
    expect(h.failedOutlierCheck).toBe(true);
    advance(1_000);
    det.onIntervalTimer();
    expect(h.failedOutlierCheck).toBe(false);
    expect(v("ejections_active")).toBe(0);
  });

  it("starts counting again after a detection that did not eject (enforcing 0, overflow)", () => {
    const { det, hosts, v } = setup({ enforcingConsecutive5xx: 0 });
    const h = hosts[0]!;
    for (let i = 0; i < 9; i++) det.putHttpResponseCode(h, 503);
    expect(h.failedOutlierCheck).toBe(false);
    expect(v("ejections_detected_consecutive_5xx")).toBe(3);
    expect(v("ejections_consecutive_5xx")).toBe(3);
    expect(v("ejections_enforced_total")).toBe(0);

    const o = setup({ maxEjectionPercent: 34 });
    for (let i = 0; i < 3; i++) o.det.putHttpResponseCode(o.hosts[0]!, 500);
    for (let i = 0; i < 6; i++) o.det.putHttpResponseCode(o.hosts[1]!, 500);
    expect(o.hosts.map((x) => x.failedOutlierCheck)).toEqual([true, false, false]);
    expect(o.v("ejections_overflow")).toBe(2);
    expect(o.v("ejections_detected_consecutive_5xx")).toBe(3);
  });

  it("doubles the ejection time on a second ejection, capped at max_ejection_time", () => {
    const { det, hosts, advance } = setup();
    const h = hosts[0]!;
    const eject = () => {
      for (let i = 0; i < 3; i++) det.putResult(h, "reset");
    };
    eject();
    advance(10_000);
    det.onIntervalTimer();
    expect(h.failedOutlierCheck).toBe(false);
    eject(); // backoff 2 -> 20 s
    advance(19_000);
    det.onIntervalTimer();
    expect(h.failedOutlierCheck).toBe(true);
    advance(1_000);
    det.onIntervalTimer();
    expect(h.failedOutlierCheck).toBe(false);
    eject(); // backoff 3 -> 30 s, capped at 25 s
    advance(24_000);
    det.onIntervalTimer();
    expect(h.failedOutlierCheck).toBe(true);
    advance(1_000);
    det.onIntervalTimer();
    expect(h.failedOutlierCheck).toBe(false);
    // Healthy intervals lower the multiplier again: 3 ticks -> back to 0, next ejection is 10 s.
    for (let i = 0; i < 3; i++) det.onIntervalTimer();
    eject();
    advance(10_000);
    det.onIntervalTimer();
    expect(h.failedOutlierCheck).toBe(false);
  });

  it("respects max_ejection_percent (ejections_overflow)", () => {
    const { det, hosts, v } = setup({ maxEjectionPercent: 10 });
    for (let i = 0; i < 3; i++) det.putHttpResponseCode(hosts[0]!, 500);
    expect(hosts[0]!.failedOutlierCheck).toBe(false);
    expect(v("ejections_overflow")).toBe(1);
  });

  it("counts gateway failures but enforces them only with enforcing_consecutive_gateway_failure", () => {
    const { det, hosts, v } = setup({ consecutive5xx: 100, consecutiveGatewayFailure: 2 });
    det.putResult(hosts[1]!, "connect_failed");
    det.putResult(hosts[1]!, "timeout");
    expect(v("ejections_detected_consecutive_gateway_failure")).toBe(1);
    expect(hosts[1]!.failedOutlierCheck).toBe(false);
    const b = setup({ consecutive5xx: 100, consecutiveGatewayFailure: 2, enforcingConsecutiveGatewayFailure: 100 });
    b.det.putHttpResponseCode(b.hosts[1]!, 504);
    b.det.putHttpResponseCode(b.hosts[1]!, 503);
    expect(b.hosts[1]!.failedOutlierCheck).toBe(true);
    expect(b.v("ejections_enforced_consecutive_gateway_failure")).toBe(1);
  });
});
