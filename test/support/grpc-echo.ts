/**
 * A small gRPC service for end-to-end tests, defined inline (no .proto file on disk):
 * `meshtest.Echo` with one method per RPC shape.
 *
 * - Unary(EchoRequest) -> EchoReply
 * - ServerStream(EchoRequest) -> stream EchoReply   (`count` replies)
 * - ClientStream(stream EchoRequest) -> EchoReply  (messages joined with ",")
 * - Bidi(stream EchoRequest) -> stream EchoReply    (one reply per request)
 *
 * Every reply carries the backend's name and the request metadata it saw, so tests can
 * check balancing and header mutations. A request can ask for a delay (`delay_ms`), a
 * failure (`fail_code` + `fail_message`, sent trailers-only with metadata `x-fail: yes`), or a
 * payload to echo back (`payload`, or `reply_size` bytes of 0x61).
 *
 * `startEchoServer` binds 127.0.0.1:0 and records calls and cancellations.
 */
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const ECHO_PROTO = {
  nested: {
    meshtest: {
      nested: {
        EchoRequest: {
          fields: {
            message: { type: "string", id: 1 },
            payload: { type: "bytes", id: 2 },
            count: { type: "int32", id: 3 },
            delay_ms: { type: "int32", id: 4 },
            fail_code: { type: "int32", id: 5 },
            fail_message: { type: "string", id: 6 },
            reply_size: { type: "int32", id: 7 },
          },
        },
        EchoReply: {
          fields: {
            message: { type: "string", id: 1 },
            payload: { type: "bytes", id: 2 },
            backend: { type: "string", id: 3 },
            headers: { keyType: "string", type: "string", id: 4 },
            index: { type: "int32", id: 5 },
          },
        },
        Echo: {
          methods: {
            Unary: { requestType: "EchoRequest", responseType: "EchoReply" },
            ServerStream: { requestType: "EchoRequest", responseType: "EchoReply", responseStream: true },
            ClientStream: { requestType: "EchoRequest", responseType: "EchoReply", requestStream: true },
            Bidi: { requestType: "EchoRequest", responseType: "EchoReply", requestStream: true, responseStream: true },
          },
        },
      },
    },
  },
};

export interface EchoRequest {
  message?: string;
  payload?: Uint8Array;
  count?: number;
  delay_ms?: number;
  fail_code?: number;
  fail_message?: string;
  reply_size?: number;
}

export interface EchoReply {
  message: string;
  payload: Buffer;
  backend: string;
  headers: Record<string, string>;
  index: number;
}

const packageDefinition = protoLoader.fromJSON(ECHO_PROTO as Parameters<typeof protoLoader.fromJSON>[0], {
  keepCase: true,
  longs: String,
  defaults: true,
  oneofs: true,
});
const loaded = grpc.loadPackageDefinition(packageDefinition) as unknown as {
  meshtest: { Echo: grpc.ServiceClientConstructor };
};
export const EchoService = loaded.meshtest.Echo;
export const ECHO_SERVICE_NAME = "meshtest.Echo";

/** The client, with the method shapes grpc-js generates. */
export interface EchoClient extends grpc.Client {
  Unary(
    req: EchoRequest,
    md: grpc.Metadata,
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, reply?: EchoReply) => void,
  ): grpc.ClientUnaryCall;
  ServerStream(req: EchoRequest, md?: grpc.Metadata, opts?: grpc.CallOptions): grpc.ClientReadableStream<EchoReply>;
  ClientStream(
    md: grpc.Metadata,
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, reply?: EchoReply) => void,
  ): grpc.ClientWritableStream<EchoRequest>;
  Bidi(md?: grpc.Metadata, opts?: grpc.CallOptions): grpc.ClientDuplexStream<EchoRequest, EchoReply>;
}

/** Default channel options: 64 MiB messages each way. */
export const LARGE_MESSAGES: grpc.ChannelOptions = {
  "grpc.max_send_message_length": 64 * 1024 * 1024,
  "grpc.max_receive_message_length": 64 * 1024 * 1024,
};

export function echoClient(port: number, options: grpc.ChannelOptions = {}): EchoClient {
  return new EchoService(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    ...LARGE_MESSAGES,
    ...options,
  }) as unknown as EchoClient;
}

/** Promisified unary call; rejects with the grpc ServiceError. */
export function unary(
  client: EchoClient,
  req: EchoRequest,
  opts: { metadata?: grpc.Metadata; deadlineMs?: number } = {},
): Promise<EchoReply> {
  const callOpts: grpc.CallOptions = {};
  if (opts.deadlineMs !== undefined) callOpts.deadline = Date.now() + opts.deadlineMs;
  return new Promise((resolve, reject) => {
    client.Unary(req, opts.metadata ?? new grpc.Metadata(), callOpts, (err, reply) => {
      if (err) reject(err);
      else resolve(reply!);
    });
  });
}

