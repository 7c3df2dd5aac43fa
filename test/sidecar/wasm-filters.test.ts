import { readFile } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { echoClient, unary, type EchoReply } from "../support/grpc-echo.ts";
import { startHarness, type Harness } from "../support/sidecar-harness.ts";
import { wasmFilter } from "../support/envoy-config.ts";
import { h1Request } from "../support/h2-client.ts";
import { encodePairs } from "../../manager/src/sidecar/host/pairs.ts";
import { Guest } from "../conformance/guest.ts";

const ADD_HEADER = "build/filters/add-header.wasm";

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function unaryWithResponseMetadata(port: number) {
  const client = echoClient(port);
  let md = new grpc.Metadata();
  try {
    const reply = await new Promise<EchoReply>((resolve, reject) => {
      const call = client.Unary({ message: "w" }, new grpc.Metadata(), {}, (err, r) => (err ? reject(err) : resolve(r!)));
      call.on("metadata", (m) => (md = m));
    });
    return { reply, md };
  } finally {
    client.close();
  }
}

/** A filter that pauses the request, calls cluster "side" and resumes when the answer comes. */
function pauseAndCallGuest(): Guest {
  const g = new Guest();
  g.raw("(global $stream (mut i32) (i32.const 0))");
  const headers = encodePairs([[":method", "GET"], [":path", "/check"], [":authority", "side"]]);
  g.on(
    "proxy_on_request_headers",
    [
      "(global.set $stream (local.get $a0))",
      `(drop ${g.hc("proxy_http_call", g.str("side"), g.bytes(headers), g.str(""), g.str(""), 5000, 264)})`,
    ].join("\n"),
    "(i32.const 1)",
  );
  g.on(
    "proxy_on_http_call_response",
    [
      `(drop ${g.hc("proxy_set_effective_context", "(global.get $stream)")})`,
      `(drop ${g.hc("proxy_add_header_map_value", 0, g.str("x-called"), g.str("yes"))})`,
      `(drop ${g.hc("proxy_continue_stream", 0)})`,
    ].join("\n"),
  );
  return g;
}

function trappingGuest(): Guest {
  const g = new Guest();
  g.on("proxy_on_request_headers", "(unreachable)", "(i32.const 0)");
  return g;
}

describe("Wasm filters in the sidecar's chain", () => {
  // `npm test` builds the filters first; a missing build is a failure, not a skip.
  it("the add-header example adds request and response headers", async () => {
    const config = JSON.stringify({
      request_header_name: "x-mesh-request",
      request_header_value: "seen",
      response_header_name: "x-served-by",
      response_header_value: "meshwasm",
    });
    h = await startHarness({
      files: { "add-header.wasm": await readFile(ADD_HEADER) },
      config: () => ({ httpFilters: [wasmFilter({ name: "add-header", filename: "add-header.wasm", configuration: config })] }),
    });
    const { reply, md } = await unaryWithResponseMetadata(h.port);
    expect(reply.headers["x-mesh-request"]).toBe("seen");
    expect(md.get("x-served-by")).toEqual(["meshwasm"]);
    expect(h.counter("wasmcustom.example_requests_total")).toBe(1n);
  });

  it("a filter pauses the request, makes an http_call to a configured cluster, and resumes", async () => {
    h = await startHarness({
      backends: 2,
      files: { "pause.wasm": await pauseAndCallGuest().build() },
      config: (ports) => ({
        clusters: [
          { name: "backend", ports: [ports[0]!] },
          { name: "side", ports: [ports[1]!] },
        ],
        httpFilters: [wasmFilter({ name: "pause", filename: "pause.wasm" })],
      }),
    });
    const { reply } = await unaryWithResponseMetadata(h.port);
    expect(reply.backend).toBe("b1");
    expect(reply.headers["x-called"]).toBe("yes");
    // the side cluster saw the call (grpc-js answers a non-gRPC GET with an error, which still resumes)
    expect(h.counter("cluster.side.upstream_rq_total")).toBe(1n);
  });

  it("a trapping filter under fail_closed: 503 wasm_fail_stream, gRPC UNAVAILABLE", async () => {
    h = await startHarness({
      files: { "trap.wasm": await trappingGuest().build() },
      config: () => ({ httpFilters: [wasmFilter({ name: "trap", filename: "trap.wasm", failurePolicy: "FAIL_CLOSED" })] }),
    });
    const client = echoClient(h.port);
    const err = (await unary(client, { message: "x" }).catch((e) => e)) as grpc.ServiceError;
    client.close();
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    const plain = await h1Request(h.port, { path: "/" });
    expect(plain.status).toBe(503);
    expect(h.backends[0]!.calls.length).toBe(0);
  });

  it("a trapping filter under fail_open: the stream continues", async () => {
    h = await startHarness({
      files: { "trap.wasm": await trappingGuest().build() },
      config: () => ({ httpFilters: [wasmFilter({ name: "trap", filename: "trap.wasm", failOpen: true })] }),
    });
    const client = echoClient(h.port);
    const reply = await unary(client, { message: "x" });
    client.close();
    expect(reply.backend).toBe("b1");
  });

  it("a plugin whose on_configure returns false fails start-up with the filter's config path", async () => {
    const g = new Guest();
    g.on("proxy_on_configure", "", "(i32.const 0)");
    await expect(
      startHarness({
        files: { "bad.wasm": await g.build() },
        config: () => ({ httpFilters: [wasmFilter({ name: "bad", filename: "bad.wasm" })] }),
      }),
    ).rejects.toThrow(/http_filters\[0\].*configure returned false/);
  });
});
