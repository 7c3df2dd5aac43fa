/**
 * Echo service handlers: Unary echoes, ServerStream replies `repeat` times, ClientStream
 * joins what it read, Bidi echoes each message. Every reply names the backend; injected
 * latency and errors, `fail_with_code` and `delay_ms` apply; cancelled calls stop working.
 */
import * as grpc from "@grpc/grpc-js";
import {
  type BackendState,
  injectedFailure,
  metadataToRecord,
  requestedFailure,
  servedByTrailer,
  trackCall,
} from "./backend-state.ts";
import type { EchoReply, EchoRequest } from "./messages.ts";

type Call<T> = T & { request?: EchoRequest };

export function echoHandlers(state: BackendState): grpc.UntypedServiceImplementation {
  const reply = (
    req: EchoRequest,
    md: grpc.Metadata,
    sequence: number,
    message = req.message ?? "",
    payload: Buffer = Buffer.from(req.payload ?? []),
  ): EchoReply => ({
    message,
    servedBy: state.name,
    payload,
    receivedMetadata: metadataToRecord(md),
    sequence,
  });

  const unary = async (
    call: grpc.ServerUnaryCall<EchoRequest, EchoReply>,
    callback: grpc.sendUnaryData<EchoReply>,
  ) => {
    const t = trackCall(state, "Echo/Unary", call);
    try {
      if (!(await t.wait(call.request.delayMs))) return;
      if (t.injectFailure) return callback(injectedFailure(state));
      const failure = requestedFailure(state, call.request.failWithCode);
      if (failure) return callback(failure);
      callback(null, reply(call.request, call.metadata, 0), servedByTrailer(state));
    } finally {
      t.finish();
    }
  };

  const serverStream = async (call: Call<grpc.ServerWritableStream<EchoRequest, EchoReply>>) => {
    const t = trackCall(state, "Echo/ServerStream", call);
    try {
      const req = call.request;
      if (!(await t.wait())) return;
      if (t.injectFailure) return void call.emit("error", injectedFailure(state));
      const failure = requestedFailure(state, req.failWithCode);
      if (failure) return void call.emit("error", failure);
      const count = Math.max(1, req.repeat ?? 1);
      for (let i = 0; i < count; i++) {
        if (!(await t.wait(req.delayMs))) return;
        await writeMessage(call, reply(req, call.metadata, i), t.signal);
        if (call.cancelled) return;
      }
      call.end(servedByTrailer(state));
    } finally {
      t.finish();
    }
  };

  const clientStream = (
    call: grpc.ServerReadableStream<EchoRequest, EchoReply>,
    callback: grpc.sendUnaryData<EchoReply>,
  ) => {
    const t = trackCall(state, "Echo/ClientStream", call);
    const messages: string[] = [];
    const payloads: Buffer[] = [];
    let failWithCode = 0;
    let delayMs = 0;
    call.on("data", (req: EchoRequest) => {
      messages.push(req.message ?? "");
      payloads.push(Buffer.from(req.payload ?? []));
      if (!failWithCode && req.failWithCode) failWithCode = req.failWithCode;
      delayMs = Math.max(delayMs, req.delayMs ?? 0);
    });
    call.on("error", () => t.finish());
    call.on("end", async () => {
      try {
        if (!(await t.wait(delayMs))) return;
        if (t.injectFailure) return callback(injectedFailure(state));
        const failure = requestedFailure(state, failWithCode);
        if (failure) return callback(failure);
        const joined = reply({}, call.metadata, messages.length, messages.join(","),
          Buffer.concat(payloads));
        callback(null, joined, servedByTrailer(state));
      } finally {
        t.finish();
      }
    });
    t.signal.addEventListener("abort", () => t.finish());
  };

  const bidi = (call: grpc.ServerDuplexStream<EchoRequest, EchoReply>) => {
    const t = trackCall(state, "Echo/Bidi", call);
    let sequence = 0;
    let failed = false;
    // Replies are produced in order: each message waits for the previous one's reply.
    let chain: Promise<boolean> = t.wait().then((ok) => {
      if (ok && t.injectFailure) fail(injectedFailure(state));
      return ok && !failed;
    });
    const fail = (err: grpc.ServerErrorResponse) => {
      failed = true;
      call.emit("error", err);
      t.finish();
    };
    call.on("data", (req: EchoRequest) => {
      chain = chain.then(async (ok) => {
        if (!ok || failed) return false;
        if (!(await t.wait(req.delayMs))) return false;
        const failure = requestedFailure(state, req.failWithCode);
        if (failure) {
          fail(failure);
          return false;
        }
        await writeMessage(call, reply(req, call.metadata, sequence++), t.signal);
        return !call.cancelled;
      });
    });
    call.on("end", () => {
      void chain.then((ok) => {
        if (ok && !failed) call.end(servedByTrailer(state));
        t.finish();
      });
    });
    call.on("error", () => t.finish());
    t.signal.addEventListener("abort", () => t.finish());
  };

  return { Unary: unary, ServerStream: serverStream, ClientStream: clientStream, Bidi: bidi };
}

/**
 * Writes one message, resolving once it has been handed to the transport or the call was
 * cancelled (a cancelled call may never acknowledge the write).
 */
export function writeMessage<T>(
  stream: { write(msg: T, cb: () => void): boolean },
  msg: T,
  signal: AbortSignal,
): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      signal.removeEventListener("abort", done);
      resolve();
    };
    signal.addEventListener("abort", done, { once: true });
    stream.write(msg, done);
  });
}
