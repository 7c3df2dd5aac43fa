/**
 * The downstream HTTP/2 codec against a raw TCP client writing hand-built frames: malformed
 * requests (stream errors), protocol violations (connection errors), refused streams, floods,
 * and the frame forms Node's client does not send. What the server answers is read off the wire.
 */
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { H2ServerOptions } from "./server-connection.ts";
import { serveH2, until, type ServedConnections } from "./testing.ts";
import type { H2ResetReason, H2Stream } from "./stream.ts";
import { CLIENT_PREFACE, ErrorCode, Flags, FrameReader, FrameType, frame, rstStreamFrame, settingsFrame, windowUpdateFrame } from "./frames.ts";
import { HpackDecoder } from "./hpack/decoder.ts";
import { HpackEncoder } from "./hpack/encoder.ts";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const get = (list: readonly string[], name: string) => {
  for (let i = 0; i < list.length; i += 2) if (list[i] === name) return list[i + 1];
  return undefined;
};

/** What the server's onStream saw of one stream. */
interface Seen {
  stream: H2Stream;
  headers: string[];
  body: string;
  ended: boolean;
  reset?: { reason: H2ResetReason; code: number };
}

interface Served extends ServedConnections {
  streams: Seen[];
}

/** By default a stream is answered with 200 once its request is complete. */
type Answer = (seen: Seen) => void;
const answer200: Answer = (s) => s.stream.sendHeaders([":status", "200"], true);

async function serve(opts: Partial<H2ServerOptions> = {}, onComplete: Answer = answer200): Promise<Served> {
  const streams: Seen[] = [];
  const onStream = (stream: H2Stream, headers: string[], endStream: boolean) => {
    const seen: Seen = { stream, headers, body: "", ended: endStream };
    streams.push(seen);
    stream.handler = {
      onHeaders() {},
      onData(chunk, end) {
        seen.body += chunk.toString("latin1");
        if (end) (seen.ended = true), onComplete(seen);
      },
      onTrailers() {
        seen.ended = true;
        onComplete(seen);
      },
      onReset: (reason, code) => (seen.reset = { reason, code }),
      onWritable() {},
      onClosed() {},
    };
    stream.resume();
    if (endStream) onComplete(seen);
  };
  const served: Served = Object.assign(await serveH2(onStream, opts), { streams });
  cleanups.push(served.close);
  return served;
}

interface Frame {
  type: number;
  flags: number;
  id: number;
  payload: Buffer;
}

/** A TCP client that writes what it is told and parses what the server sends. */
class RawClient {
  readonly sock: net.Socket;
  readonly frames: Frame[] = [];
  /** Decoded header blocks the server sent, per stream. */
  readonly headers = new Map<number, string[]>();
  closed = false;
  readonly encoder = new HpackEncoder();
  private readonly decoder = new HpackDecoder();
  private block?: Buffer[];

  constructor(port: number, read = true) {
    this.sock = net.connect(port, "127.0.0.1");
    this.sock.on("error", () => {});
    this.sock.on("close", () => (this.closed = true));
    const reader = new FrameReader(16_777_215, (type, flags, id, payload) => this.onFrame({ type, flags, id, payload: Buffer.from(payload) }));
    if (read) this.sock.on("data", (c: Buffer) => reader.push(c));
    cleanups.push(() => this.sock.destroy());
  }

  private onFrame(f: Frame): void {
    this.frames.push(f);
    if (f.type === FrameType.HEADERS) this.block = [];
    if (f.type !== FrameType.HEADERS && f.type !== FrameType.CONTINUATION) return;
    this.block!.push(f.payload);
    if (f.flags & Flags.END_HEADERS) this.headers.set(f.id, this.decoder.decode(Buffer.concat(this.block!)));
  }

  send(...bufs: Buffer[]): void {
    this.sock.write(Buffer.concat(bufs));
  }

  /** The client preface and an empty SETTINGS. */
  start(): void {
    this.send(CLIENT_PREFACE, settingsFrame([]));
  }

  headersFrame(id: number, list: string[], flags: number = Flags.END_HEADERS | Flags.END_STREAM): Buffer {
    return frame(FrameType.HEADERS, flags, id, this.encoder.encode(list));
  }

  goaway(): { lastStreamId: number; code: number } | undefined {
    const f = this.frames.find((x) => x.type === FrameType.GOAWAY);
    return f && { lastStreamId: f.payload.readUInt32BE(0), code: f.payload.readUInt32BE(4) };
  }

