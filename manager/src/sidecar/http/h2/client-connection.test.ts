/**
 * The upstream HTTP/2 codec against the real thing: Node's http2 server (nghttp2) as the peer,
 * and a raw TCP peer for protocol violations.
 */
import http2 from "node:http2";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { H2ClientConnection, type H2ConnectionEvents } from "./client-connection.ts";
import type { H2ResetReason, H2StreamHandler } from "./stream.ts";
import { ErrorCode, FrameType, settingsFrame } from "./frames.ts";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

async function server(opts: http2.ServerOptions, onStream: (s: http2.ServerHttp2Stream, h: http2.IncomingHttpHeaders) => void): Promise<{ port: number; srv: http2.Http2Server }> {
  const srv = http2.createServer(opts);
  srv.on("stream", (s: http2.ServerHttp2Stream, h: http2.IncomingHttpHeaders) => {
    s.on("error", () => {}); // resets are what some tests are about
    onStream(s, h);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  cleanups.push(() => srv.close());
  return { port: (srv.address() as net.AddressInfo).port, srv };
}

interface Connected {
  conn: H2ClientConnection;
  settings: Promise<void>;
  closed: Promise<Error | undefined>;
}

function connect(port: number, localWindow = 268_435_455): Connected {
  let onSettings!: () => void;
  let onClosed!: (e?: Error) => void;
  const settings = new Promise<void>((r) => (onSettings = r));
  const closed = new Promise<Error | undefined>((r) => (onClosed = r));
  const events: H2ConnectionEvents = { onConnect() {}, onRemoteSettings: () => onSettings(), onGoaway() {}, onClose: (e) => onClosed(e) };
  const conn = new H2ClientConnection(net.connect(port, "127.0.0.1"), events, { localWindow });
  cleanups.push(() => conn.destroy());
  return { conn, settings, closed };
}

interface Response {
  headers?: Record<string, string>;
  body: Buffer;
  trailers?: Record<string, string>;
  reset?: { reason: H2ResetReason; code: number };
  ended: boolean;
}

function collect(): { handler: H2StreamHandler; done: Promise<Response> } {
  const chunks: Buffer[] = [];
  const res: Response = { body: Buffer.alloc(0), ended: false };
  let finish!: (r: Response) => void;
  const done = new Promise<Response>((r) => (finish = r));
  const obj = (l: string[]) => Object.fromEntries(l.flatMap((x, i) => (i % 2 ? [] : [[x, l[i + 1]!]])));
  const end = () => {
    res.body = Buffer.concat(chunks);
    finish(res);
  };
  const handler: H2StreamHandler = {
    onHeaders(h, es) {
      res.headers = obj(h);
      if (es) (res.ended = true), end();
    },
    onData(c, es) {
      chunks.push(Buffer.from(c));
      if (es) (res.ended = true), end();
    },
    onTrailers(t) {
      res.trailers = obj(t);
      res.ended = true;
      end();
    },
    onReset(reason, code) {
      res.reset = { reason, code };
      end();
    },
    onWritable() {},
    onClosed() {},
  };
  return { handler, done };
}

const req = (path = "/x", extra: string[] = []) => [":method", "POST", ":scheme", "http", ":path", path, ":authority", "upstream", ...extra];

describe("H2ClientConnection against Node's http2 server", () => {
  it("sends a request with a body and receives headers, DATA and trailers (a gRPC exchange)", async () => {
    const { port } = await server({}, (s, h) => {
      const body: Buffer[] = [];
      s.on("data", (c: Buffer) => body.push(c));
      s.on("end", () => {
        s.respond({ ":status": 200, "content-type": "application/grpc", "x-path": String(h[":path"]), "x-te": String(h["te"]) }, { waitForTrailers: true });
        s.on("wantTrailers", () => s.sendTrailers({ "grpc-status": "0", "grpc-message": "ok" }));
        s.end(Buffer.concat(body));
      });
    });
    const { conn, settings } = connect(port);
    await settings;
    for (let i = 0; i < 3; i++) {
      const { handler, done } = collect();
      const st = conn.request(req(`/svc/M${i}`, ["te", "trailers", "content-type", "application/grpc"]), false, handler);
      st.write(Buffer.from(`hello ${i}`), true);
      const r = await done;
      expect(r.headers).toMatchObject({ ":status": "200", "x-path": `/svc/M${i}`, "x-te": "trailers" });
      expect(r.body.toString()).toBe(`hello ${i}`);
      expect(r.trailers).toEqual({ "grpc-status": "0", "grpc-message": "ok" });
    }
    expect(conn.activeStreams).toBe(0);
  });

  it("moves 16 MiB each way through the peer's 64 KiB default windows", async () => {
    const size = 16 * 1024 * 1024;
    const { port } = await server({}, (s) => {
      let n = 0;
      s.on("data", (c: Buffer) => (n += c.length));
      s.on("end", () => {
        s.respond({ ":status": 200, "x-received": String(n) });
        s.end(Buffer.alloc(size, 7));
      });
    });
    const { conn, settings } = connect(port);
    await settings;
    const { handler, done } = collect();
    const st = conn.request(req(), false, handler);
    const payload = Buffer.alloc(size, 3);
    for (let off = 0; off < size; off += 1024 * 1024) st.write(payload.subarray(off, off + 1024 * 1024), off + 1024 * 1024 >= size);
    const r = await done;
    expect(r.headers?.["x-received"]).toBe(String(size));
    expect(r.body.length).toBe(size);
    expect(r.body.every((b) => b === 7)).toBe(true);
  });

  it("holds the peer back through flow control while paused, and delivers everything on resume", async () => {
    let serverDrained = false;
    let written = 0;
    const { port } = await server({}, (s) => {
      s.respond({ ":status": 200 });
      const chunk = Buffer.alloc(64 * 1024, 1);
      const pump = () => {
        while (written < 1024 * 1024) {
          written += chunk.length;
          if (!s.write(chunk)) return s.once("drain", pump);
        }
        serverDrained = true;
        s.end();
      };
      pump();
    });
    const { conn, settings } = connect(port, 65_535);
    await settings;
    const { handler, done } = collect();
    const st = conn.request(req(), true, handler);
    st.pause();
    await new Promise((r) => setTimeout(r, 200));
    expect(serverDrained).toBe(false); // our 64 KiB window stopped it
    st.resume();
    const r = await done;
    expect(r.body.length).toBe(1024 * 1024);
    expect(serverDrained).toBe(true);
  });

  it("reads padded DATA and HEADERS and a header block split over CONTINUATION frames", async () => {
    const big = "v".repeat(40_000);
    const { port } = await server({ paddingStrategy: http2.constants.PADDING_STRATEGY_MAX }, (s) => {
      s.respond({ ":status": 200, "x-big": big });
      s.end("padded body");
    });
    const { conn, settings } = connect(port);
    await settings;
    const { handler, done } = collect();
    conn.request(req(), true, handler);
    const r = await done;
    expect(r.headers?.["x-big"]).toBe(big);
    expect(r.body.toString()).toBe("padded body");
  });

  it("honours SETTINGS_MAX_CONCURRENT_STREAMS and answers PING", async () => {
    const { port, srv } = await server({ settings: { maxConcurrentStreams: 2 } }, (s) => {
      s.respond({ ":status": 204 }, { endStream: true });
    });
    let session: http2.ServerHttp2Session | undefined;
    srv.on("session", (s) => (session = s));
    const { conn, settings } = connect(port);
    await settings;
    expect(conn.remoteMaxConcurrentStreams).toBe(2);
    const rtt = await new Promise<number>((resolve, reject) => session!.ping((err, d) => (err ? reject(err) : resolve(d))));
    expect(rtt).toBeGreaterThanOrEqual(0);
  });

  it("reports RST_STREAM REFUSED_STREAM as a refused stream and other codes as a remote reset", async () => {
    const { port } = await server({}, (s, h) => {
      s.close(h[":path"] === "/refuse" ? http2.constants.NGHTTP2_REFUSED_STREAM : http2.constants.NGHTTP2_INTERNAL_ERROR);
    });
    const { conn, settings } = connect(port);
    await settings;
    const a = collect();
    conn.request(req("/refuse"), true, a.handler);
    const b = collect();
    conn.request(req("/fail"), true, b.handler);
    expect((await a.done).reset).toEqual({ reason: "remote refused stream reset", code: ErrorCode.REFUSED_STREAM });
    expect((await b.done).reset).toEqual({ reason: "remote reset", code: ErrorCode.INTERNAL_ERROR });
  });

  it("refuses the streams above GOAWAY's last stream id, lets the others finish, then closes", async () => {
    const held: http2.ServerHttp2Stream[] = [];
    let session: http2.ServerHttp2Session | undefined;
    const { port, srv } = await server({}, (s) => held.push(s));
    srv.on("session", (s) => (session = s));
    const { conn, settings, closed } = connect(port);
    await settings;
    const first = collect();
    conn.request(req(), true, first.handler);
    const second = collect();
    conn.request(req(), true, second.handler);
    while (held.length < 2) await new Promise((r) => setTimeout(r, 5));
    session!.goaway(http2.constants.NGHTTP2_NO_ERROR, 1);
    expect((await second.done).reset?.reason).toBe("remote refused stream reset");
    expect(conn.canOpenStream()).toBe(false);
    held[0]!.respond({ ":status": 200 }, { endStream: true });
    expect((await first.done).headers?.[":status"]).toBe("200");
    expect(await closed).toBeUndefined();
  });

  it("resets open streams with 'connection termination' when the connection drops", async () => {
    const sockets: net.Socket[] = [];
    const { port, srv } = await server({}, () => sockets.forEach((x) => x.destroy()));
    srv.on("connection", (sock: net.Socket) => sockets.push(sock));
    const { conn, settings, closed } = connect(port);
    await settings;
    const a = collect();
    conn.request(req(), true, a.handler);
    expect((await a.done).reset?.reason).toBe("connection termination");
    expect(await closed).toBeUndefined();
  });

  it("reports a refused connection as a connect error", async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const { closed } = connect(port);
    const err = await closed;
    expect((err as NodeJS.ErrnoException).code).toBe("ECONNREFUSED");
  });
});

describe("H2ClientConnection against a peer that breaks the protocol", () => {
  async function rawPeer(reply: (sock: net.Socket) => void): Promise<{ port: number; received: Promise<Buffer> }> {
    let resolve!: (b: Buffer) => void;
    const received = new Promise<Buffer>((r) => (resolve = r));
    const srv = net.createServer((sock) => {
      const got: Buffer[] = [];
      sock.on("data", (d) => got.push(d));
      sock.on("close", () => resolve(Buffer.concat(got)));
      sock.on("error", () => {});
      reply(sock);
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    cleanups.push(() => srv.close());
    return { port: (srv.address() as net.AddressInfo).port, received };
  }

  /** The GOAWAY error code in what the client sent, if any. */
  function goawayCode(bytes: Buffer): number | undefined {
    let off = 24; // client preface
    while (off + 9 <= bytes.length) {
      const len = bytes.readUIntBE(off, 3);
      if (bytes[off + 3] === FrameType.GOAWAY) return bytes.readUInt32BE(off + 9 + 4);
      off += 9 + len;
    }
    return undefined;
  }

  const cases: Array<[string, Buffer, number]> = [
    ["DATA on stream 0", Buffer.from([0, 0, 1, FrameType.DATA, 0, 0, 0, 0, 0, 0x61]), ErrorCode.PROTOCOL_ERROR],
    ["a frame above SETTINGS_MAX_FRAME_SIZE", Buffer.from([0x01, 0x00, 0x00, FrameType.DATA, 0, 0, 0, 0, 1]), ErrorCode.FRAME_SIZE_ERROR],
    ["PUSH_PROMISE with push disabled", Buffer.from([0, 0, 4, FrameType.PUSH_PROMISE, 4, 0, 0, 0, 1, 0, 0, 0, 2]), ErrorCode.PROTOCOL_ERROR],
    ["an undecodable header block", Buffer.from([0, 0, 1, FrameType.HEADERS, 5, 0, 0, 0, 1, 0x80]), ErrorCode.COMPRESSION_ERROR],
    ["a PING of the wrong size", Buffer.from([0, 0, 1, FrameType.PING, 0, 0, 0, 0, 0, 0]), ErrorCode.FRAME_SIZE_ERROR],
  ];
  for (const [what, bytes, code] of cases) {
    it(`answers ${what} with GOAWAY and resets the open stream with "protocol error"`, async () => {
      const { port, received } = await rawPeer((sock) => {
        sock.write(settingsFrame([]));
        sock.once("data", () => setTimeout(() => sock.write(bytes), 20));
      });
      const { conn, settings, closed } = connect(port);
      await settings;
      const a = collect();
      conn.request(req(), true, a.handler);
      expect((await a.done).reset?.reason).toBe("protocol error");
      await closed;
      expect(goawayCode(await received)).toBe(code);
    });
  }

  it("rejects a server whose first frame is not SETTINGS", async () => {
    const { port, received } = await rawPeer((sock) => sock.write(Buffer.from([0, 0, 8, FrameType.PING, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8])));
    const { closed } = connect(port);
    expect(await closed).toBeUndefined();
    expect(goawayCode(await received)).toBe(ErrorCode.PROTOCOL_ERROR);
  });
});
