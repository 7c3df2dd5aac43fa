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
 */
import http from "node:http";
import http2 from "node:http2";
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

function urlOf(a: SocketAddress): string {
  return `http://${a.address.includes(":") ? `[${a.address}]` : a.address}:${a.port}`;
}

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
  private session?: http2.ClientHttp2Session;
  private agent?: http.Agent;

  constructor(private readonly spec: ProbeSpec) {}

  private h2(): http2.ClientHttp2Session {
    if (!this.session || this.session.closed || this.session.destroyed) {
      const s = http2.connect(urlOf(this.spec.address));
      s.on("error", () => {});
      s.on("goaway", () => s.close());
      this.session = s;
    }
    return this.session;
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
    const req = this.h2().request({
      ":method": "POST",
      ":path": "/grpc.health.v1.Health/Check",
      ":authority": this.spec.authority,
      "content-type": "application/grpc",
      te: "trailers",
    });
    const chunks: Buffer[] = [];
    let grpcStatus: string | undefined;
    req.on("response", (h) => {
      if (h["grpc-status"] !== undefined) grpcStatus = String(h["grpc-status"]);
      if (h[":status"] !== 200) finish("active_failure");
    });
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("trailers", (t) => {
      if (t["grpc-status"] !== undefined) grpcStatus = String(t["grpc-status"]);
    });
    req.on("end", () => {
      if (grpcStatus !== "0") return finish("active_failure");
      finish(decodeHealthCheckStatus(Buffer.concat(chunks)) === SERVING ? "success" : "active_failure");
    });
    req.on("error", () => finish("network_failure"));
    req.on("close", () => finish("network_failure"));
    req.end(encodeHealthCheckRequest(this.spec.grpcService ?? ""));
  }

  private h2HttpCheck(finish: (r: ProbeResult) => void): void {
    const req = this.h2().request({ ":method": "GET", ":path": this.spec.httpPath ?? "/", ":authority": this.spec.authority, "user-agent": "Envoy/HC" });
    req.on("response", (h) => {
      finish(h[":status"] === 200 ? "success" : "active_failure");
      req.close();
    });
    req.on("error", () => finish("network_failure"));
    req.on("close", () => finish("network_failure"));
    req.end();
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
    this.session?.destroy();
    this.session = undefined;
    this.agent?.destroy();
    this.agent = undefined;
  }

  close(): void {
    this.resetConnection();
  }
}