  rst(id: number): number | undefined {
    return this.frames.find((x) => x.type === FrameType.RST_STREAM && x.id === id)?.payload.readUInt32BE(0);
  }

  status(id: number): string | undefined {
    const h = this.headers.get(id);
    return h && get(h, ":status");
  }
}

const req = (path = "/", extra: string[] = [], method = "GET") => [":method", method, ":scheme", "http", ":path", path, ":authority", "sidecar", ...extra];
const data = (id: number, body: string | Buffer, flags = 0) => frame(FrameType.DATA, flags, id, Buffer.from(body));
const paths = (served: Served) => served.streams.map((s) => get(s.headers, ":path"));

/** The request on stream 3 is served: the connection survived what happened on stream 1. */
async function expectStillServing(raw: RawClient, served: Served): Promise<void> {
  raw.send(raw.headersFrame(3, req("/ok")));
  await until(() => raw.status(3) !== undefined, "the response on stream 3");
  expect(raw.status(3)).toBe("200");
  expect(raw.goaway()).toBeUndefined();
  expect(served.closes).toBe(0);
}

describe("H2ServerConnection and its own faults", () => {
  it("closes only the connection whose handler threw, with GOAWAY INTERNAL_ERROR, and keeps serving others", async () => {
    const served = await serve({}, (seen) => {
      if (seen.headers.includes("/boom")) throw new Error("a bug in the stream's handler");
      seen.stream.sendHeaders([":status", "200"], true);
    });
    const warned = new Promise<Error>((r) => process.once("warning", r));
    const bad = new RawClient(served.port);
    bad.start();
    bad.send(bad.headersFrame(1, req("/boom")));
    await until(() => bad.closed, "the faulty connection to close");
    expect(bad.goaway()?.code).toBe(ErrorCode.INTERNAL_ERROR);
    expect((await warned).message).toContain("a bug in the stream's handler");
    const good = new RawClient(served.port);
    good.start();
    good.send(good.headersFrame(1, req("/fine")));
    await until(() => good.headers.has(1), "the other connection's response");
    expect(get(good.headers.get(1)!, ":status")).toBe("200");
  });
});

describe("H2ServerConnection refuses streams", () => {
  it("beyond SETTINGS_MAX_CONCURRENT_STREAMS with REFUSED_STREAM, before onStream", async () => {
    const served = await serve({ maxConcurrentStreams: 2 });
    const raw = new RawClient(served.port);
    raw.start();
    const open = Flags.END_HEADERS;
    raw.send(raw.headersFrame(1, req("/a", [], "POST"), open), raw.headersFrame(3, req("/b", [], "POST"), open), raw.headersFrame(5, req("/c")));
    await until(() => raw.rst(5) !== undefined, "RST_STREAM on stream 5");
    expect(raw.rst(5)).toBe(ErrorCode.REFUSED_STREAM);
    expect(paths(served)).toEqual(["/a", "/b"]);
    // Once a stream completes, there is room again.
    raw.send(data(1, "x", Flags.END_STREAM), raw.headersFrame(7, req("/d")));
    await until(() => raw.status(7) !== undefined, "the response on stream 7");
    expect(raw.status(1)).toBe("200");
    expect(paths(served)).toEqual(["/a", "/b", "/d"]);
    expect(raw.rst(1)).toBeUndefined();
    expect(raw.rst(3)).toBeUndefined();
  });
});

