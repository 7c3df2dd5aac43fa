/**
 * Clocks for the proxy-wasm host (the `Clock` contract in api.ts).
 *
 * - `RealClock`: wall time from Date.now() (ms resolution, as ns), monotonic time from
 *   process.hrtime.bigint(), timers from setTimeout (unref'd: a plugin's tick never keeps
 *   the process alive; the listeners do), posted callbacks via setImmediate. Envoy posts
 *   cross-thread events such as on_queue_ready to the worker's dispatcher; setImmediate is
 *   the same "after the current call stack" ordering.
 * - `VirtualClock`: time moves only when a test calls `advance(ms)`.
 *   * Timers fire during `advance`, in due order (ties in the order they were set); while a
 *     timer runs, now() equals its due time. A timer set from a callback fires in the same
 *     `advance` when it falls due within it.
 *   * Posted callbacks never run by themselves: they run on `flushPosted()` and at every
 *     step of `advance` (before the first timer, after each timer, and at the end), so
 *     their order relative to timers matches an event loop. Callbacks posted by posted
 *     callbacks run in the same flush.
 *   * Monotonic time starts at 0 ns; wall time starts at `startWallNs`
 *     (default 2024-01-01T00:00:00Z) and moves with it.
 */
import type { Clock, TimerHandle } from "./api.ts";

export class RealClock implements Clock {
  nowWallNs(): bigint {
    return BigInt(Date.now()) * 1_000_000n;
  }

  nowMonoNs(): bigint {
    return process.hrtime.bigint();
  }

  setTimeout(ms: number, cb: () => void): TimerHandle {
    const t = setTimeout(cb, Math.max(0, ms));
    t.unref();
    return { cancel: () => clearTimeout(t) };
  }

  post(cb: () => void): void {
    setImmediate(cb);
  }
}

interface VirtualTimer {
  dueNs: bigint;
  seq: number;
  cb: () => void;
  cancelled: boolean;
}

/** 2024-01-01T00:00:00Z in ns. */
export const DEFAULT_VIRTUAL_WALL_START_NS = 1_704_067_200_000_000_000n;

/** Guards against a posted callback that re-posts itself forever. */
const MAX_POSTED_PER_FLUSH = 1_000_000;

export class VirtualClock implements Clock {
  private monoNs = 0n;
  private seq = 0;
  private timers: VirtualTimer[] = [];
  private posted: Array<() => void> = [];

  constructor(private readonly startWallNs: bigint = DEFAULT_VIRTUAL_WALL_START_NS) {}

  nowWallNs(): bigint {
    return this.startWallNs + this.monoNs;
  }

  nowMonoNs(): bigint {
    return this.monoNs;
  }

  setTimeout(ms: number, cb: () => void): TimerHandle {
    const delayNs = BigInt(Math.max(0, Math.round(ms * 1_000_000)));
    const timer: VirtualTimer = { dueNs: this.monoNs + delayNs, seq: this.seq++, cb, cancelled: false };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
        this.timers = this.timers.filter((t) => t !== timer);
      },
    };
  }

  post(cb: () => void): void {
    this.posted.push(cb);
  }

  /** Number of timers not yet fired or cancelled. */
  pendingTimers(): number {
    return this.timers.length;
  }

  /** Number of posted callbacks waiting for a flush. */
  pendingPosted(): number {
    return this.posted.length;
  }

  /** Runs every posted callback, including ones posted while flushing. */
  flushPosted(): void {
    let n = 0;
    while (this.posted.length > 0) {
      if (++n > MAX_POSTED_PER_FLUSH) throw new Error("VirtualClock: posted callbacks never settle");
      const cb = this.posted.shift()!;
      cb();
    }
  }

  /** Moves time forward by `ms`, firing due timers in order and flushing posted callbacks. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`VirtualClock.advance: ms must be >= 0, got ${ms}`);
    const targetNs = this.monoNs + BigInt(Math.round(ms * 1_000_000));
    this.flushPosted();
    for (;;) {
      const next = this.nextDue(targetNs);
      if (!next) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.monoNs = next.dueNs;
      if (!next.cancelled) next.cb();
      this.flushPosted();
    }
    this.monoNs = targetNs;
    this.flushPosted();
  }

  private nextDue(limitNs: bigint): VirtualTimer | undefined {
    let best: VirtualTimer | undefined;
    for (const t of this.timers) {
      if (t.dueNs > limitNs) continue;
      if (!best || t.dueNs < best.dueNs || (t.dueNs === best.dueNs && t.seq < best.seq)) best = t;
    }
    return best;
  }
}
