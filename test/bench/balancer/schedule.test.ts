import { describe, expect, it } from "vitest";
import { countFor, dueCount, dueMs, intervalMs, nextDueMs, unitFor, type LaneSchedule } from "./schedule.ts";

const s: LaneSchedule = { ratePerSec: 200, lanes: 4, count: 1000 };

describe("open-loop schedule", () => {
  it("spaces a lane's RPCs 1/rate apart and offsets the lanes by a fraction of the interval", () => {
    expect(intervalMs(s)).toBe(5);
    expect(dueMs(s, 0, 0)).toBe(0);
    expect(dueMs(s, 0, 10)).toBe(50);
    expect(dueMs(s, 1, 0)).toBe(1.25);
    expect(dueMs(s, 3, 2)).toBe(13.75);
  });

  it("counts the RPCs due at a time, bounded by the lane's count, never negative", () => {
    expect(dueCount(s, 0, -1)).toBe(0);
    expect(dueCount(s, 0, 0)).toBe(1); // RPC 0 is due at t = 0
    expect(dueCount(s, 0, 4.999)).toBe(1);
    expect(dueCount(s, 0, 5)).toBe(2);
    expect(dueCount(s, 1, 1.2)).toBe(0);
    expect(dueCount(s, 1, 1.25)).toBe(1);
    expect(dueCount(s, 2, 1e9)).toBe(1000);
  });

  it("agrees with dueMs at every boundary (each RPC becomes due exactly at its time)", () => {
    const odd: LaneSchedule = { ratePerSec: 137, lanes: 3, count: 5000 };
    for (let lane = 0; lane < 3; lane++) {
      for (let k = 0; k < 5000; k++) {
        const t = dueMs(odd, lane, k);
        expect(dueCount(odd, lane, t)).toBe(k + 1);
        if (k > 0) expect(dueCount(odd, lane, t - 1e-6)).toBe(k);
      }
    }
  });

  it("does not slow down when nothing completes: the number due grows linearly with time", () => {
    // Open loop: the count due at time t is rate·t (+1 for the RPC at 0), whatever was sent before.
    for (const t of [0, 1000, 2500, 4999]) expect(dueCount(s, 0, t)).toBe(Math.floor((t * s.ratePerSec) / 1000) + 1);
  });

  it("finds the next due time over the lanes, Infinity once every lane is done", () => {
    expect(nextDueMs(s, [1, 1, 0, 0])).toBe(2.5); // lane 2's first RPC
    expect(nextDueMs(s, [1, 1, 1, 1])).toBe(5);
    expect(nextDueMs(s, [1000, 1000, 1000, 999])).toBe(dueMs(s, 3, 999));
    expect(nextDueMs(s, [1000, 1000, 1000, 1000])).toBe(Infinity);
  });

  it("sizes a run and draws the same method sequence for every lane", () => {
    expect(countFor(200, 65)).toBe(13_000);
    const a = Array.from({ length: 10_000 }, (_, k) => unitFor(7, k));
    expect(a).toEqual(Array.from({ length: 10_000 }, (_, k) => unitFor(7, k)));
    for (const v of a) expect(v >= 0 && v < 1).toBe(true);
    const heavy = a.filter((v) => v < 0.5).length / a.length;
    expect(heavy).toBeGreaterThan(0.48);
    expect(heavy).toBeLessThan(0.52);
    expect(unitFor(8, 0)).not.toBe(unitFor(7, 0));
  });
});
