/**
 * Envoy's HTTP/2 codec stats through the whole sidecar: http2.* for downstream connections,
 * cluster.<name>.http2.* for upstream ones, and the connection managers' protocol-error counters.
 * Misbehaving clients are raw sockets writing hand-built frames.
 */
import http2 from "node:http2";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { CLIENT_PREFACE, ErrorCode, Flags, FrameType, frame, rstStreamFrame, settingsFrame } from "../../manager/src/sidecar/http/h2/frames.ts";
import { HpackEncoder } from "../../manager/src/sidecar/http/h2/hpack/encoder.ts";
import { startHarness, type Harness } from "../support/sidecar-harness.ts";
import { h2RequestOn } from "../support/h2-client.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const ECHO = "/meshtest.Echo/Unary";

/** A raw client: preface + SETTINGS, then `frames`; resolves with everything the sidecar sent once it closes or after `ms`. */
function rawExchange(port: number, frames: (enc: HpackEncoder) => Buffer[], ms = 300): Promise<Buffer> {
  return new Promise((resolve) => {
    const got: Buffer[] = [];
    const sock = net.connect(port, "127.0.0.1", () => {
      const enc = new HpackEncoder();
      sock.write(Buffer.concat([CLIENT_PREFACE, settingsFrame([]), ...frames(enc)]));
    });
    sock.on("data", (d) => got.push(d));
    sock.on("error", () => {});
    const done = () => resolve(Buffer.concat(got));
    sock.on("close", done);
    setTimeout(() => {
      sock.destroy();
      done();
    }, ms);
  });
}

/** [type, streamId, errorCode?] of each frame in `bytes`. */
function framesOf(bytes: Buffer): Array<{ type: number; id: number; code?: number }> {
  const out: Array<{ type: number; id: number; code?: number }> = [];
  for (let off = 0; off + 9 <= bytes.length; ) {
    const len = bytes.readUIntBE(off, 3);
    const type = bytes[off + 3]!;
    const id = bytes.readUInt32BE(off + 5) & 0x7fffffff;
    const code = type === FrameType.RST_STREAM ? bytes.readUInt32BE(off + 9) : type === FrameType.GOAWAY ? bytes.readUInt32BE(off + 13) : undefined;
    out.push({ type, id, code });
    off += 9 + len;
  }
  return out;
}

const request = (path = ECHO) => [":method", "POST", ":scheme", "http", ":path", path, ":authority", "svc", "content-type", "application/grpc"];

describe("HTTP/2 codec stats", () => {
  it("counts a malformed request as rx_messaging_error and tx_reset; the filters never see it", async () => {
    h = await startHarness();
    const bytes = await rawExchange(h.port, (enc) => [
      frame(FrameType.HEADERS, Flags.END_HEADERS | Flags.END_STREAM, 1, enc.encode([...request(), "X-Upper", "1"])),
    ]);
    expect(framesOf(bytes)).toContainEqual({ type: FrameType.RST_STREAM, id: 1, code: ErrorCode.PROTOCOL_ERROR });
    expect(h.counter("http2.rx_messaging_error")).toBe(1n);
    expect(h.counter("http2.tx_reset")).toBe(1n);
    expect(h.counter("http.ingress_http.downstream_rq_total")).toBe(0n);
  });

  it("counts the client's RST_STREAM as rx_reset and request trailers as trailers", async () => {
    h = await startHarness();
    await rawExchange(h.port, (enc) => [
      frame(FrameType.HEADERS, Flags.END_HEADERS, 1, enc.encode(request())),
      rstStreamFrame(1, ErrorCode.CANCEL),
    ]);
    expect(h.counter("http2.rx_reset")).toBe(1n);

    const session = http2.connect(`http://127.0.0.1:${h.port}`);
    try {
      const res = await h2RequestOn(session, { ":method": "POST", ":path": "/any", "content-type": "text/plain" }, "body", { trailers: { "x-t": "1" } });
      expect(res.headers[":status"]).toBeDefined();
    } finally {
      session.close();
    }
    expect(h.counter("http2.trailers")).toBe(1n);
  });

  it("closes a connection with a bad preface and counts downstream_cx_protocol_error", async () => {
    h = await startHarness({ edit: (b) => setCodec(b, "HTTP2") });
    const got: Buffer[] = [];
    await new Promise<void>((resolve) => {
      const sock = net.connect(h!.port, "127.0.0.1", () => sock.write("GET / HTTP/1.1\r\nhost: x\r\n\r\n"));
      sock.on("data", (d) => got.push(d));
      sock.on("close", () => resolve());
      sock.on("error", () => {});
    });
    const goaway = framesOf(Buffer.concat(got)).find((f) => f.type === FrameType.GOAWAY);
    expect(goaway?.code).toBe(ErrorCode.PROTOCOL_ERROR);
    expect(h.counter("http.ingress_http.downstream_cx_protocol_error")).toBe(1n);
  });

  it("charges the upstream codec's stats under cluster.<name>.http2 and brings streams_active back to 0", async () => {
    h = await startHarness();
    const session = http2.connect(`http://127.0.0.1:${h.port}`);
    try {
      for (let i = 0; i < 3; i++) {
        const res = await h2RequestOn(session, { ":method": "POST", ":path": ECHO, "content-type": "application/grpc", te: "trailers" }, Buffer.from([0, 0, 0, 0, 0]));
        expect(res.headers[":status"]).toBe(200);
      }
    } finally {
      session.close();
    }
    expect(h.counter("cluster.backend.http2.trailers")).toBe(3n); // grpc-status trailers from the backend
    expect(h.counter("cluster.backend.http2.streams_active")).toBe(0n);
    expect(h.counter("cluster.backend.http2.pending_send_bytes")).toBe(0n);
    expect(h.counter("http2.streams_active")).toBe(0n);
  });
});

/** Sets the HTTP connection manager's codec_type in a generated bootstrap. */
function setCodec(bootstrap: Record<string, unknown>, codec: string): void {
  const listeners = (bootstrap["static_resources"] as { listeners: Array<Record<string, unknown>> }).listeners;
  const filters = (listeners[0]!["filter_chains"] as Array<{ filters: Array<{ typed_config: Record<string, unknown> }> }>)[0]!.filters;
  filters[0]!.typed_config["codec_type"] = codec;
}
