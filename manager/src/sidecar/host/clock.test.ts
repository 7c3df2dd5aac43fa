import { describe, expect, it } from "vitest";
import { DEFAULT_VIRTUAL_WALL_START_NS, RealClock, VirtualClock } from "./clock.ts";

describe("VirtualClock", () => {
  it("starts at mono 0 and the given wall time, and moves both on advance", () => {
    const c = new VirtualClock(1_000n);
    expect(c.nowMonoNs()).toBe(0n);
    expect(c.nowWallNs()).toBe(1_000n);
    c.advance(1.5);
    expect(c.nowMonoNs()).toBe(1_500_000n);
    expect(c.nowWallNs()).toBe(1_501_000n);
  });

  it("defaults the wall clock to 2024-01-01", () => {
    expect(new VirtualClock().nowWallNs()).toBe(DEFAULT_VIRTUAL_WALL_START_NS);
  });

  it("fires timers in due order, ties in creation order, with now() at the due time", () => {
    const c = new VirtualClock();
    const fired: Array<[string, bigint]> = [];
    c.setTimeout(30, () => fired.push(["c", c.nowMonoNs()]));
    c.setTimeout(10, () => fired.push(["a", c.nowMonoNs()]));
    c.setTimeout(10, () => fired.push(["b", c.nowMonoNs()]));
    c.setTimeout(31, () => fired.push(["late", c.nowMonoNs()]));
    c.advance(30);
    expect(fired).toEqual([
      ["a", 10_000_000n],
      ["b", 10_000_000n],
      ["c", 30_000_000n],
    ]);
    expect(c.pendingTimers()).toBe(1);
    c.advance(1);
    expect(fired.at(-1)).toEqual(["late", 31_000_000n]);
  });

  it("fires a timer set from a callback within the same advance when it falls due", () => {
    const c = new VirtualClock();
    const ticks: bigint[] = [];
    const tick = () => {
      ticks.push(c.nowMonoNs() / 1_000_000n);
      c.setTimeout(10, tick);
    };
    c.setTimeout(10, tick);
    c.advance(35);
    expect(ticks).toEqual([10n, 20n, 30n]);
    expect(c.nowMonoNs()).toBe(35_000_000n);
  });

  it("does not fire cancelled timers", () => {
    const c = new VirtualClock();
    let fired = false;
    const h = c.setTimeout(5, () => (fired = true));
    h.cancel();
    c.advance(10);
    expect(fired).toBe(false);
    expect(c.pendingTimers()).toBe(0);
  });

  it("cancels a later timer from an earlier one in the same advance", () => {
    const c = new VirtualClock();
    let fired = false;
    const later = c.setTimeout(20, () => (fired = true));
    c.setTimeout(10, () => later.cancel());
    c.advance(30);
    expect(fired).toBe(false);
  });

  it("runs posted callbacks only on flushPosted or advance, including nested posts", () => {
    const c = new VirtualClock();
    const order: string[] = [];
    c.post(() => {
      order.push("p1");
      c.post(() => order.push("p2"));
    });
    expect(order).toEqual([]);
    expect(c.pendingPosted()).toBe(1);
    c.flushPosted();
    expect(order).toEqual(["p1", "p2"]);
    c.post(() => order.push("p3"));
    c.advance(0);
    expect(order).toEqual(["p1", "p2", "p3"]);
  });

  it("runs callbacks posted by a timer before the next timer", () => {
    const c = new VirtualClock();
    const order: string[] = [];
    c.setTimeout(1, () => c.post(() => order.push("posted-by-t1")));
    c.setTimeout(2, () => order.push("t2"));
    c.advance(2);
    expect(order).toEqual(["posted-by-t1", "t2"]);
  });

  it("rejects negative advances", () => {
    expect(() => new VirtualClock().advance(-1)).toThrow(RangeError);
  });
});

describe("RealClock", () => {
  it("reads wall time in ns near Date.now() and a monotonic clock that does not go back", () => {
    const c = new RealClock();
    const wallMs = Number(c.nowWallNs() / 1_000_000n);
    expect(Math.abs(wallMs - Date.now())).toBeLessThan(1000);
    const a = c.nowMonoNs();
    const b = c.nowMonoNs();
    expect(b >= a).toBe(true);
  });

  it("posts after the current call stack and fires timers; cancel prevents firing", async () => {
    const c = new RealClock();
    const order: string[] = [];
    c.post(() => order.push("posted"));
    order.push("sync");
    const cancelled = c.setTimeout(1, () => order.push("cancelled"));
    cancelled.cancel();
    await new Promise<void>((resolve) => c.setTimeout(5, () => resolve()));
    expect(order).toEqual(["sync", "posted"]);
  });
});
