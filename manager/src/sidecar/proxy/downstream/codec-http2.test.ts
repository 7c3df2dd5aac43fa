/** The downstream HTTP/2 adapter: what the connection manager receives from a raw client. */
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { CLIENT_PREFACE, Flags, FrameType, frame, settingsFrame } from "../../http/h2/frames.ts";
import { HpackEncoder } from "../../http/h2/hpack/encoder.ts";
import type { CodecStream } from "./codec.ts";
import { serveHttp2 } from "./codec-http2.ts";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

async function firstStream(headers: string[]): Promise<CodecStream> {
  let got!: (s: CodecStream) => void;
  const stream = new Promise<CodecStream>((r) => (got = r));
  const connection = { id: 1, remote: { address: "127.0.0.1", port: 1 }, local: { address: "127.0.0.1", port: 2 } };
  const srv = net.createServer((sock) => {
    sock.on("error", () => {});
    serveHttp2(sock, got, connection);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const client = net.connect((srv.address() as net.AddressInfo).port, "127.0.0.1");
  client.on("error", () => {});
  cleanups.push(() => {
    client.destroy();
    srv.close();
  });
  client.write(Buffer.concat([CLIENT_PREFACE, settingsFrame([]), frame(FrameType.HEADERS, Flags.END_HEADERS | Flags.END_STREAM, 1, new HpackEncoder().encode(headers))]));
  return stream;
}

describe("downstream HTTP/2 codec", () => {
  it("joins cookie crumbs into one cookie header with '; ' (RFC 9113 §8.2.3)", async () => {
    const s = await firstStream([":method", "GET", ":scheme", "http", ":path", "/", ":authority", "a", "cookie", "a=1", "x-other", "y", "cookie", "b=2"]);
    expect(s.headers.getAll("cookie")).toEqual(["a=1; b=2"]);
    expect(s.headers.get("x-other")).toBe("y");
    expect(s.endStreamOnHeaders).toBe(true);
    expect(s.protocol).toBe("HTTP/2");
  });
});
