/**
 * Traffic generator: a burst of demo RPCs over ONE client connection, with a weighted method
 * mix and bounded concurrency, summarised per method, status code and serving backend, with
 * exact latency percentiles.
 */
import * as grpc from "@grpc/grpc-js";
import { UserError } from "../errors.ts";
import {
  callOptions,
  createDemoClients,
  toMetadata,
  type CallOpts,
  type DemoClients,
} from "./services/clients.ts";
import { DEMO_ITEMS } from "./services/inventory-service.ts";
import { SERVED_BY_TRAILER } from "./services/messages.ts";
import { summarizeLatencies, type LatencySummary } from "./latency.ts";

export { formatTrafficReport } from "./traffic-report.ts";
export type { LatencySummary } from "./latency.ts";

export interface TrafficMixEntry {
  /** "Service/Method", one of TRAFFIC_METHODS. */
  method: string;
  weight: number;
}

export interface TrafficOptions {
  /** gRPC target ("127.0.0.1:port"): a backend, or the sidecar's listener. */
  target: string;
  rpcs: number;
  concurrency: number;
  /** Default: Echo/Unary only. */
  mix?: TrafficMixEntry[];
  /** Deadline of each RPC. */
  deadlineMs?: number;
  /** Drives the method mix; default Math.random. */
  random?: () => number;
  /** Use these clients instead of opening (and closing) a connection of its own. */
  clients?: DemoClients;
}

export interface TrafficError {
  method: string;
  code: number;
  status: string;
  message: string;
  count: number;
}

export interface TrafficReport {
  target: string;
  rpcs: number;
  concurrency: number;
  durationMs: number;
  ok: number;
  failed: number;
  /** RPCs per method, keyed "Service/Method". */
  byMethod: Record<string, number>;
  /** RPCs per final gRPC status, keyed by status name ("OK", "UNAVAILABLE"...). */
  byStatus: Record<string, number>;
  /** RPCs per serving backend (reply `served_by`, else the x-served-by trailer). */
  byBackend: Record<string, number>;
  /** RPCs no backend claimed (e.g. failed in the proxy, or cancelled before a reply). */
  unattributed: number;
  latencyMs: LatencySummary;
  latencyByBackendMs: Record<string, LatencySummary>;
  /** Failures grouped by method, code and message, most frequent first. */
  errors: TrafficError[];
}

interface Outcome {
  code: number;
  message: string;
  servedBy?: string;
}

type Executor = (c: DemoClients, i: number, o: CallOpts) => Promise<string | undefined>;

const first = <T extends { servedBy: string }>(replies: T[]) => replies[0]?.servedBy;

const EXECUTORS: Record<string, Executor> = {
  "Echo/Unary": async (c, i, o) => (await c.unary({ message: `rpc-${i}` }, o)).servedBy,
  "Echo/ServerStream": async (c, i, o) => first(await c.serverStream({ message: `rpc-${i}`, repeat: 3 }, o)),
  "Echo/ClientStream": async (c, i, o) =>
    (await c.clientStream([{ message: `rpc-${i}` }, { message: "b" }, { message: "c" }], o)).servedBy,
  "Echo/Bidi": async (c, i, o) => first(await c.bidi([{ message: `rpc-${i}` }, { message: "b" }], o)),
  "Inventory/GetItem": async (c, i, o) =>
    (await c.getItem({ sku: DEMO_ITEMS[i % DEMO_ITEMS.length]!.sku }, o)).servedBy,
  "Inventory/ListItems": async (c, _i, o) => first(await c.listItems({ limit: 3 }, o)),
  // Cycles through the demo SKUs: some run out of stock (FAILED_PRECONDITION), like real traffic.
  "Inventory/ReserveItem": async (c, i, o) =>
    (await c.reserveItem({ sku: DEMO_ITEMS[i % DEMO_ITEMS.length]!.sku, quantity: 1 }, o)).servedBy,
  "Health/Check": (c, _i, o) => healthCheck(c, o),
};

/** Health replies carry no served_by field: read the backend's name from the trailers. */
function healthCheck(c: DemoClients, o: CallOpts): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    let failure: grpc.ServiceError | null = null;
    const call = c.health.Check({ service: "" }, toMetadata(o), callOptions(o), (err) => {
      failure = err;
    });
    call.on("status", (s: grpc.StatusObject) => {
      if (failure) return reject(failure);
      const trailer = s.metadata.get(SERVED_BY_TRAILER)[0];
      resolve(typeof trailer === "string" ? trailer : undefined);
    });
  });
}

/** Methods runTraffic can drive. */
export const TRAFFIC_METHODS: readonly string[] = Object.keys(EXECUTORS);

