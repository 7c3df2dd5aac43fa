import { afterEach, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { echoClient, EchoService } from "../support/grpc-echo.ts";
import { startHarness, type Harness } from "../support/sidecar-harness.ts";
import { grpcFrame, h1Request, h2Request } from "../support/h2-client.ts";

/** EchoRequest{message:"hi"} */
const HI = Uint8Array.from([0x0a, 0x02, 0x68, 0x69]);

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

function unaryWithHeaders(port: number, md: grpc.Metadata) {
  const client = echoClient(port);
  return new Promise<{ reply: { headers: Record<string, string> }; responseMd: grpc.Metadata }>((resolve, reject) => {
    let responseMd = new grpc.Metadata();
    const call = client.Unary({ message: "x" }, md, {}, (err, reply) => {
      client.close();
      if (err) reject(err);
      else resolve({ reply: reply!, responseMd });
    });
    call.on("metadata", (m) => (responseMd = m));
  });
}

describe("downstream HTTP handling", () => {
  it("HTTP/1.1 downstream to an HTTP/2 gRPC upstream: body, trailers as chunked trailers", async () => {
    h = await startHarness();
    const res = await h1Request(h.port, {
      method: "POST",
      path: "/meshtest.Echo/Unary",
      headers: { "content-type": "application/grpc", te: "trailers" },
      body: grpcFrame(HI),
    });
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("application/grpc+proto");
    expect(res.trailers["grpc-status"]).toBe("0");
    expect(res.body[0]).toBe(0);
    expect(res.body.readUInt32BE(1)).toBe(res.body.length - 5);
    expect(h.counter("http.ingress_http.downstream_rq_http1_total")).toBe(1n);
  });

  it("default config: x-request-id generated (UUID v4) and kept when given, x-forwarded-for untouched, upstream service time", async () => {
    h = await startHarness();
    const md = new grpc.Metadata();
    const first = await unaryWithHeaders(h.port, md);
    expect(first.reply.headers["x-request-id"]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(first.reply.headers["x-forwarded-for"]).toBeUndefined();
    expect(first.responseMd.get("x-envoy-upstream-service-time")[0]).toMatch(/^\d+$/);
    expect(first.responseMd.get("server")).toEqual(["envoy"]);

    const given = new grpc.Metadata();
    given.set("x-request-id", "abc-123");
    given.set("x-forwarded-for", "10.1.2.3");
    given.set("x-envoy-retry-on", "5xx");
    const second = await unaryWithHeaders(h.port, given);
    expect(second.reply.headers["x-request-id"]).toBe("abc-123");
    expect(second.reply.headers["x-forwarded-for"]).toBe("10.1.2.3");
    expect(second.reply.headers["x-envoy-retry-on"]).toBeUndefined();
  });

  it("use_remote_address: x-forwarded-for appended (the listener address for a loopback peer), edge request id replaced", async () => {
    h = await startHarness({ config: () => ({ hcm: { use_remote_address: true } }) });
    const given = new grpc.Metadata();
    given.set("x-request-id", "abc-123");
    given.set("x-forwarded-for", "10.1.2.3");
    const { reply } = await unaryWithHeaders(h.port, given);
    expect(reply.headers["x-forwarded-for"]).toBe("10.1.2.3,127.0.0.1");
    expect(reply.headers["x-request-id"]).not.toBe("abc-123");
    expect(reply.headers["x-envoy-external-address"]).toBe("127.0.0.1");

    const fresh = await unaryWithHeaders(h.port, new grpc.Metadata());
    expect(fresh.reply.headers["x-forwarded-for"]).toBe("127.0.0.1");
    expect(fresh.reply.headers["x-envoy-internal"]).toBe("true");
  });

  it("route request/response headers to add and direct responses", async () => {
    h = await startHarness({
      config: () => ({
        routes: [
          { match: { prefix: "/healthz" }, direct_response: { status: 200, body: { inline_string: "ok" } } },
          {
            match: { prefix: "/" },
            route: { cluster: "backend" },
            request_headers_to_add: [{ header: { key: "x-added", value: "yes" } }],
            response_headers_to_add: [{ header: { key: "x-resp", value: "r" } }],
          },
        ],
      }),
    });
    const { reply, responseMd } = await unaryWithHeaders(h.port, new grpc.Metadata());
    expect(reply.headers["x-added"]).toBe("yes");
    expect(responseMd.get("x-resp")).toEqual(["r"]);
    const direct = await h1Request(h.port, { path: "/healthz" });
    expect(direct.status).toBe(200);
    expect(direct.body.toString()).toBe("ok");
    expect(direct.headers["content-type"]).toBe("text/plain");
    expect(h.counter("http.ingress_http.rq_direct_response")).toBe(1n);
  });

  it.each(["HTTP2", "AUTO"] as const)("codec_type %s serves prior-knowledge h2c", async (codecType) => {
    h = await startHarness({ config: () => ({ codecType }) });
    const res = await h2Request(
      h.port,
      { ":method": "POST", ":path": "/meshtest.Echo/Unary", "content-type": "application/grpc", te: "trailers" },
      grpcFrame(HI),
    );
    expect(res.headers[":status"]).toBe(200);
    expect(res.trailers["grpc-status"]).toBe("0");
  });

  it("codec_type HTTP1 serves HTTP/1.1", async () => {
    h = await startHarness({
      config: () => ({ codecType: "HTTP1", routes: [{ match: { prefix: "/" }, direct_response: { status: 202, body: { inline_string: "h1" } } }] }),
    });
    const res = await h1Request(h.port, { path: "/none", method: "GET" });
    expect(res.status).toBe(202);
    expect(res.body.toString()).toBe("h1");
    expect(res.headers["server"]).toBe("envoy");
    expect(h.counter("http.ingress_http.downstream_cx_http1_total")).toBe(1n);
  });
});
void EchoService;
