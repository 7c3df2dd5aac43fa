/**
 * grpc.health.v1.Health with the standard semantics: Check answers the stored status or
 * NOT_FOUND for an unknown service; Watch sends the current status (SERVICE_UNKNOWN if
 * unknown) at once, then every change, until the client cancels. The empty service name
 * is the server as a whole.
 */
import * as grpc from "@grpc/grpc-js";
import { type BackendState, servedByTrailer, statusError, trackCall } from "./backend-state.ts";
import type { HealthCheckRequest, HealthCheckResponse, ServingStatus } from "./messages.ts";

export class HealthStatuses {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly watchers = new Map<string, Set<(s: ServingStatus) => void>>();

  constructor(initial: Iterable<[string, ServingStatus]>) {
    for (const [service, status] of initial) this.statuses.set(service, status);
  }

  get(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  set(service: string, status: ServingStatus): void {
    const previous = this.statuses.get(service);
    this.statuses.set(service, status);
    if (previous === status) return;
    for (const notify of this.watchers.get(service) ?? []) notify(status);
  }

  /** Subscribes to changes of `service`; returns the unsubscribe function. */
  watch(service: string, notify: (s: ServingStatus) => void): () => void {
    let set = this.watchers.get(service);
    if (!set) this.watchers.set(service, (set = new Set()));
    set.add(notify);
    return () => {
      set.delete(notify);
      if (set.size === 0) this.watchers.delete(service);
    };
  }

  watcherCount(): number {
    let n = 0;
    for (const set of this.watchers.values()) n += set.size;
    return n;
  }
}

export function healthHandlers(
  state: BackendState,
  health: HealthStatuses,
): grpc.UntypedServiceImplementation {
  const check = (
    call: grpc.ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>,
    callback: grpc.sendUnaryData<HealthCheckResponse>,
  ) => {
    const t = trackCall(state, "Health/Check", call, false);
    try {
      const service = call.request.service ?? "";
      const status = health.get(service);
      if (status === undefined) {
        return callback(statusError(state, grpc.status.NOT_FOUND, `unknown service "${service}"`));
      }
      callback(null, { status }, servedByTrailer(state));
    } finally {
      t.finish();
    }
  };

  const watch = (call: grpc.ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) => {
    const t = trackCall(state, "Health/Watch", call, false);
    const service = call.request.service ?? "";
    const send = (status: ServingStatus) => {
      if (!call.cancelled) call.write({ status });
    };
    const unsubscribe = health.watch(service, send);
    const stop = () => {
      unsubscribe();
      t.finish();
    };
    t.signal.addEventListener("abort", stop, { once: true });
    call.on("error", stop);
    send(health.get(service) ?? "SERVICE_UNKNOWN");
  };

  return { Check: check, Watch: watch };
}