describe("H2ServerConnection resets a malformed request with PROTOCOL_ERROR (§8.1.1, §8.3.1)", () => {
  const cases: Array<[string, string[]]> = [
    ["without :method", [":scheme", "http", ":path", "/", ":authority", "a"]],
    ["without :path", [":method", "GET", ":scheme", "http", ":authority", "a"]],
    ["without :scheme", [":method", "GET", ":path", "/", ":authority", "a"]],
    ["with an empty :path", [":method", "GET", ":scheme", "http", ":path", "", ":authority", "a"]],
    ["with an unknown pseudo-header", [":method", "GET", ":scheme", "http", ":path", "/", ":foo", "bar"]],
    ["with a pseudo-header after a regular header", [":method", "GET", ":scheme", "http", "x-a", "1", ":path", "/"]],
    ["with an uppercase header name", req("/", ["X-Foo", "1"])],
    ["with connection: keep-alive", req("/", ["connection", "keep-alive"])],
    ["with transfer-encoding", req("/", ["transfer-encoding", "chunked"])],
    ["with te: gzip", req("/", ["te", "gzip"])],
    ["with a duplicate :method", [":method", "GET", ":method", "GET", ":scheme", "http", ":path", "/"]],
    ["with a CR in a value", req("/", ["x-a", "1\r2"])],
    ["with a content-length that is not a number", req("/", ["content-length", "-1"])],
    ["ending on its headers although its content-length is 5", req("/", ["content-length", "5"])],
  ];
  for (const [what, list] of cases) {
    it(`${what}, on that stream only and before onStream`, async () => {
      const served = await serve();
      const raw = new RawClient(served.port);
      raw.start();
      raw.send(raw.headersFrame(1, list));
      await expectStillServing(raw, served);
      expect(raw.rst(1)).toBe(ErrorCode.PROTOCOL_ERROR);
      expect(paths(served)).toEqual(["/ok"]);
    });
  }

  const bodies: Array<[string, Buffer[]]> = [
    ["DATA short of its content-length", [data(1, "hello", Flags.END_STREAM)]],
    ["DATA beyond its content-length", [data(1, "hello world")]],
    ["trailers before its content-length is reached", [data(1, "hello"), frame(FrameType.HEADERS, Flags.END_HEADERS | Flags.END_STREAM, 1, new HpackEncoder().encode(["x-t", "1"]))]],
  ];
  for (const [what, frames] of bodies) {
    it(`with ${what}, after onStream: the handler sees "protocol error"`, async () => {
      const served = await serve();
      const raw = new RawClient(served.port);
      raw.start();
      raw.send(raw.headersFrame(1, req("/upload", ["content-length", "10"], "POST"), Flags.END_HEADERS), ...frames);
      await until(() => raw.rst(1) !== undefined, "RST_STREAM on stream 1");
      expect(raw.rst(1)).toBe(ErrorCode.PROTOCOL_ERROR);
      expect(served.streams[0]!.reset).toEqual({ reason: "protocol error", code: ErrorCode.PROTOCOL_ERROR });
      await expectStillServing(raw, served);
    });
  }

  it("above maxHeaderListBytes with INTERNAL_ERROR (Envoy's header overflow)", async () => {
    const served = await serve({ maxHeaderListBytes: 4096 });
    const raw = new RawClient(served.port);
    raw.start();
    raw.send(raw.headersFrame(1, req("/", ["x-big", "b".repeat(5000)])));
    await expectStillServing(raw, served);
    expect(raw.rst(1)).toBe(ErrorCode.INTERNAL_ERROR);
    expect(paths(served)).toEqual(["/ok"]);
  });
});

describe("H2ServerConnection answers a connection error with GOAWAY and closes (§5.4.1)", () => {
  const block = new HpackEncoder().encode(req());
  const open = (raw: RawClient) => raw.headersFrame(1, req("/open", [], "POST"), Flags.END_HEADERS);
  const cases: Array<[string, (raw: RawClient) => Buffer[], number]> = [
    ["a wrong client preface (HTTP/1.1)", () => [Buffer.from("GET / HTTP/1.1\r\nHost: a\r\n\r\n")], ErrorCode.PROTOCOL_ERROR],
    ["a first frame other than SETTINGS", () => [CLIENT_PREFACE, frame(FrameType.PING, 0, 0, Buffer.alloc(8))], ErrorCode.PROTOCOL_ERROR],
    ["HEADERS on an even stream id", (raw) => [CLIENT_PREFACE, settingsFrame([]), raw.headersFrame(2, req())], ErrorCode.PROTOCOL_ERROR],
    ["DATA on an idle stream", () => [CLIENT_PREFACE, settingsFrame([]), data(5, "x")], ErrorCode.PROTOCOL_ERROR],
    ["a frame above 16384 bytes", () => [CLIENT_PREFACE, settingsFrame([]), data(1, Buffer.alloc(16_385))], ErrorCode.FRAME_SIZE_ERROR],
    ["an undecodable HPACK block", () => [CLIENT_PREFACE, settingsFrame([]), frame(FrameType.HEADERS, Flags.END_HEADERS | Flags.END_STREAM, 1, Buffer.from([0x80]))], ErrorCode.COMPRESSION_ERROR],
    ["two empty DATA frames in a row without END_STREAM", (raw) => [CLIENT_PREFACE, settingsFrame([]), open(raw), data(1, ""), data(1, "")], ErrorCode.ENHANCE_YOUR_CALM],
    ["a WINDOW_UPDATE that overflows the connection window", () => [CLIENT_PREFACE, settingsFrame([]), windowUpdateFrame(0, 2 ** 31 - 1)], ErrorCode.FLOW_CONTROL_ERROR],
    ["a CONTINUATION without HEADERS", () => [CLIENT_PREFACE, settingsFrame([]), frame(FrameType.CONTINUATION, Flags.END_HEADERS, 1, block)], ErrorCode.PROTOCOL_ERROR],
    ["a header block interrupted by another frame", () => [CLIENT_PREFACE, settingsFrame([]), frame(FrameType.HEADERS, Flags.END_STREAM, 1, block), frame(FrameType.PING, 0, 0, Buffer.alloc(8))], ErrorCode.PROTOCOL_ERROR],
    ["a PUSH_PROMISE", (raw) => [CLIENT_PREFACE, settingsFrame([]), open(raw), frame(FrameType.PUSH_PROMISE, Flags.END_HEADERS, 1, Buffer.concat([Buffer.from([0, 0, 0, 2]), block]))], ErrorCode.PROTOCOL_ERROR],
    ["SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1", () => [CLIENT_PREFACE, settingsFrame([[4, 2 ** 31]])], ErrorCode.FLOW_CONTROL_ERROR],
  ];
  for (const [what, bytes, code] of cases) {
    it(`for ${what}`, async () => {
      const served = await serve();
      const raw = new RawClient(served.port);
      raw.send(...bytes(raw));
      await until(() => raw.closed, "the connection to close");
      expect(raw.goaway()?.code).toBe(code);
      expect(served.closes).toBe(1);
      // A stream that was open is reset with "protocol error".
      for (const s of served.streams) expect(s.reset).toEqual({ reason: "protocol error", code });
    });
  }
});

