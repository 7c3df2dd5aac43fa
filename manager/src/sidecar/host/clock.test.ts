import { describe, expect, it } from "vitest";
import {
  CHECK_INTERVAL_NS,
  DEFAULT_VIRTUAL_WALL_START_NS,
  MAX_WALL_SKEW_NS,
  RealClock,
  SystemTime,
  VirtualClock,
  systemTime,
  type TimeSources,
} from "./clock.ts";

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

/** Scripted time: monotonic ns and Date.now() move only when the test says so. */
function fakeSources(start: { wallNs: bigint; monoNs: bigint }) {
  const t = { mono: start.monoNs, wallMs: Number(start.wallNs / 1_000_000n) };
  const sources: TimeSources = {
    monoNs: () => t.mono,
    wallMs: () => t.wallMs,
    initialAnchor: () => ({ ...start }),
  };
  return { t, sources };
}

describe("SystemTime", () => {
  const START = { wallNs: 1_700_000_000_123_456_789n, monoNs: 5_000n };

  it("keeps the monotonic clock's nanoseconds in wall time", () => {
    const { t, sources } = fakeSources(START);
    const time = new SystemTime(sources);
    expect(time.wallNs()).toBe(START.wallNs);
    t.mono += 1_234n; // 1.234 us later, Date.now() unchanged
    expect(time.wallNs()).toBe(START.wallNs + 1_234n);
    t.mono += CHECK_INTERVAL_NS; // a checked read, Date.now() in step
    t.wallMs += Number(CHECK_INTERVAL_NS / 1_000_000n);
    expect(time.wallNs()).toBe(START.wallNs + 1_234n + CHECK_INTERVAL_NS);
    expect(time.reanchors).toBe(0);
  });

  it("follows a wall-clock step forward or back at the next check, keeping nanosecond resolution", () => {
    const { t, sources } = fakeSources(START);
    const time = new SystemTime(sources);
    t.wallMs += 60_000; // the system clock was stepped a minute ahead
    t.mono += 10n;
    expect(time.wallNs()).toBe(START.wallNs + 10n); // not checked yet
    t.mono += CHECK_INTERVAL_NS;
    const stepped = time.wallNs();
    expect(time.reanchors).toBe(1);
    // the middle of the Date.now() bracket [now, now + 1 ms)
    expect(stepped).toBe(BigInt(t.wallMs) * 1_000_000n + 500_000n);
    t.mono += 7n;
    expect(time.wallNs()).toBe(stepped + 7n);
    t.wallMs -= 120_000; // and two minutes back
    t.mono += CHECK_INTERVAL_NS;
    expect(time.wallNs()).toBe(BigInt(t.wallMs) * 1_000_000n + 500_000n);
    expect(time.reanchors).toBe(2);
  });

  it("tolerates a drift of up to MAX_WALL_SKEW_NS against Date.now() without jumping", () => {
    const { t, sources } = fakeSources(START);
    const time = new SystemTime(sources);
    const skewMs = Number(MAX_WALL_SKEW_NS / 1_000_000n);
    const intervalMs = Number(CHECK_INTERVAL_NS / 1_000_000n);
    t.wallMs += intervalMs - skewMs; // Date.now() fell behind by the tolerance: no step
    t.mono += CHECK_INTERVAL_NS;
    expect(time.wallNs()).toBe(START.wallNs + CHECK_INTERVAL_NS);
    t.wallMs += intervalMs - 2; // now beyond it
    t.mono += CHECK_INTERVAL_NS;
    time.wallNs();
    expect(time.reanchors).toBe(1);
  });

  it("a pause between its two Date.now() readings is not taken for a clock step", () => {
    const { t, sources } = fakeSources(START);
    let calls = 0;
    // the process is descheduled for 30 ms right after the first Date.now() of a check
    const paused: TimeSources = {
      ...sources,
      wallMs: () => {
        calls++;
        if (calls % 2 === 0) {
          t.wallMs += 30;
          t.mono += 30_000_000n;
        }
        return t.wallMs;
      },
      monoNs: () => t.mono,
    };
    const time = new SystemTime(paused);
    for (let i = 0; i < 10; i++) {
      t.mono += CHECK_INTERVAL_NS;
      t.wallMs += Number(CHECK_INTERVAL_NS / 1_000_000n);
      time.wallNs();
    }
    expect(calls).toBe(20);
    expect(time.reanchors).toBe(0);
  });

  it("the process clock: sub-millisecond resolution, within the Date.now() bracket, no spurious steps", () => {
    const reanchorsBefore = systemTime.reanchors;
    const reads: bigint[] = [];
    const before = BigInt(Date.now()) * 1_000_000n;
    for (let i = 0; i < 2_000; i++) reads.push(systemTime.wallNs());
    const after = BigInt(Date.now()) * 1_000_000n;
    for (const r of reads) {
      expect(r >= before - MAX_WALL_SKEW_NS).toBe(true);
      expect(r < after + 1_000_000n + MAX_WALL_SKEW_NS).toBe(true);
    }
    // Millisecond resolution would make every read a multiple of 1e6 and every step >= 1 ms.
    expect(reads.filter((r) => r % 1_000_000n !== 0n).length).toBeGreaterThan(1_900);
    const steps = reads.slice(1).map((r, i) => r - reads[i]!).filter((d) => d > 0n);
    expect(steps.length).toBeGreaterThan(100);
    const smallest = steps.reduce((a, b) => (b < a ? b : a));
    expect(smallest < 100_000n).toBe(true); // two reads in a tight loop are well under 0.1 ms apart
    expect(systemTime.reanchors).toBe(reanchorsBefore);
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

  it("reads the SystemTime it is given", () => {
    const { t, sources } = fakeSources({ wallNs: 1_000_000_000_000_000_001n, monoNs: 0n });
    const c = new RealClock(new SystemTime(sources));
    t.mono = 42n;
    expect(c.nowMonoNs()).toBe(42n);
    expect(c.nowWallNs()).toBe(1_000_000_000_000_000_043n);
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
