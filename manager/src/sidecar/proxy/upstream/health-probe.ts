/**
 * One active health check request against one host, as Envoy's GrpcHealthCheckerImpl and
 * HttpHealthCheckerImpl send it:
 * - gRPC: POST /grpc.health.v1.Health/Check over HTTP/2, content-type application/grpc,
 *   te: trailers, body = HealthCheckRequest{service = service_name} hand-encoded
 *   (one length-delimited field 1); healthy iff grpc-status is 0 and the response's
 *   status (field 1, varint) is SERVING (1).
 * - HTTP: GET <path> (HTTP/2 when the cluster speaks HTTP/2, else HTTP/1.1), healthy iff 200.
 * A non-healthy answer is an ACTIVE failure; no answer (connect error, reset, timeout) a
 * NETWORK failure. Connections are reused between checks (reuse_connection default true).
 * HTTP/2 checks run on the sidecar's own HTTP/2 client codec, as Envoy's health checkers use
 * the cluster's codec.
 */
import http from "node:http";
import net from "node:net";
import { H2ClientConnection } from "../../http/h2/client-connection.ts";
import { ErrorCode } from "../../http/h2/frames.ts";
import type { H2StreamHandler } from "../../http/h2/stream.ts";
import type { SocketAddress } from "../../http/stream-info.ts";

export type ProbeResult = "success" | "active_failure" | "network_failure";

const SERVING = 1;

export function encodeHealthCheckRequest(service: string): Uint8Array {
  const s = Buffer.from(service, "utf8");
  const msg: number[] = [];
  if (s.length > 0) {
    msg.push(0x0a);
    let n = s.length;
    while (n >= 0x80) {
      msg.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    msg.push(n);
  }
  const out = Buffer.alloc(5 + msg.length + s.length);
  out[0] = 0;
  out.writeUInt32BE(msg.length + s.length, 1);
  Buffer.from(msg).copy(out, 5);
  s.copy(out, 5 + msg.length);
  return out;
}

/** The `status` of the first HealthCheckResponse in a gRPC body; undefined if none/malformed. */
export function decodeHealthCheckStatus(body: Uint8Array): number | undefined {
  if (body.length < 5) return undefined;
  const len = ((body[1]! << 24) | (body[2]! << 16) | (body[3]! << 8) | body[4]!) >>> 0;
  if (body[0] !== 0 || body.length < 5 + len) return undefined;
  const msg = body.subarray(5, 5 + len);
  let i = 0;
  let status = 0;
  while (i < msg.length) {
    const tag = msg[i++]!;
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire === 0) {
      let v = 0;
      let shift = 0;
      for (;;) {
        if (i >= msg.length) return undefined;
        const b = msg[i++]!;
        v += (b & 0x7f) * 2 ** shift;
        shift += 7;
        if ((b & 0x80) === 0) break;
      }
      if (field === 1) status = v;
    } else if (wire === 2) {
      let len2 = 0;
      let shift = 0;
      for (;;) {
        if (i >= msg.length) return undefined;
        const b = msg[i++]!;
        len2 += (b & 0x7f) * 2 ** shift;
        shift += 7;
        if ((b & 0x80) === 0) break;
      }
      i += len2;
    } else {
      return undefined;
    }
  }
  return status;
}

/** The value of `name` in a flat [name, value, ...] header list. */
function field(list: readonly string[], name: string): string | undefined {
  for (let i = 0; i < list.length; i += 2) if (list[i] === name) return list[i + 1];
  return undefined;
}

const PROBE_WINDOW = 65_535;

export interface ProbeSpec {
  address: SocketAddress;
  authority: string;
  timeoutMs: number;
  grpcService?: string;
  httpPath?: string;
  http2: boolean;
}

/** Keeps one connection per host for its checks. */
export class HealthProbeClient {
  private conn?: Promise<H2ClientConnection>;
  private codec?: H2ClientConnection;
  private agent?: http.Agent;

  constructor(private readonly spec: ProbeSpec) {}

