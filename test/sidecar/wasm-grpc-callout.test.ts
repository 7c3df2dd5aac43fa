/**
 * A Wasm filter that calls a gRPC service before letting the request through, as an external
 * authorization filter does: on request headers it makes a proxy_grpc_call to the `side` cluster
 * and pauses; the answer reaches the root context (proxy_on_grpc_receive), which makes the stream
 * effective, adds a request header carrying the size of the answer and resumes the stream.
 * Real grpc-js services on both sides of the sidecar.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createDemoClients, startDemoBackend, type DemoBackend } from "../../manager/src/demo/services/index.ts";
import { startSidecar, type Sidecar } from "../../manager/src/sidecar/proxy/sidecar.ts";
import { envoyConfig, wasmFilter, writeEnvoyConfig, type WrittenConfig } from "../support/envoy-config.ts";
import { Guest } from "../conformance/guest.ts";

// EchoRequest { message: "probe" }: field 1, length 5.
const ECHO_REQUEST = new Uint8Array([0x0a, 0x05, ...new TextEncoder().encode("probe")]);
const TOKEN = 2048; // out-parameter of proxy_grpc_call
const STREAMS = 3072; // stream context id of each call at STREAMS + 4 * token (tokens 5, 9, 13, ...: below the heap at 4096)

function calloutGuest(): Guest {
  const g = new Guest();
  g.on(
    "proxy_on_request_headers",
    [
      `(drop ${g.hc("proxy_grpc_call", g.str("side"), g.str("meshwasm.demo.v1.Echo"), g.str("Unary"), "(i32.const 0) (i32.const 0)", g.bytes(ECHO_REQUEST), 2000, TOKEN)})`,
      `(i32.store (i32.add (i32.const ${STREAMS}) (i32.shl (i32.load (i32.const ${TOKEN})) (i32.const 2))) (local.get $a0))`,
    ].join("\n"),
    "(i32.const 1)", // StopIteration until the answer arrives
  );
  g.raw(`(func (export "proxy_on_grpc_receive") (param $r i32) (param $t i32) (param $size i32)
    (drop ${g.hc("proxy_set_effective_context", `(i32.load (i32.add (i32.const ${STREAMS}) (i32.shl (local.get $t) (i32.const 2))))`)})
    (drop ${g.hc("proxy_add_header_map_value", 0, g.str("x-callout"), g.str("answered"))})
    (drop ${g.hc("proxy_continue_stream", 0)}))`);
  g.raw(`(func (export "proxy_on_grpc_close") (param $r i32) (param $t i32) (param $status i32)
    (drop ${g.hc("proxy_set_effective_context", `(i32.load (i32.add (i32.const ${STREAMS}) (i32.shl (local.get $t) (i32.const 2))))`)})
    (drop ${g.hc("proxy_send_local_response", 403, g.str("callout_failed"), g.str("callout failed"), "(i32.const 0) (i32.const 0)", 7)}))`);
  return g;
}

let backends: DemoBackend[] = [];
let sidecar: Sidecar | undefined;
let written: WrittenConfig | undefined;
afterEach(async () => {
  await sidecar?.stop();
  sidecar = undefined;
  await Promise.all(backends.map((b) => b.stop()));
  backends = [];
  await written?.cleanup();
});

async function start(sidePort: number): Promise<ReturnType<typeof createDemoClients>> {
  const config = envoyConfig({
    clusters: [
      { name: "backend", ports: [backends[0]!.port] },
      { name: "side", ports: [sidePort] },
    ],
    httpFilters: [wasmFilter({ name: "callout", filename: "callout.wasm" })],
  });
  written = await writeEnvoyConfig(config, { "callout.wasm": await calloutGuest().build() });
  sidecar = await startSidecar({ configPath: written.path });
  return createDemoClients(`127.0.0.1:${sidecar.listeners[0]!.port}`);
}

describe("a Wasm filter with a gRPC callout in the sidecar", () => {
  it("pauses each request for a gRPC call to another cluster and resumes it with the answer", async () => {
    backends = [await startDemoBackend({ name: "backend" }), await startDemoBackend({ name: "side" })];
    const clients = await start(backends[1]!.port);
    try {
      const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => clients.unary({ message: `rpc-${i}` })));
      for (const r of replies) {
        expect(r.servedBy).toBe("backend");
        expect(r.receivedMetadata["x-callout"]).toBe("answered");
      }
      expect(backends[1]!.calls.get("Echo/Unary")).toBe(10);
    } finally {
      clients.close();
    }
  });

  it("answers PERMISSION_DENIED when the callout fails (its cluster refuses connections)", async () => {
    backends = [await startDemoBackend({ name: "backend" })];
    const clients = await start(1);
    try {
      await expect(clients.unary({ message: "x" })).rejects.toMatchObject({ code: 7 });
      expect(backends[0]!.totalCalls()).toBe(0);
    } finally {
      clients.close();
    }
  });
});