describe("H2ServerConnection against rapid reset (CVE-2023-44487)", () => {
  it("closes with ENHANCE_YOUR_CALM a client that resets most of 600 streams right after opening them", async () => {
    const served = await serve({}, () => {}); // never answers
    const raw = new RawClient(served.port);
    raw.start();
    const burst: Buffer[] = [];
    for (let i = 0; i < 600; i++) burst.push(raw.headersFrame(2 * i + 1, req(`/${i}`)), rstStreamFrame(2 * i + 1, ErrorCode.CANCEL));
    raw.send(...burst);
    await until(() => raw.closed, "the connection to close");
    expect(raw.goaway()?.code).toBe(ErrorCode.ENHANCE_YOUR_CALM);
    expect(served.streams.length).toBe(500);
    // The 500th reset trips the limit: its stream goes down with the connection.
    expect(served.streams.slice(0, 499).every((s) => s.reset?.reason === "remote reset")).toBe(true);
    expect(served.streams[499]!.reset).toEqual({ reason: "protocol error", code: ErrorCode.ENHANCE_YOUR_CALM });
  });

  it("keeps serving a client that cancels 600 streams after their response headers went out", async () => {
    // Cancelling a server-streaming call after its first message is normal use, not an attack
    // (Envoy counts a reset as premature only when no response headers were sent).
    const served = await serve({}, (s) => s.stream.sendHeaders([":status", "200"], false));
    const raw = new RawClient(served.port);
    raw.start();
    raw.send(...Array.from({ length: 600 }, (_, i) => raw.headersFrame(2 * i + 1, req(`/${i}`))));
    await until(() => raw.headers.size === 600, "600 response headers");
    raw.send(...Array.from({ length: 600 }, (_, i) => rstStreamFrame(2 * i + 1, ErrorCode.CANCEL)));
    await until(() => served.streams.every((x) => x.reset !== undefined), "600 resets");
    raw.send(frame(FrameType.PING, 0, 0, Buffer.from("stillok?")));
    await until(() => raw.frames.some((f) => f.type === FrameType.PING && f.flags & Flags.ACK), "the PING ACK");
    expect(raw.goaway()).toBeUndefined();
    expect(served.closes).toBe(0);
  });

  it("keeps serving a client whose 600 streams complete", async () => {
    const served = await serve();
    const raw = new RawClient(served.port);
    raw.start();
    const burst: Buffer[] = [];
    for (let i = 0; i < 600; i++) burst.push(raw.headersFrame(2 * i + 1, req(`/${i}`)));
    raw.send(...burst);
    await until(() => raw.headers.size === 600, "600 responses");
    raw.send(frame(FrameType.PING, 0, 0, Buffer.from("stillok?")));
    await until(() => raw.frames.some((f) => f.type === FrameType.PING && f.flags & Flags.ACK), "the PING ACK");
    expect(raw.goaway()).toBeUndefined();
    expect(raw.frames.filter((f) => f.type === FrameType.RST_STREAM)).toEqual([]);
    expect(served.closes).toBe(0);
  });
});

