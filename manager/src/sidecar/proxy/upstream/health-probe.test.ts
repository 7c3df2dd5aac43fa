/** HealthProbeClient against real servers: gRPC and plain HTTP checks over HTTP/2, a dead host. */
import http2 from "node:http2";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { HealthProbeClient, type ProbeSpec } from "./health-probe.ts";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** Port of an http2 server; `sessions.count` is how many connections it accepted. */
async function h2Server(onStream: (s: http2.ServerHttp2Stream, h: http2.IncomingHttpHeaders) => void, sessions = { count: 0 }): Promise<number> {
  const srv = http2.createServer();
  srv.on("session", () => sessions.count++);
  srv.on("stream", (s, h) => {
    s.on("error", () => {});
    onStream(s, h);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  cleanups.push(() => srv.close());
  return (srv.address() as net.AddressInfo).port;
}

function client(port: number, spec: Partial<ProbeSpec>): HealthProbeClient {
  const c = new HealthProbeClient({ address: { address: "127.0.0.1", port }, authority: "backend", timeoutMs: 1000, http2: true, ...spec });
  cleanups.push(() => c.close());
  return c;
}

describe("HealthProbeClient over HTTP/2", () => {
  it("HTTP check: 200 is a success, anything else an active failure, on one reused connection", async () => {
    const sessions = { count: 0 };
    const agents: string[] = [];
    const port = await h2Server((s, h) => {
      agents.push(String(h["user-agent"]));
      s.respond({ ":status": h[":path"] === "/healthz" ? 200 : 503 });
      s.end("body that the check does not need");
    }, sessions);
    const ok = client(port, { httpPath: "/healthz" });
    expect(await ok.probe()).toBe("success");
    expect(await ok.probe()).toBe("success");
    expect(sessions.count).toBe(1); // reuse_connection
    const bad = client(port, { httpPath: "/broken" });
    expect(await bad.probe()).toBe("active_failure");
    expect(agents).toEqual(["Envoy/HC", "Envoy/HC", "Envoy/HC"]);
  });

  it("gRPC check: SERVING is a success; NOT_SERVING and a grpc-status error are active failures", async () => {
    const reply = (status: number) => Buffer.from([0, 0, 0, 0, 2, 0x08, status]);
    const port = await h2Server((s, h) => {
      let body = Buffer.alloc(0);
      s.on("data", (c: Buffer) => (body = Buffer.concat([body, c])));
      s.on("end", () => {
        const service = body.subarray(7).toString();
        if (h[":path"] !== "/grpc.health.v1.Health/Check" || h["te"] !== "trailers") return s.respond({ ":status": 400 }, { endStream: true });
        if (service === "missing") return s.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "5" }, { endStream: true });
        s.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
        s.on("wantTrailers", () => s.sendTrailers({ "grpc-status": "0" }));
        s.end(reply(service === "down" ? 2 : 1));
      });
    });
    expect(await client(port, { grpcService: "up" }).probe()).toBe("success");
    expect(await client(port, { grpcService: "down" }).probe()).toBe("active_failure");
    expect(await client(port, { grpcService: "missing" }).probe()).toBe("active_failure");
  });

  it("a host that refuses connections is a network failure", async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    expect(await client(port, { grpcService: "" }).probe()).toBe("network_failure");
  });
});
