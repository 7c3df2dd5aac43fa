/**
 * Failure handling of proxy-wasm plugins (Envoy `extensions/common/wasm/wasm.cc`,
 * `context.cc` failStream; `failure_policy` since Envoy 1.33, envoy PR #36456).
 *
 * - `PluginLoadError`: a plugin that cannot start (not Wasm, no ABI export, unknown import,
 *   trap during start-up, on_vm_start/on_configure false). The message names the plugin, the
 *   module source and the reason. Thrown by createPlugin; never crashes the process.
 * - `failStreamReply()`: the local reply of a stream whose VM trapped under FAIL_CLOSED: 503,
 *   empty body, details `wasm_fail_stream`, gRPC status UNAVAILABLE (14).
 * - `ReloadBackoff`: FAIL_RELOAD rebuilds a failed VM at the next new stream, at most once per
 *   backoff interval. Envoy uses a jittered exponential backoff from `reload_config.backoff`;
 *   here the interval is deterministic: base * 2^(reloads so far), capped at 10 * base, on the
 *   host Clock (a VirtualClock in tests, so 0 or any base is testable).
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
  private reloads = 0;
  private nextAllowedNs = 0n;

  constructor(
    private readonly clock: Clock,
    private readonly baseMs: number,
  ) {}

  /** True if a reload may happen now; if so, the next one is pushed back. */
  tryAcquire(): boolean {
    const now = this.clock.nowMonoNs();
    if (now < this.nextAllowedNs) return false;
    const intervalMs = Math.min(this.baseMs * 2 ** this.reloads, this.baseMs * 10);
    this.reloads++;
    this.nextAllowedNs = now + BigInt(Math.round(intervalMs * 1_000_000));
    return true;
  }
}