describe("H2ServerConnection against control frame floods", () => {
  it("closes the connection of a client that sends PINGs and never reads the answers", async () => {
    // A 64 MiB response the client never reads fills the socket's buffers first: from then on the
    // peer is "not reading", and the server's output can no longer drain.
    const served = await serve({}, (s) => {
      s.stream.sendHeaders([":status", "200"], false);
      s.stream.write(Buffer.alloc(64 * 1024 * 1024), true);
    });
    const raw = new RawClient(served.port, false);
    raw.send(CLIENT_PREFACE, settingsFrame([[4, 2 ** 31 - 1]]), windowUpdateFrame(0, 2 ** 31 - 1 - 65_535), raw.headersFrame(1, req("/big")));
    await until(() => served.sockets.length === 1 && served.sockets[0]!.writableLength > 0, "the server's output to back up");
    let serverClosed = false;
    served.sockets[0]!.on("close", () => (serverClosed = true));
    const ping = frame(FrameType.PING, 0, 0, Buffer.alloc(8));
    raw.send(...Array.from({ length: 1001 }, () => ping));
    await until(() => served.closes === 1, "the flood to be detected");
    expect(served.streams[0]!.reset).toEqual({ reason: "protocol error", code: ErrorCode.ENHANCE_YOUR_CALM }); // its response was not
    await until(() => serverClosed, "the server to close the socket", 5000);
  });

  it("keeps a client that sends many PINGs and reads the answers", async () => {
    const served = await serve();
    const raw = new RawClient(served.port);
    raw.start();
    const ping = frame(FrameType.PING, 0, 0, Buffer.alloc(8));
    for (let i = 0; i < 10; i++) {
      raw.send(...Array.from({ length: 1000 }, () => ping));
      await until(() => raw.frames.filter((f) => f.type === FrameType.PING).length === 1000 * (i + 1), "the PING ACKs");
    }
    await expectStillServing(raw, served);
  });
});

describe("H2ServerConnection reads the frame forms a client may use", () => {
  it("HEADERS with padding and priority, DATA with padding, and PRIORITY frames", async () => {
    const served = await serve({}, (s) => s.stream.sendHeaders([":status", "200", "x-body", s.body], true));
    const raw = new RawClient(served.port);
    raw.start();
    const block = raw.encoder.encode(req("/padded", ["content-length", "5"], "POST"));
    const pad = 17;
    const priority = Buffer.from([0x80, 0, 0, 0, 200]); // exclusive, on stream 0, weight 201
    const headers = Buffer.concat([Buffer.from([pad]), priority, block, Buffer.alloc(pad)]);
    const body = Buffer.concat([Buffer.from([pad]), Buffer.from("hello"), Buffer.alloc(pad)]);
    raw.send(
      frame(FrameType.HEADERS, Flags.END_HEADERS | Flags.PADDED | Flags.PRIORITY, 1, headers),
      frame(FrameType.PRIORITY, 0, 1, Buffer.from([0, 0, 0, 0, 16])),
      frame(FrameType.DATA, Flags.PADDED | Flags.END_STREAM, 1, body),
    );
    await until(() => raw.status(1) !== undefined, "the response");
    expect(get(raw.headers.get(1)!, "x-body")).toBe("hello");
    expect(served.streams[0]!.headers).toEqual(req("/padded", ["content-length", "5"], "POST"));
    expect(served.streams[0]!.reset).toBeUndefined();
  });

  it("a request header block split over CONTINUATION frames", async () => {
    const served = await serve();
    const raw = new RawClient(served.port);
    raw.start();
    const list = req("/continued", ["x-big", "c".repeat(20_000), "x-after", "yes"]);
    const block = raw.encoder.encode(list);
    const a = Math.floor(block.length / 3);
    raw.send(
      frame(FrameType.HEADERS, Flags.END_STREAM, 1, block.subarray(0, a)),
      frame(FrameType.CONTINUATION, 0, 1, block.subarray(a, 2 * a)),
      frame(FrameType.CONTINUATION, Flags.END_HEADERS, 1, block.subarray(2 * a)),
    );
    await until(() => raw.status(1) !== undefined, "the response");
    expect(served.streams[0]!.headers).toEqual(list);
  });
});