/** Collects the status a call ended with (grpc-js `status` event). */
export function statusOf(call: { on(ev: "status", cb: (s: grpc.StatusObject) => void): unknown }): Promise<grpc.StatusObject> {
  return new Promise((resolve) => call.on("status", resolve));
}

export interface ObservedCall {
  method: string;
  metadata: Record<string, string>;
  cancelled: boolean;
}

export interface EchoServer {
  name: string;
  port: number;
  server: grpc.Server;
  /** Every call this backend received, in arrival order. */
  calls: ObservedCall[];
  /** Resolves when a call for `method` has been cancelled (the next one, or one already seen). */
  waitForCancel(method?: string): Promise<ObservedCall>;
  stop(): Promise<void>;
}

function metadataRecord(md: grpc.Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(md.getMap())) out[k] = Buffer.isBuffer(v) ? v.toString("base64") : String(v);
  return out;
}

function failure(req: EchoRequest): grpc.ServiceError | null {
  if (!req.fail_code) return null;
  const md = new grpc.Metadata();
  md.set("x-fail", "yes");
  const err = Object.assign(new Error(req.fail_message ?? ""), {
    code: req.fail_code,
    details: req.fail_message ?? "",
    metadata: md,
  });
  return err as grpc.ServiceError;
}

function reply(name: string, req: EchoRequest, headers: Record<string, string>, index = 0): EchoReply {
  const payload =
    req.reply_size && req.reply_size > 0 ? Buffer.alloc(req.reply_size, 0x61) : Buffer.from(req.payload ?? new Uint8Array());
  return { message: req.message ?? "", payload, backend: name, headers, index };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function startEchoServer(name = "backend", options: grpc.ServerOptions = {}): Promise<EchoServer> {
  const server = new grpc.Server({ ...LARGE_MESSAGES, ...options });
  const calls: ObservedCall[] = [];
  const cancelWaiters: Array<{ method?: string; resolve: (c: ObservedCall) => void }> = [];
  const observe = (method: string, call: { metadata: grpc.Metadata; on(ev: "cancelled", cb: () => void): unknown }): ObservedCall => {
    const observed: ObservedCall = { method, metadata: metadataRecord(call.metadata), cancelled: false };
    calls.push(observed);
    call.on("cancelled", () => {
      observed.cancelled = true;
      for (let i = cancelWaiters.length - 1; i >= 0; i--) {
        const w = cancelWaiters[i]!;
        if (!w.method || w.method === method) {
          cancelWaiters.splice(i, 1);
          w.resolve(observed);
        }
      }
    });
    return observed;
  };

  server.addService(EchoService.service, {
    Unary: async (call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) => {
      const obs = observe("Unary", call);
      const req = call.request;
      if (req.delay_ms) await sleep(req.delay_ms);
      if (obs.cancelled) return;
      const err = failure(req);
      if (err) return cb(err);
      cb(null, reply(name, req, obs.metadata));
    },
    ServerStream: async (call: grpc.ServerWritableStream<EchoRequest, EchoReply>) => {
      const obs = observe("ServerStream", call);
      const req = call.request;
      const n = req.count ?? 1;
      for (let i = 0; i < n; i++) {
        if (req.delay_ms) await sleep(req.delay_ms);
        if (obs.cancelled) return;
        call.write(reply(name, req, obs.metadata, i));
      }
      const err = failure(req);
      if (err) return void call.emit("error", err);
      call.end();
    },
    ClientStream: (call: grpc.ServerReadableStream<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) => {
      const obs = observe("ClientStream", call);
      const parts: string[] = [];
      let total = 0;
      call.on("data", (req: EchoRequest) => {
        parts.push(req.message ?? "");
        total += req.payload?.length ?? 0;
      });
      call.on("end", () => {
        const r = reply(name, { message: parts.join(",") }, obs.metadata, parts.length);
        r.payload = Buffer.alloc(0);
        r.index = parts.length;
        r.message = `${parts.join(",")}|${total}`;
        cb(null, r);
      });
    },
    Bidi: (call: grpc.ServerDuplexStream<EchoRequest, EchoReply>) => {
      const obs = observe("Bidi", call);
      let i = 0;
      call.on("data", (req: EchoRequest) => {
        const err = failure(req);
        if (err) return void call.emit("error", err);
        call.write(reply(name, req, obs.metadata, i++));
      });
      call.on("end", () => call.end());
      call.on("error", () => {});
    },
  });

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );

  return {
    name,
    port,
    server,
    calls,
    waitForCancel(method?: string) {
      const seen = calls.find((c) => c.cancelled && (!method || c.method === method));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => cancelWaiters.push({ method, resolve }));
    },
    stop() {
      return new Promise<void>((resolve) => {
        server.forceShutdown();
        resolve();
      });
    },
  };
}
