/**
 * Per-request retry state, as Envoy's Router::RetryStateImpl (retry_state_impl.cc):
 * - retry_on from headers: 5xx (any 5xx), gateway-error (502/503/504), retriable-4xx (409),
 *   retriable-status-codes, and the gRPC conditions read from a grpc-status response header
 *   (trailers-only): cancelled 1, deadline-exceeded 4, resource-exhausted 8, internal 13,
 *   unavailable 14. Responses carrying x-envoy-overloaded are never retried.
 * - retry_on from resets: 5xx / gateway-error / reset retry every reset except overflow;
 *   connect-failure retries connection failures and timeouts; refused-stream retries
 *   REFUSED_STREAM.
 * - `decide` takes one retry from num_retries (upstream_rq_retry_limit_exceeded when none
 *   left), checks the max_retries circuit breaker (upstream_rq_retry_overflow), counts
 *   upstream_rq_retry, and holds the retry resource until the next decision; a response that
 *   is not retried after a retry counts upstream_rq_retry_success.
 * - Backoff: fully jittered exponential, random % ((2^n - 1) * base), capped at max
 *   (default 25 ms base, 250 ms max).
 */
import type { RetryPolicy } from "../../config/model.ts";
import type { HeaderMap } from "../../http/header-map.ts";
import type { ResourceManager } from "./circuit-breakers.ts";
import type { ClusterStats } from "./cluster-stats.ts";
import { grpcStatusOf } from "./grpc.ts";
import type { ResetReason } from "./pool/types.ts";
import { randomU32, type Random } from "./random.ts";

export type RetryDecision = "retry" | "no" | "limit_exceeded" | "overflow";

const GRPC_CONDITIONS: Record<string, number> = {
  cancelled: 1,
  "deadline-exceeded": 4,
  "resource-exhausted": 8,
  internal: 13,
  unavailable: 14,
};

export class RetryState {
  private remaining: number;
  private readonly on: Set<string>;
  private holding = false;
  private currentRetry = 1;
  private readonly baseMs: number;
  private readonly maxMs: number;

  constructor(
    private readonly policy: RetryPolicy,
    private readonly deps: { random: Random; resources: ResourceManager; stats: ClusterStats },
  ) {
    this.remaining = policy.numRetries;
    this.on = new Set(policy.retryOn);
    this.baseMs = policy.baseIntervalMs > 0 ? policy.baseIntervalMs : 25;
    this.maxMs = policy.maxIntervalMs > 0 ? policy.maxIntervalMs : this.baseMs * 10;
  }

  get enabled(): boolean {
    return this.on.size > 0;
  }

  wouldRetryFromHeaders(h: HeaderMap): boolean {
    if (h.has("x-envoy-overloaded")) return false;
    const status = Number(h.get(":status") ?? "0");
    if (this.on.has("5xx") && status >= 500 && status < 600) return true;
    if (this.on.has("gateway-error") && (status === 502 || status === 503 || status === 504)) return true;
    if (this.on.has("retriable-4xx") && status === 409) return true;
    if (this.on.has("retriable-status-codes") && this.policy.retriableStatusCodes.includes(status)) return true;
    const grpc = grpcStatusOf(h);
    if (grpc !== undefined) {
      for (const [cond, code] of Object.entries(GRPC_CONDITIONS)) if (this.on.has(cond) && grpc === code) return true;
    }
    return false;
  }

  wouldRetryFromReset(reason: ResetReason | "per_try_timeout"): boolean {
    if (reason === "overflow") return false;
    if (this.on.has("5xx") || this.on.has("gateway-error") || this.on.has("reset")) return true;
    if (this.on.has("refused-stream") && reason === "remote refused stream reset") return true;
    if (
      this.on.has("connect-failure") &&
      (reason === "remote connection failure" || reason === "local connection failure" || reason === "connection timeout")
    )
      return true;
    return false;
  }

  /** Decides after an attempt ended; `fromResponse` = the decision is about response headers. */
  decide(would: boolean, fromResponse: boolean): RetryDecision {
    const { stats, resources } = this.deps;
    if (this.holding && !would && fromResponse) stats.inc("upstream_rq_retry_success");
    this.release();
    if (!would) return "no";
    if (this.remaining === 0) {
      stats.inc("upstream_rq_retry_limit_exceeded");
      return "limit_exceeded";
    }
    this.remaining--;
    if (!resources.retries.canCreate()) {
      stats.inc("upstream_rq_retry_overflow");
      return "overflow";
    }
    resources.retries.inc();
    this.holding = true;
    stats.inc("upstream_rq_retry");
    return "retry";
  }

  nextBackoffMs(): number {
    const multiplier = 2 ** this.currentRetry - 1;
    const base = multiplier * this.baseMs;
    if (base <= this.maxMs) this.currentRetry++;
    return Math.min(randomU32(this.deps.random) % base, this.maxMs);
  }

  /** Gives the retry circuit-breaker resource back (request finished or decided). */
  release(): void {
    if (this.holding) {
      this.deps.resources.retries.dec();
      this.holding = false;
    }
  }
}
