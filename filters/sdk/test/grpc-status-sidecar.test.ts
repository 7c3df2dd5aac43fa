/**
 * sendGrpcError and GrpcStreamStatus end to end: the test guest (harness/grpc-status-guest.as.ts)
 * in the sidecar's filter chain, real @grpc/grpc-js clients and backends, and raw HTTP/2 and
 * HTTP/1.1 clients that see the exact bytes Envoy would send.
 */
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileAssemblyScript } from "../../../manager/src/build/index.ts";
import { echoClient, unary } from "../../../test/support/grpc-echo.ts";
import { wasmFilter } from "../../../test/support/envoy-config.ts";
import { h1Request, h2Request } from "../../../test/support/h2-client.ts";
import { startHarness, type Harness } from "../../../test/support/sidecar-harness.ts";

let h: Harness;
beforeAll(async () => {
  const wasm = await compileAssemblyScript("filters/sdk/test/harness/grpc-status-guest.as.ts");
  h = await startHarness({
    files: { "guest.wasm": wasm },
    config: () => ({ httpFilters: [wasmFilter({ name: "status-guest", filename: "guest.wasm" })] }),
  });
});
afterAll(async () => {
  await h?.stop();
});

const metadata = (entries: Record<string, string>) => {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(entries)) md.set(k, v);
  return md;
};

describe("sendGrpcError through the sidecar", () => {
  it("a gRPC client gets the code, the exact message and the extra header; the backend is never called", async () => {
    const client = echoClient(h.port);
    try {
      const err = (await unary(client, { message: "x" }, {
        metadata: metadata({ "x-deny-code": "7", "x-deny-message": "no entry: caf%C3%A9 100%25%0A", "x-deny-extra": "1" }),
      }).catch((e: unknown) => e)) as grpc.ServiceError;
      expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(err.details).toBe("no entry: café 100%"); // the trailing newline is dropped, as Envoy does
      expect(err.metadata.get("x-denied-by")).toEqual(["guest"]);
    } finally {
      client.close();
    }
    expect(h.backends[0]!.calls.length).toBe(0);
  });

  it("on the wire: one trailers-only HEADERS frame, HTTP 200, grpc-message percent-encoded", async () => {
    const r = await h2Request(h.port, {
      ":method": "POST", ":path": "/meshtest.Echo/Unary", "content-type": "application/grpc", te: "trailers",
      "x-deny-code": "16", "x-deny-message": "token%20expired%20%E2%9C%97",
    }, Buffer.alloc(5));
    expect(r.headersOnly).toBe(true);
    expect(r.body.length).toBe(0);
    expect(r.headers[":status"]).toBe(200);
    expect(r.headers["content-type"]).toBe("application/grpc");
    expect(r.headers["grpc-status"]).toBe("16");
    expect(r.headers["grpc-message"]).toBe("token expired %E2%9C%97");
    expect(r.headers["content-length"]).toBeUndefined();
  });

  it("a plain HTTP client gets grpcToHttpStatus(code) and the message as text", async () => {
    const r = await h1Request(h.port, { path: "/", headers: { "x-deny-code": "16", "x-deny-message": "token expired" } });
    expect(r.status).toBe(401);
    expect(r.headers["content-type"]).toBe("text/plain");
    expect(r.body.toString("utf8")).toBe("token expired");
  });
});

describe("GrpcStreamStatus through the sidecar", () => {
  it("counts the final status of real RPCs: from trailers, trailers-only headers and local errors", async () => {
    const now = (name: string) => h.counter(`wasmcustom.guest_final_${name}`) ?? 0n;
    const before = { ok: now("0_1"), streamFailed: now("8_1"), unaryFailed: now("5_2"), denied: now("7_2") };
    const client = echoClient(h.port);
    try {
      await unary(client, { message: "a" });
      await unary(client, { message: "b" });
      // grpc-js answers an error without messages trailers-only: the status is in the headers.
      const err = (await unary(client, { message: "c", fail_code: 5, fail_message: "gone" }).catch((e: unknown) => e)) as grpc.ServiceError;
      expect(err.code).toBe(grpc.status.NOT_FOUND);
      // A stream that sent a message first ends with the status in trailers.
      const stream = client.ServerStream({ message: "s", count: 1, fail_code: 8, fail_message: "slow down" });
      stream.on("data", () => {});
      const streamErr = await new Promise<grpc.ServiceError>((resolve) => stream.on("error", resolve));
      expect(streamErr.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      await unary(client, { message: "d" }, { metadata: metadata({ "x-deny-code": "7" }) }).catch(() => undefined);
    } finally {
      client.close();
    }
    // onLog runs when the stream is torn down, just after the client saw its status.
    await expect.poll(() => now("7_2")).toBe(before.denied + 1n);
    expect({ ok: now("0_1"), streamFailed: now("8_1"), unaryFailed: now("5_2") })
      .toEqual({ ok: before.ok + 2n, streamFailed: before.streamFailed + 1n, unaryFailed: before.unaryFailed + 1n });
  });
});
