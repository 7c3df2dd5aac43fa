/**
 * A demo gRPC backend: one @grpc/grpc-js server hosting Echo, Inventory and Health on one
 * loopback port, with knobs for latency, error rate and health, and counters to assert on.
 */
import * as grpc from "@grpc/grpc-js";
import { UserError } from "../../errors.ts";
import {
  type BackendState,
  checkErrorRate,
  createBackendState,
  type Latency,
  toLatencyFn,
} from "./backend-state.ts";
import { echoHandlers } from "./echo-service.ts";
import { HealthStatuses, healthHandlers } from "./health-service.ts";
import { inventoryHandlers } from "./inventory-service.ts";
import type { ServingStatus } from "./messages.ts";
import { ECHO_SERVICE, INVENTORY_SERVICE, loadDemoProtos } from "./protos.ts";

export interface DemoBackendOptions {
  name: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Injected latency per call, in ms (a function is sampled once per call). */
  latencyMs?: Latency;
  /** Share of calls (0..1) answered with UNAVAILABLE. Health calls are exempt. */
  errorRate?: number;
  /** Source of randomness for errorRate; default Math.random. */
  random?: () => number;
  /** Max message size in bytes, both directions. */
  maxMessageBytes?: number;
}

export interface DemoBackend {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** "host:port", usable as a gRPC target. */
  readonly address: string;
  /** Calls received per method, keyed "Service/Method" ("Echo/Unary", "Health/Check"...). */
  readonly calls: Map<string, number>;
  /** Calls being served now (health calls excluded). */
  readonly inFlight: number;
  /** Calls cancelled (deadline or client cancel) before they completed. */
  readonly cancelled: number;
  /** Total calls received, all methods. */
  totalCalls(): number;
  setLatency(ms: Latency): void;
  setErrorRate(rate: number): void;
  /** Sets the health of `service` (default "": the whole server). */
  setHealth(status: Exclude<ServingStatus, "SERVICE_UNKNOWN">, service?: string): void;
  stop(): Promise<void>;
}

export async function startDemoBackend(opts: DemoBackendOptions): Promise<DemoBackend> {
  const host = opts.host ?? "127.0.0.1";
  const state: BackendState = createBackendState(opts);
  const protos = loadDemoProtos();
  const health = new HealthStatuses([
    ["", "SERVING"],
    [ECHO_SERVICE, "SERVING"],
    [INVENTORY_SERVICE, "SERVING"],
  ]);
  const serverOptions: grpc.ServerOptions = {};
  if (opts.maxMessageBytes !== undefined) {
    serverOptions["grpc.max_receive_message_length"] = opts.maxMessageBytes;
    serverOptions["grpc.max_send_message_length"] = opts.maxMessageBytes;
  }
  const server = new grpc.Server(serverOptions);
  server.addService(protos.echo.service, echoHandlers(state));
  server.addService(protos.inventory.service, inventoryHandlers(state));
  server.addService(protos.health.service, healthHandlers(state, health));

  const hostPort = host.includes(":") ? `[${host}]:${opts.port ?? 0}` : `${host}:${opts.port ?? 0}`;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(hostPort, grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err
        ? reject(new UserError(`demo backend ${opts.name}: cannot listen on ${hostPort}: ${err.message}`, { cause: err }))
        : resolve(bound),
    );
  });
  const address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  let stopped = false;

  return {
    name: opts.name,
    host,
    port,
    address,
    calls: state.calls,
    get inFlight() {
      return state.inFlight;
    },
    get cancelled() {
      return state.cancelled;
    },
    totalCalls: () => [...state.calls.values()].reduce((a, b) => a + b, 0),
    setLatency(ms) {
      state.latency = toLatencyFn(ms);
    },
    setErrorRate(rate) {
      state.errorRate = checkErrorRate(rate);
    },
    setHealth(status, service = "") {
      health.set(service, status);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      server.forceShutdown();
    },
  };
}
