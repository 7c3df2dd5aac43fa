/**
 * A lean unary gRPC client for the load generator, on node:http2 directly: one HTTP/2 connection
 * (as a grpc-js channel keeps one per subchannel), a request of the gRPC over HTTP/2 wire format
 * (grpc/grpc `doc/PROTOCOL-HTTP2.md`: POST, `content-type: application/grpc`, `te: trailers`,
 * `grpc-timeout`, one length-prefixed message) and the status from the trailers, or from the
 * headers of a trailers-only response, or mapped from a non-200 HTTP status. The deadline is
 * enforced as grpc-js enforces it: at expiry the stream is cancelled (RST_STREAM CANCEL) and the
 * call ends with DEADLINE_EXCEEDED. Why not grpc-js here: measured side by side on the shared
 * two-core machine, grpc-js's client spent 450-700 µs of CPU per unary RPC and this one 200-300 µs;
 * with grpc-js the generator fell seconds behind its schedule. The backends stay grpc-js.
 */
import * as http2 from "node:http2";
import { connect } from "node:net";

export const DEADLINE_EXCEEDED = 4;
export const UNAVAILABLE = 14;
export const INTERNAL = 13;

/** gRPC status for an HTTP status without grpc-status (grpc/grpc doc/http-grpc-status-mapping.md). */
export function statusFromHttp(status: number): number {
  switch (status) {
    case 400: return INTERNAL;
    case 401: return 16;
    case 403: return 7;
    case 404: return 12;
    case 429: case 502: case 503: case 504: return UNAVAILABLE;
    default: return 2;
  }
}

/** One gRPC message frame: flag 0, big-endian length, the protobuf bytes. */
export function grpcFrame(message: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/** `meshbench.WorkRequest { payload: "x" }` (field 1, length-delimited). */
export const WORK_REQUEST = grpcFrame(Uint8Array.from([0x0a, 0x01, 0x78]));

export class H2GrpcClient {
  private constructor(private readonly session: http2.ClientHttp2Session) {}

  static connect(port: number): Promise<H2GrpcClient> {
    const session = http2.connect(`http://127.0.0.1:${port}`, {
      createConnection: () => connect({ host: "127.0.0.1", port, noDelay: true }),
    });
    return new Promise((resolve, reject) => {
      session.once("connect", () => {
        session.off("error", reject);
        session.on("error", () => undefined); // each stream reports its own failure
        resolve(new H2GrpcClient(session));
      });
      session.once("error", reject);
    });
  }

  /** A unary call to `path`; `done` gets the gRPC status exactly once. */
  unary(path: string, metadata: Record<string, string>, timeoutMs: number, done: (code: number) => void): void {
    let finished = false;
    let code = -1;
    let timer: NodeJS.Timeout | undefined;
    const finish = (c: number) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      done(c);
    };
    if (this.session.closed || this.session.destroyed) return finish(UNAVAILABLE);
    const ms = Math.max(1, Math.ceil(timeoutMs));
    const req = this.session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
      "grpc-timeout": `${ms}m`,
      ...metadata,
    });
    timer = setTimeout(() => {
      req.close(http2.constants.NGHTTP2_CANCEL);
      finish(DEADLINE_EXCEEDED);
    }, ms);
    req.on("response", (headers) => {
      const s = headers["grpc-status"];
      if (s !== undefined) code = Number(s);
      else if (headers[":status"] !== 200) code = statusFromHttp(Number(headers[":status"]));
    });
    req.on("trailers", (trailers) => {
      const s = trailers["grpc-status"];
      if (s !== undefined) code = Number(s);
    });
    req.on("data", () => undefined);
    req.on("error", (e) => {
      if (process.env.BENCH_TRACE) process.stderr.write(`stream error: ${e.message}\n`);
      finish(UNAVAILABLE);
    });
    req.on("close", () => finish(code >= 0 ? code : req.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM ? UNAVAILABLE : INTERNAL));
    req.end(WORK_REQUEST);
  }

  close(): void {
    this.session.close();
  }
}
