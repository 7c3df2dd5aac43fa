/**
 * Runtime state of one demo backend (name, injected latency and errors, counters) and the
 * per-call bookkeeping every demo handler goes through: count the call, track it in flight,
 * wait the injected latency unless the call is cancelled, and decide injected failures.
 */
import * as grpc from "@grpc/grpc-js";
import { SERVED_BY_TRAILER } from "./messages.ts";

export type Latency = number | (() => number);

export interface BackendState {
  readonly name: string;
  latency: () => number;
  errorRate: number;
  readonly random: () => number;
  /** Calls received per method, keyed "Service/Method" (e.g. "Echo/Unary"). */
  readonly calls: Map<string, number>;
  inFlight: number;
  cancelled: number;
}

export function createBackendState(opts: {
  name: string;
  latencyMs?: Latency;
  errorRate?: number;
  random?: () => number;
}): BackendState {
  return {
    name: opts.name,
    latency: toLatencyFn(opts.latencyMs ?? 0),
    errorRate: checkErrorRate(opts.errorRate ?? 0),
    random: opts.random ?? Math.random,
    calls: new Map(),
    inFlight: 0,
    cancelled: 0,
  };
}

export function toLatencyFn(latency: Latency): () => number {
  if (typeof latency === "function") return latency;
  if (!Number.isFinite(latency) || latency < 0) {
    throw new RangeError(`latency must be a finite number >= 0, got ${latency}`);
  }
  return () => latency;
}

export function checkErrorRate(rate: number): number {
  if (!(rate >= 0 && rate <= 1)) throw new RangeError(`errorRate must be in [0, 1], got ${rate}`);
  return rate;
}

/** The server-side call objects of every RPC kind share these members. */
export interface AnyServerCall {
  cancelled: boolean;
  metadata: grpc.Metadata;
  on(event: "cancelled", listener: () => void): unknown;
}

/** Bookkeeping of one call; `finish()` must be called exactly once when the call is over. */
export interface TrackedCall {
  readonly signal: AbortSignal;
  /** True when this call was picked for an injected UNAVAILABLE failure. */
  readonly injectFailure: boolean;
  /** Waits the backend's latency plus `extraMs`; resolves false if the call was cancelled. */
  wait(extraMs?: number): Promise<boolean>;
  finish(): void;
}

/**
 * Starts tracking a call. `faults` false exempts it from injected latency and errors
 * and from the in-flight count (health checks).
 */
export function trackCall(
  state: BackendState,
  method: string,
  call: AnyServerCall,
  faults = true,
): TrackedCall {
  state.calls.set(method, (state.calls.get(method) ?? 0) + 1);
  const controller = new AbortController();
  let finished = false;
  const onCancel = () => {
    if (controller.signal.aborted) return;
    controller.abort();
    if (!finished) state.cancelled++;
  };
  call.on("cancelled", onCancel);
  if (call.cancelled) onCancel();
  if (faults) state.inFlight++;
  const injectFailure = faults && state.errorRate > 0 && state.random() < state.errorRate;
  const baseLatency = faults ? Math.max(0, state.latency()) : 0;
  let latencySpent = false;
  return {
    signal: controller.signal,
    injectFailure,
    wait(extraMs = 0) {
      const ms = (latencySpent ? 0 : baseLatency) + Math.max(0, extraMs);
      latencySpent = true;
      return sleep(ms, controller.signal);
    },
    finish() {
      if (finished) return;
      finished = true;
      if (faults) state.inFlight--;
    },
  };
}

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Trailers naming the backend, attached to every response (success or failure). */
export function servedByTrailer(state: BackendState): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set(SERVED_BY_TRAILER, state.name);
  return md;
}

/** A gRPC error carrying the served-by trailer. */
export function statusError(
  state: BackendState,
  code: grpc.status,
  details: string,
): grpc.ServerErrorResponse {
  return Object.assign(new Error(details), { code, details, metadata: servedByTrailer(state) });
}

export function injectedFailure(state: BackendState): grpc.ServerErrorResponse {
  return statusError(state, grpc.status.UNAVAILABLE, `injected failure by ${state.name}`);
}

/** The failure an EchoRequest asked for with `fail_with_code`, or null. */
export function requestedFailure(
  state: BackendState,
  code: number | undefined,
): grpc.ServerErrorResponse | null {
  if (!code) return null;
  const name = grpc.status[code] ?? "UNKNOWN_CODE";
  return statusError(state, code, `requested failure: ${code} (${name}) from ${state.name}`);
}

/** Request metadata as strings; binary values base64-encoded. */
export function metadataToRecord(md: grpc.Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(md.getMap())) {
    out[key] = typeof value === "string" ? value : Buffer.from(value).toString("base64");
  }
  return out;
}