export async function runTraffic(opts: TrafficOptions): Promise<TrafficReport> {
  const mix = opts.mix ?? [{ method: "Echo/Unary", weight: 1 }];
  validate(opts, mix);
  const random = opts.random ?? Math.random;
  // Methods are drawn up front so a seeded `random` gives the same sequence every run.
  const plan = Array.from({ length: opts.rpcs }, () => pick(mix, random()));
  const clients = opts.clients ?? createDemoClients(opts.target);
  const callOpts: CallOpts = opts.deadlineMs !== undefined ? { deadlineMs: opts.deadlineMs } : {};
  const samples: Array<{ method: string; outcome: Outcome; ms: number }> = [];
  let next = 0;
  const worker = async () => {
    while (next < plan.length) {
      const i = next++;
      const method = plan[i]!;
      const started = performance.now();
      const outcome = await execute(EXECUTORS[method]!, clients, i, callOpts);
      samples.push({ method, outcome, ms: performance.now() - started });
    }
  };
  const started = performance.now();
  try {
    await Promise.all(Array.from({ length: Math.min(opts.concurrency, opts.rpcs) }, worker));
  } finally {
    if (!opts.clients) clients.close();
  }
  return summarize(opts, samples, performance.now() - started);
}

async function execute(run: Executor, c: DemoClients, i: number, o: CallOpts): Promise<Outcome> {
  try {
    const servedBy = await run(c, i, o);
    return { code: grpc.status.OK, message: "", servedBy };
  } catch (err) {
    const e = err as Partial<grpc.ServiceError>;
    const trailer = e.metadata?.get(SERVED_BY_TRAILER)[0];
    return {
      code: typeof e.code === "number" ? e.code : grpc.status.UNKNOWN,
      message: e.details ?? (err instanceof Error ? err.message : String(err)),
      servedBy: typeof trailer === "string" ? trailer : undefined,
    };
  }
}

function summarize(
  opts: TrafficOptions,
  samples: Array<{ method: string; outcome: Outcome; ms: number }>,
  durationMs: number,
): TrafficReport {
  const byMethod: Record<string, number> = {};
  const byStatus: Record<string, number> = {};
  const byBackend: Record<string, number> = {};
  const backendSamples: Record<string, number[]> = {};
  const errors = new Map<string, TrafficError>();
  let ok = 0;
  let unattributed = 0;
  for (const { method, outcome, ms } of samples) {
    byMethod[method] = (byMethod[method] ?? 0) + 1;
    const status = statusName(outcome.code);
    byStatus[status] = (byStatus[status] ?? 0) + 1;
    if (outcome.servedBy) {
      byBackend[outcome.servedBy] = (byBackend[outcome.servedBy] ?? 0) + 1;
      (backendSamples[outcome.servedBy] ??= []).push(ms);
    } else {
      unattributed++;
    }
    if (outcome.code === grpc.status.OK) {
      ok++;
      continue;
    }
    const key = `${method}\0${outcome.code}\0${outcome.message}`;
    const e = errors.get(key);
    if (e) e.count++;
    else errors.set(key, { method, code: outcome.code, status, message: outcome.message, count: 1 });
  }
  const latencyByBackendMs: Record<string, LatencySummary> = {};
  for (const [name, ms] of Object.entries(backendSamples)) {
    latencyByBackendMs[name] = summarizeLatencies(ms);
  }
  return {
    target: opts.target,
    rpcs: samples.length,
    concurrency: opts.concurrency,
    durationMs,
    ok,
    failed: samples.length - ok,
    byMethod,
    byStatus,
    byBackend,
    unattributed,
    latencyMs: summarizeLatencies(samples.map((s) => s.ms)),
    latencyByBackendMs,
    errors: [...errors.values()].sort((a, b) => b.count - a.count || a.code - b.code),
  };
}

/** The status's name ("UNAVAILABLE"), or "CODE_<n>" for a code outside the gRPC set. */
export function statusName(code: number): string {
  return grpc.status[code] ?? `CODE_${code}`;
}

function pick(mix: TrafficMixEntry[], r: number): string {
  const total = mix.reduce((s, m) => s + m.weight, 0);
  let at = r * total;
  for (const m of mix) {
    if (at < m.weight) return m.method;
    at -= m.weight;
  }
  return mix.filter((m) => m.weight > 0).at(-1)!.method;
}

function validate(opts: TrafficOptions, mix: TrafficMixEntry[]): void {
  if (!Number.isInteger(opts.rpcs) || opts.rpcs < 0) {
    throw new UserError(`traffic: rpcs must be an integer >= 0, got ${opts.rpcs}`);
  }
  if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) {
    throw new UserError(`traffic: concurrency must be an integer >= 1, got ${opts.concurrency}`);
  }
  for (const m of mix) {
    if (!(m.method in EXECUTORS)) {
      throw new UserError(
        `traffic: unknown method "${m.method}"; known: ${TRAFFIC_METHODS.join(", ")}`,
      );
    }
    if (!(Number.isFinite(m.weight) && m.weight >= 0)) {
      throw new UserError(`traffic: weight of ${m.method} must be >= 0, got ${m.weight}`);
    }
  }
  if (!(mix.reduce((s, m) => s + m.weight, 0) > 0)) {
    throw new UserError("traffic: the mix needs at least one method with a positive weight");
  }
}
