/**
 * Failure handling of proxy-wasm plugins (Envoy `extensions/common/wasm/wasm.cc`,
 * `context.cc` failStream; `failure_policy` since Envoy 1.33, envoy PR #36456).
 *
 * - `PluginLoadError`: a plugin that cannot start (not Wasm, no ABI export, unknown import,
 *   trap during start-up, on_vm_start/on_configure false). The message names the plugin, the
 *   module source and the reason. Thrown by createPlugin; never crashes the process.
 * - `failStreamReply()`: the local reply of a stream whose VM trapped under FAIL_CLOSED: 503,
 *   empty body, details `wasm_fail_stream`, gRPC status UNAVAILABLE (14).
 * - `ReloadBackoff`: FAIL_RELOAD rebuilds a failed VM at the next new stream, then waits a
 *   backoff before the next rebuild: Envoy's JitteredExponentialBackOffStrategy over
 *   `reload_config.backoff` (base_interval, max_interval default 10 * base): the delay is
 *   random % interval, the interval starts at base and doubles up to max. Time is the host
 *   Clock and the randomness is injectable (HostEnvironment.random), so tests are deterministic.
 */
import type { LocalReply } from "../http/filter.ts";
import type { Clock } from "./api.ts";

export type FailurePolicy = "FAIL_CLOSED" | "FAIL_OPEN" | "FAIL_RELOAD";

export class PluginLoadError extends Error {
  override readonly name = "PluginLoadError";
  constructor(
    readonly pluginName: string,
    readonly source: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`Wasm plugin "${pluginName}" (${source}) failed to load: ${reason}`, options);
  }
}

export const WASM_FAIL_STREAM_DETAILS = "wasm_fail_stream";
export const GRPC_UNAVAILABLE = 14;

export function failStreamReply(): LocalReply {
  return { status: 503, body: "", details: WASM_FAIL_STREAM_DETAILS, grpcStatus: GRPC_UNAVAILABLE };
}

export class ReloadBackoff {
  private intervalMs: number;
  private nextAllowedNs = 0n;
  private readonly maxMs: number;

  constructor(
    private readonly clock: Clock,
    baseMs: number,
    /** A number in [0, 1). */
    private readonly random: () => number = Math.random,
    maxMs?: number,
  ) {
    this.intervalMs = Math.max(0, baseMs);
    this.maxMs = maxMs ?? this.intervalMs * 10;
  }

  /** True if a reload may happen now; if so, the next one is pushed back by the next delay. */
  tryAcquire(): boolean {
    const now = this.clock.nowMonoNs();
    if (now < this.nextAllowedNs) return false;
    this.nextAllowedNs = now + BigInt(this.nextDelayMs()) * 1_000_000n;
    return true;
  }

  /** Envoy JitteredExponentialBackOffStrategy::nextBackOffMs. */
  nextDelayMs(): number {
    const interval = this.intervalMs;
    this.intervalMs = interval > this.maxMs / 2 ? this.maxMs : interval * 2;
    if (interval <= 0) return 0;
    return Math.min(Math.floor(this.random() * interval) % interval, this.maxMs);
  }
}
