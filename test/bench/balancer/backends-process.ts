/**
 * The benchmark's backends, in a process of their own (started with `fork`, driven over its IPC
 * channel; protocol in backends.ts): @grpc/grpc-js servers on 127.0.0.1 serving
 * `meshbench.Work/{Light,Heavy}` (test/balancer/support/fleet.ts's service) and
 * `grpc.health.v1.Health/Check`. A call waits the backend's latency for its method × its
 * multiplier × (1 ± jitter) on a timer (no CPU spent waiting), or fails at once with UNAVAILABLE
 * while the backend is failing. Every call carries `x-bench-rpc: <lane>:<k>`; the backend that
 * received it is recorded, so shares count every RPC that reached a backend, those that then
 * missed their deadline included.
 */
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { WorkService } from "../../balancer/support/fleet.ts";
import type { BackendChange, BackendSpec, Method } from "./scenarios.ts";
import type { BackendReply, BackendRequest } from "./backends.ts";

const HEALTH_PROTO = {
  nested: {
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
const health = grpc.loadPackageDefinition(
  protoLoader.fromJSON(HEALTH_PROTO as Parameters<typeof protoLoader.fromJSON>[0], { keepCase: true, defaults: true, enums: String }),
) as unknown as { grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } } };

interface Live {
  spec: BackendSpec;
  multiplier: number;
  failing: boolean;
  serving: boolean;
  server: grpc.Server;
}

const backends: Live[] = [];
let lanes = 0;
let perLane = 0;
/** Backend index per (lane, k); -1 until received. */
let received = new Int16Array(0);

function record(md: grpc.Metadata, index: number): void {
  const tag = md.get("x-bench-rpc")[0];
  if (tag === undefined) return;
  const [lane, k] = String(tag).split(":").map(Number);
  if (lane! >= 0 && lane! < lanes && k! >= 0 && k! < perLane) received[lane! * perLane + k!] = index;
}

async function startOne(spec: BackendSpec, index: number): Promise<number> {
  const server = new grpc.Server();
  const b: Live = { spec, multiplier: spec.multiplier ?? 1, failing: false, serving: spec.serving ?? true, server };
  backends.push(b);
  const handle = (method: Method) => (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
    record(call.metadata, index);
    if (b.failing) {
      const trailers = new grpc.Metadata();
      trailers.set("x-backend", spec.name);
      cb({ code: grpc.status.UNAVAILABLE, details: `${spec.name} is failing`, metadata: trailers } as grpc.ServiceError);
      return;
    }
    const base = (method === "Light" ? spec.lightMs : spec.heavyMs) * b.multiplier;
    const ms = base * (1 + spec.jitter * (Math.random() * 2 - 1));
    setTimeout(() => cb(null, { backend: spec.name }), Math.max(0, ms));
  };
  server.addService(WorkService.service, { Light: handle("Light"), Heavy: handle("Heavy") });
  server.addService(health.grpc.health.v1.Health.service, {
    Check: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) =>
      cb(null, { status: b.serving ? "SERVING" : "NOT_SERVING" }),
  });
  return new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  );
}

function apply(change: BackendChange): void {
  const b = backends.find((x) => x.spec.name === change.backend);
  if (!b) throw new Error(`no backend ${change.backend}`);
  if (change.set.multiplier !== undefined) b.multiplier = change.set.multiplier;
  if (change.set.failing !== undefined) b.failing = change.set.failing;
  if (change.set.serving !== undefined) b.serving = change.set.serving;
}

async function handle(req: BackendRequest): Promise<BackendReply> {
  switch (req.op) {
    case "start": {
      const ports: number[] = [];
      for (const [i, spec] of req.backends.entries()) ports.push(await startOne(spec, i));
      return { id: req.id, ok: true, ports };
    }
    case "change":
      apply(req.change);
      return { id: req.id, ok: true };
    case "begin":
      lanes = req.lanes;
      perLane = req.perLane;
      received = new Int16Array(lanes * perLane).fill(-1);
      return { id: req.id, ok: true };
    case "collect":
      return { id: req.id, ok: true, received: Array.from(received) };
    case "stop":
      await Promise.all(backends.map((b) => new Promise<void>((r) => b.server.tryShutdown(() => r())).then(() => b.server.forceShutdown())));
      return { id: req.id, ok: true };
  }
}

process.on("message", (msg: BackendRequest) => {
  handle(msg).then(
    (reply) => process.send!(reply),
    (e: Error) => process.send!({ id: msg.id, ok: false, error: e.message } satisfies BackendReply),
  );
});
process.on("disconnect", () => process.exit(0));