  /** The host's HTTP/2 connection, once connected; a new one when the last is gone or draining. */
  private h2(): Promise<H2ClientConnection> {
    if (this.conn && this.codec && !this.codec.closed && !this.codec.goawayReceived) return this.conn;
    const { address, port } = this.spec.address;
    const socket = net.connect({ host: address, port });
    this.conn = new Promise<H2ClientConnection>((resolve, reject) => {
      const codec = new H2ClientConnection(
        socket,
        {
          onConnect: () => resolve(codec),
          onRemoteSettings() {},
          onGoaway: () => codec.close(),
          onClose: (err) => reject(err ?? new Error("connection closed")),
        },
        { localWindow: PROBE_WINDOW },
      );
      this.codec = codec;
    });
    this.conn.catch(() => {});
    return this.conn;
  }

  /** Runs one check; never rejects. */
  probe(): Promise<ProbeResult> {
    return new Promise((resolve) => {
      let settled = false;
      const finish = (r: ProbeResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(r);
      };
      const timer = setTimeout(() => {
        finish("network_failure");
        this.resetConnection();
      }, this.spec.timeoutMs);
      try {
        if (this.spec.grpcService !== undefined) this.grpcCheck(finish);
        else if (this.spec.http2) this.h2HttpCheck(finish);
        else this.h1HttpCheck(finish);
      } catch {
        finish("network_failure");
      }
    });
  }

  private grpcCheck(finish: (r: ProbeResult) => void): void {
    const chunks: Buffer[] = [];
    let grpcStatus: string | undefined;
    const complete = () => {
      if (grpcStatus !== "0") return finish("active_failure");
      finish(decodeHealthCheckStatus(Buffer.concat(chunks)) === SERVING ? "success" : "active_failure");
    };
    const handler: H2StreamHandler = {
      onHeaders(h, end) {
        grpcStatus = field(h, "grpc-status") ?? grpcStatus;
        if (field(h, ":status") !== "200") return finish("active_failure");
        if (end) complete();
      },
      onData(c, end) {
        chunks.push(c);
        if (end) complete();
      },
      onTrailers(t) {
        grpcStatus = field(t, "grpc-status") ?? grpcStatus;
        complete();
      },
      onReset: () => finish("network_failure"),
      onWritable() {},
      onClosed() {},
    };
    const headers = [":method", "POST", ":scheme", "http", ":path", "/grpc.health.v1.Health/Check", ":authority", this.spec.authority, "content-type", "application/grpc", "te", "trailers"];
    this.h2().then(
      (conn) => conn.request(headers, false, handler).write(encodeHealthCheckRequest(this.spec.grpcService ?? ""), true),
      () => finish("network_failure"),
    );
  }

  private h2HttpCheck(finish: (r: ProbeResult) => void): void {
    const headers = [":method", "GET", ":scheme", "http", ":path", this.spec.httpPath ?? "/", ":authority", this.spec.authority, "user-agent", "Envoy/HC"];
    this.h2().then(
      (conn) => {
        const stream = conn.request(headers, true, {
          onHeaders(h, end) {
            finish(field(h, ":status") === "200" ? "success" : "active_failure");
            if (!end) stream.reset(ErrorCode.CANCEL); // the status is all a check needs
          },
          onData() {},
          onTrailers() {},
          onReset: () => finish("network_failure"),
          onWritable() {},
          onClosed() {},
        });
      },
      () => finish("network_failure"),
    );
  }

  private h1HttpCheck(finish: (r: ProbeResult) => void): void {
    this.agent ??= new http.Agent({ keepAlive: true, maxSockets: 1 });
    const req = http.request({
      agent: this.agent,
      host: this.spec.address.address,
      port: this.spec.address.port,
      path: this.spec.httpPath ?? "/",
      headers: { host: this.spec.authority, "user-agent": "Envoy/HC" },
    });
    req.on("response", (res) => {
      res.resume();
      finish(res.statusCode === 200 ? "success" : "active_failure");
    });
    req.on("error", () => finish("network_failure"));
    req.end();
  }

  private resetConnection(): void {
    this.codec?.destroy();
    this.codec = undefined;
    this.conn = undefined;
    this.agent?.destroy();
    this.agent = undefined;
  }

  close(): void {
    this.resetConnection();
  }
}
