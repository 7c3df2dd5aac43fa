/**
 * Backends whose behaviour a test or the benchmark changes while they run: @grpc/grpc-js servers
 * on 127.0.0.1 with the service `meshbench.Work` (two unary methods, `Light` and `Heavy`, so
 * that per-method latency differs) and `grpc.health.v1.Health/Check` (for Envoy's gRPC health
 * checks). Each call waits the backend's latency for its method (× its multiplier, with uniform
 * jitter), or fails at once with UNAVAILABLE when the backend is failing. Replies carry the
 * backend's name; errors carry it in the trailers (`x-backend`), so the client knows who served.
 * A backend that is not serving answers health checks NOT_SERVING (and still serves RPCs that
 * reach it, as a pod that is starting would).
 */
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const PROTO = {
  nested: {
    meshbench: {
      nested: {
        WorkRequest: { fields: { payload: { type: "string", id: 1 } } },
        WorkReply: { fields: { backend: { type: "string", id: 1 } } },
        Work: {
          methods: {
            Light: { requestType: "WorkRequest", responseType: "WorkReply" },
            Heavy: { requestType: "WorkRequest", responseType: "WorkReply" },
          },
        },
      },
    },
    grpc: {
      nested: {
        health: {
          nested: {
            v1: {
              nested: {
                HealthCheckRequest: { fields: { service: { type: "string", id: 1 } } },
                HealthCheckResponse: {
                  fields: { status: { type: "ServingStatus", id: 1 } },
                  nested: { ServingStatus: { values: { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } } },
                },
                Health: { methods: { Check: { requestType: "HealthCheckRequest", responseType: "HealthCheckResponse" } } },
              },
            },
          },
        },
      },
    },
  },
};

const definition = protoLoader.fromJSON(PROTO as Parameters<typeof protoLoader.fromJSON>[0], { keepCase: true, defaults: true, enums: String });
const loaded = grpc.loadPackageDefinition(definition) as unknown as {
  meshbench: { Work: grpc.ServiceClientConstructor };
  grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
};
export const WorkService = loaded.meshbench.Work;
const HealthService = loaded.grpc.health.v1.Health;

export type Method = "Light" | "Heavy";

export interface Behaviour {
  /** Latency of Light and Heavy in ms before the multiplier. */
  lightMs: number;
  heavyMs: number;
  /** Every latency is multiplied by this (10 = ten times slower). */
  multiplier: number;
  /** Uniform jitter: latency × (1 ± jitter). */
  jitter: number;
  /** Fail every RPC at once with UNAVAILABLE. */
  failing: boolean;
  /** Health checks answer SERVING. */
  serving: boolean;
}

export const DEFAULT_BEHAVIOUR: Behaviour = { lightMs: 20, heavyMs: 400, multiplier: 1, jitter: 0.1, failing: false, serving: true };

export interface Backend {
  name: string;
  port: number;
  behaviour: Behaviour;
  /** RPCs served (or failed) per method. */
  served: Record<Method, number>;
  /** Request metadata of the last calls (bounded), for header checks. */
  lastMetadata: Array<Record<string, string>>;
  stop(): Promise<void>;
}

export async function startBackend(name: string, behaviour: Partial<Behaviour> = {}, port = 0): Promise<Backend> {
  const server = new grpc.Server();
  const b: Backend = {
    name,
    port: 0,
    behaviour: { ...DEFAULT_BEHAVIOUR, ...behaviour },
    served: { Light: 0, Heavy: 0 },
    lastMetadata: [],
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())).then(() => server.forceShutdown()),
  };
  const handle = (method: Method) => (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
    b.served[method]++;
    if (b.lastMetadata.length >= 50) b.lastMetadata.shift();
    const md: Record<string, string> = {};
    for (const [k, v] of Object.entries(call.metadata.getMap())) md[k] = String(v);
    b.lastMetadata.push(md);
    const now = b.behaviour;
    if (now.failing) {
      const trailers = new grpc.Metadata();
      trailers.set("x-backend", name);
      cb({ code: grpc.status.UNAVAILABLE, details: `${name} is failing`, metadata: trailers } as grpc.ServiceError);
      return;
    }
    const base = (method === "Light" ? now.lightMs : now.heavyMs) * now.multiplier;
    const ms = base * (1 + now.jitter * (Math.random() * 2 - 1));
    setTimeout(() => cb(null, { backend: name }), Math.max(0, ms));
  };
  server.addService(WorkService.service, { Light: handle("Light"), Heavy: handle("Heavy") });
  server.addService(HealthService.service, {
    Check: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) =>
      cb(null, { status: b.behaviour.serving ? "SERVING" : "NOT_SERVING" }),
  });
  b.port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return b;
}

export async function startFleet(count: number, behaviour: Partial<Behaviour> = {}, prefix = "b"): Promise<Backend[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => startBackend(`${prefix}${i}`, behaviour)));
}

export interface WorkClient extends grpc.Client {
  Light(req: { payload?: string }, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, reply?: { backend: string }) => void): grpc.ClientUnaryCall;
  Heavy(req: { payload?: string }, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, reply?: { backend: string }) => void): grpc.ClientUnaryCall;
}

export function workClient(port: number): WorkClient {
  return new WorkService(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as WorkClient;
}

export interface CallResult {
  /** The backend that served (from the reply, or the error's trailers); "" when unknown. */
  backend: string;
  code: number;
  ms: number;
  /** The response headers the client saw. */
  headers: grpc.Metadata;
}

/** One unary call; never rejects. */
export function call(client: WorkClient, method: Method = "Light", opts: { deadlineMs?: number; metadata?: grpc.Metadata } = {}): Promise<CallResult> {
  const start = performance.now();
  return new Promise((resolve) => {
    let headers = new grpc.Metadata();
    const callOpts: grpc.CallOptions = opts.deadlineMs ? { deadline: Date.now() + opts.deadlineMs } : {};
    const c = client[method]({ payload: "x" }, opts.metadata ?? new grpc.Metadata(), callOpts, (err, reply) => {
      const ms = performance.now() - start;
      if (err) {
        const named = err.metadata?.get("x-backend")[0];
        resolve({ backend: named === undefined ? "" : String(named), code: err.code, ms, headers });
      } else resolve({ backend: reply!.backend, code: 0, ms, headers });
    });
    c.on("metadata", (m) => (headers = m));
  });
}
