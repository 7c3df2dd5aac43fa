/**
 * Clocks for the proxy-wasm host (the `Clock` contract in api.ts).
 *
 * - `SystemTime`: Envoy's TimeSource for the data plane. Envoy reads `std::chrono::system_clock`
 *   (nanoseconds on Linux) for proxy_get_current_time_nanoseconds and StreamInfo start times, and
 *   `steady_clock` for durations (`request.duration`, backend latency). Node's Date.now() has
 *   millisecond resolution, so wall time here is a monotonic source anchored to the wall clock:
 *   `anchorWall + (hrtime - anchorMono)`, with the anchor taken from `performance.timeOrigin +
 *   performance.now()` (microsecond precision) and hrtime (nanoseconds, the same clock as
 *   `performance.now()`). At most every `CHECK_INTERVAL_NS` of monotonic time a read also
 *   brackets the monotonic reading between two Date.now() readings; when the anchored time falls
 *   outside that bracket by more than `MAX_WALL_SKEW_NS` (the wall clock was stepped, or slewed
 *   away from the monotonic clock), the anchor moves to the middle of the bracket. The bracket
 *   keeps a pause between the readings (a descheduled process on a busy machine) from looking
 *   like a clock step. Differences of two reads therefore have nanosecond resolution, and
 *   absolute wall time follows the system clock to within a few milliseconds. One instance,
 *   `systemTime`, serves the process so that the host, StreamInfo and the proxy read one source.
 * - `RealClock`: the host's Clock over SystemTime; timers from setTimeout (unref'd: a plugin's
 *   tick never keeps the process alive; the listeners do), posted callbacks via setImmediate.
 *   Envoy posts cross-thread events such as on_queue_ready to the worker's dispatcher;
 *   setImmediate is the same "after the current call stack" ordering.
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
import { performance } from "node:perf_hooks";
import type { Clock, TimerHandle } from "./api.ts";

/** Where SystemTime reads time; tests substitute their own. */
export interface TimeSources {
  /** Monotonic nanoseconds (process.hrtime.bigint()). */
  monoNs(): bigint;
  /** Wall clock in milliseconds, the reference the anchor is checked against (Date.now()). */
  wallMs(): number;
  /** The best wall-clock reading available at start-up, ns since the epoch, paired with monoNs(). */
  initialAnchor(): { wallNs: bigint; monoNs: bigint };
}

const NODE_SOURCES: TimeSources = {
  monoNs: () => process.hrtime.bigint(),
  wallMs: () => Date.now(),
  initialAnchor: () => {
    const monoNs = process.hrtime.bigint();
    const sinceOriginNs = BigInt(Math.round(performance.now() * 1e6));
    const originNs = BigInt(Math.round(performance.timeOrigin * 1e3)) * 1000n;
    return { wallNs: originNs + sinceOriginNs, monoNs };
  },
};

/** How far anchored wall time may drift from Date.now() before the anchor is moved. */
export const MAX_WALL_SKEW_NS = 2_000_000n;
/** How often (in monotonic time) a read checks the anchor against Date.now(). */
export const CHECK_INTERVAL_NS = 100_000_000n;

const NS_PER_MS = 1_000_000n;

export class SystemTime {
  #anchorWallNs: bigint;
  #anchorMonoNs: bigint;
  #checkedAtNs: bigint;
  /** Number of times the anchor was moved after start-up (wall clock steps). */
  reanchors = 0;

  constructor(private readonly sources: TimeSources = NODE_SOURCES) {
    const a = sources.initialAnchor();
    this.#anchorWallNs = a.wallNs;
    this.#anchorMonoNs = a.monoNs;
    this.#checkedAtNs = a.monoNs;
  }

  /** Monotonic ns (Envoy's MonotonicTime). */
  monoNs(): bigint {
    return this.sources.monoNs();
  }

  /** Wall-clock ns since the epoch (Envoy's SystemTime), nanosecond resolution. */
  wallNs(): bigint {
    const mono = this.sources.monoNs();
    if (mono - this.#checkedAtNs < CHECK_INTERVAL_NS) return this.#anchorWallNs + (mono - this.#anchorMonoNs);
    return this.#checkAnchor();
  }

  #checkAnchor(): bigint {
    // Date.now() truncates: the true time at `mono` lies in [before, after + 1 ms).
    const before = BigInt(this.sources.wallMs()) * NS_PER_MS;
    const mono = this.sources.monoNs();
    const after = BigInt(this.sources.wallMs()) * NS_PER_MS + NS_PER_MS;
    this.#checkedAtNs = mono;
    const wall = this.#anchorWallNs + (mono - this.#anchorMonoNs);
    if (wall >= before - MAX_WALL_SKEW_NS && wall < after + MAX_WALL_SKEW_NS) return wall;
    this.reanchors++;
    this.#anchorWallNs = (before + after) / 2n;
    this.#anchorMonoNs = mono;
    return this.#anchorWallNs;
  }
}

/** The process's time source: the host's RealClock and StreamInfo read it. */
export const systemTime = new SystemTime();

export class RealClock implements Clock {
  constructor(private readonly time: SystemTime = systemTime) {}

  nowWallNs(): bigint {
    return this.time.wallNs();
  }

  nowMonoNs(): bigint {
    return this.time.monoNs();
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
