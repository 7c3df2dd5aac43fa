/**
 * Request trailers after a large body, through the sidecar to an HTTP/2 upstream whose flow
 * control window (64 KiB, Node's default) makes the sidecar stop reading the downstream: the
 * trailers arrive while body data is still buffered, and must reach the upstream after all of it.
 */
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { startSidecar, type Sidecar } from "../../manager/src/sidecar/proxy/sidecar.ts";
import { envoyConfig, writeEnvoyConfig, type WrittenConfig } from "../support/envoy-config.ts";

const BODY_BYTES = 4 * 1024 * 1024;

let upstream: http2.Http2Server | undefined;
let sidecar: Sidecar | undefined;
let written: WrittenConfig | undefined;
afterEach(async () => {
  await sidecar?.stop();
  await new Promise<void>((r) => (upstream ? upstream.close(() => r()) : r()));
  await written?.cleanup();
});

/** Counts the body it reads (slowly) and answers with the count and the trailer it saw. */
async function startSlowUpstream(): Promise<number> {
  upstream = http2.createServer();
  upstream.on("stream", (stream) => {
    let bytes = 0;
    let trailer = "(none)";
    stream.on("trailers", (t) => {
      trailer = String(t["x-checksum"]);
    });
    stream.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
      stream.pause();
      setTimeout(() => stream.resume(), 1);
    });
    stream.on("end", () => {
      stream.respond({ ":status": 200, "x-bytes": String(bytes), "x-trailer": trailer }, { endStream: true });
    });
  });
  await new Promise<void>((r) => upstream!.listen(0, "127.0.0.1", () => r()));
  return (upstream.address() as AddressInfo).port;
}

describe("request trailers under backpressure", () => {
  it("reach the upstream after the whole body", async () => {
    const port = await startSlowUpstream();
    written = await writeEnvoyConfig(envoyConfig({ clusters: [{ name: "backend", ports: [port] }] }));
    sidecar = await startSidecar({ configPath: written.path });
    const client = http2.connect(`http://127.0.0.1:${sidecar.listeners[0]!.port}`);
    try {
      const headers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
        const req = client.request({ ":method": "POST", ":path": "/upload" }, { waitForTrailers: true });
        req.on("wantTrailers", () => req.sendTrailers({ "x-checksum": "abc123" }));
        req.on("response", resolve);
        req.on("error", reject);
        req.resume();
        req.end(Buffer.alloc(BODY_BYTES, 7));
      });
      expect(headers[":status"]).toBe(200);
      expect(headers["x-trailer"]).toBe("abc123");
      expect(Number(headers["x-bytes"])).toBe(BODY_BYTES);
    } finally {
      client.close();
    }
  }, 30_000);
});
