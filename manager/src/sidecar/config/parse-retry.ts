/**
 * envoy.config.route.v3.RetryPolicy. retry_on is a comma-separated list of Envoy's HTTP and
 * gRPC retry conditions; Envoy silently ignores names it does not know, the sidecar rejects
 * them so a typo is not a silently disabled retry. num_retries defaults to 1, back-off to
 * 25 ms base and 10x base max; max_interval below base_interval is an error, as in Envoy.
 */
import type { RetryPolicy } from "./model.ts";
import { Ctx, Message, duration, intValue, list, msg, str, u32 } from "./fields.ts";

export const RETRY_ON_HTTP = [
  "5xx", "gateway-error", "reset", "reset-before-request", "connect-failure", "envoy-ratelimited", "retriable-4xx",
  "refused-stream", "retriable-status-codes", "retriable-headers", "http3-post-connect-failure",
];
export const RETRY_ON_GRPC = ["cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable"];

export function parseRetryPolicy(ctx: Ctx, m: Message): RetryPolicy | undefined {
  let ok = true;
  const retryOn: string[] = [];
  const retryOnAt = m.has("retry_on") ? m.posOf("retry_on") : undefined;
  const raw = str(m, "retry_on");
  if (raw !== undefined) {
    for (const part of raw.split(",")) {
      const cond = part.trim();
      if (cond === "") continue;
      if (!RETRY_ON_HTTP.includes(cond) && !RETRY_ON_GRPC.includes(cond)) {
        ctx.error(m.pathOf("retry_on"), retryOnAt!, `unknown retry_on condition ${JSON.stringify(cond)}; expected one of ${[...RETRY_ON_HTTP, ...RETRY_ON_GRPC].join(", ")}`);
        ok = false;
        continue;
      }
      if (!retryOn.includes(cond)) retryOn.push(cond);
    }
  }
  const numRetries = u32(m, "num_retries") ?? 1;
  const perTryTimeoutMs = duration(m, "per_try_timeout") ?? 0;
  const retriableStatusCodes: number[] = [];
  for (const at of list(m, "retriable_status_codes")) {
    const code = intValue(ctx, at, { min: 0, max: 4294967295 });
    if (code === undefined) ok = false;
    else retriableStatusCodes.push(code);
  }
  let baseIntervalMs = 25;
  let maxIntervalMs = 250;
  const bo = msg(m, "retry_back_off", "envoy.config.route.v3.RetryPolicy.RetryBackOff");
  if (bo) {
    const base = duration(bo, "base_interval", { required: true, minMs: 1 });
    const max = duration(bo, "max_interval", { gt0: true });
    if (base === undefined) ok = false;
    else {
      baseIntervalMs = base;
      maxIntervalMs = max ?? base * 10;
      if (max !== undefined && max < base) {
        ctx.error(bo.pathOf("max_interval"), bo.posOf("max_interval"), "max_interval must be greater than or equal to base_interval");
        ok = false;
      }
    }
    bo.done();
  }
  m.done();
  if (!ok) return undefined;
  return { retryOn, numRetries, perTryTimeoutMs, retriableStatusCodes, baseIntervalMs, maxIntervalMs };
}
