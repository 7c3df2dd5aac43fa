/**
 * The downstream HTTP/2 codec against a well-behaved client: Node's http2 client (nghttp2).
 * Protocol violations from a raw TCP client are in server-connection.violations.test.ts.
 */
import http2 from "node:http2";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { H2ServerOptions } from "./server-connection.ts";
import { serveH2, until, type ServedConnections } from "./testing.ts";
import type { H2ResetReason, H2Stream } from "./stream.ts";
import { ErrorCode } from "./frames.ts";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A TCP server whose connections are served by H2ServerConnection. */
async function serve(onStream: (stream: H2Stream, headers: string[], endStream: boolean) => void, opts: Partial<H2ServerOptions> = {}): Promise<ServedConnections> {
  const served = await serveH2(onStream, opts);
  cleanups.push(served.close);
  return served;
}

/** What a server stream's handler saw. */
interface Seen {
  stream: H2Stream;
  headers: string[];
  body: Buffer[];
  bodyBytes: number;
  trailers?: string[];
  reset?: { reason: H2ResetReason; code: number };
  /** The request ended (END_STREAM on headers, DATA or trailers). */
  ended: boolean;
  closed: boolean;
  /** Resolves once the request ended or the stream was reset. */
  done: Promise<void>;
  onData?: (chunk: Buffer) => void;
  onWritable?: () => void;
}

/** Claims a new stream with a recording handler; the stream stays paused. */
function take(stream: H2Stream, headers: string[], endStream: boolean, keepBody = true): Seen {
  let finish!: () => void;
  const seen: Seen = { stream, headers, body: [], bodyBytes: 0, ended: endStream, closed: false, done: new Promise<void>((r) => (finish = r)) };
  if (endStream) finish();
  stream.handler = {
    onHeaders() {
      throw new Error("a server stream gets its headers with onStream");
    },
    onData(chunk, end) {
      if (keepBody) seen.body.push(Buffer.from(chunk));
      seen.bodyBytes += chunk.length;
      seen.onData?.(chunk);
      if (end) (seen.ended = true), finish();
    },
    onTrailers(trailers) {
      seen.trailers = trailers;
      seen.ended = true;
      finish();
    },
    onReset(reason, code) {
      seen.reset = { reason, code };
      finish();
    },
    onWritable: () => seen.onWritable?.(),
    onClosed: () => (seen.closed = true),
  };
  return seen;
}

const get = (list: readonly string[], name: string) => {
  for (let i = 0; i < list.length; i += 2) if (list[i] === name) return list[i + 1];
  return undefined;
};

function connect(port: number, opts: http2.ClientSessionOptions = {}): http2.ClientHttp2Session {
  const client = http2.connect(`http://127.0.0.1:${port}`, opts);
  client.on("error", () => {});
  cleanups.push(() => client.destroy());
  return client;
}

const remoteSettings = (client: http2.ClientHttp2Session) => new Promise<http2.Settings>((r) => client.once("remoteSettings", r));

interface Answer {
  headers?: http2.IncomingHttpHeaders;
  body: Buffer;
  trailers?: http2.IncomingHttpHeaders;
  rstCode: number;
}

/** One request from the Node client; `body` undefined = END_STREAM on the headers. */
function fetch(client: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: Buffer | string, trailers?: Record<string, string>): Promise<Answer> {
  return new Promise((resolve) => {
    const req = client.request(headers, { endStream: body === undefined && !trailers, waitForTrailers: !!trailers });
    const answer: Answer = { body: Buffer.alloc(0), rstCode: 0 };
    const chunks: Buffer[] = [];
    req.on("response", (h) => (answer.headers = h));
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("trailers", (t) => (answer.trailers = t));
    req.on("error", () => {});
    req.on("close", () => {
      answer.body = Buffer.concat(chunks);
      answer.rstCode = req.rstCode ?? 0;
      resolve(answer);
    });
    if (trailers) req.on("wantTrailers", () => req.sendTrailers(trailers));
    if (body !== undefined || trailers) req.end(body);
  });
}

/** Writes `size` bytes of `fill` to `stream` as a response body, waiting for onWritable when write() says so. */
function pump(seen: Seen, size: number, fill: number, chunkSize = 256 * 1024): void {
  const chunk = Buffer.alloc(chunkSize, fill);
  let sent = 0;
  const more = () => {
    while (sent < size) {
      const n = Math.min(chunkSize, size - sent);
      sent += n;
      if (!seen.stream.write(n === chunkSize ? chunk : chunk.subarray(0, n), sent === size)) return;
    }
  };
  seen.onWritable = more;
  more();
}

describe("H2ServerConnection with Node's http2 client", () => {
  it("serves a POST with a body and trailers, and answers with headers, DATA and trailers", async () => {
    const seen: Seen[] = [];
    const { port } = await serve((stream, headers, end) => {
      const s = take(stream, headers, end);
      seen.push(s);
      void s.done.then(() => {
        stream.sendHeaders([":status", "200", "content-type", "application/grpc", "x-path", get(headers, ":path")!], false);
        stream.write(Buffer.concat(s.body), false);
        stream.sendTrailers(["grpc-status", "0", "grpc-message", "ok"]);
      });
      stream.resume();
    });
    const client = connect(port);
    for (let i = 0; i < 3; i++) {
      const a = await fetch(client, { ":method": "POST", ":path": `/svc/M${i}`, "content-type": "application/grpc", te: "trailers" }, `hello ${i}`, { "x-req-trailer": `t${i}` });
      expect(a.headers).toMatchObject({ ":status": 200, "content-type": "application/grpc", "x-path": `/svc/M${i}` });
      expect(a.body.toString()).toBe(`hello ${i}`);
      expect(a.trailers).toMatchObject({ "grpc-status": "0", "grpc-message": "ok" });
      expect(a.rstCode).toBe(ErrorCode.NO_ERROR);
      const s = seen[i]!;
      // The headers come as a flat list, pseudo-headers first.
      const pseudo = s.headers.slice(0, 8);
      expect(Object.fromEntries([0, 2, 4, 6].map((j) => [pseudo[j], pseudo[j + 1]]))).toEqual({ ":method": "POST", ":authority": `127.0.0.1:${port}`, ":scheme": "http", ":path": `/svc/M${i}` });
      expect(get(s.headers, "content-type")).toBe("application/grpc");
      expect(get(s.headers, "te")).toBe("trailers");
      expect(Buffer.concat(s.body).toString()).toBe(`hello ${i}`);
      expect(s.trailers).toEqual(["x-req-trailer", `t${i}`]);
      expect(s.reset).toBeUndefined();
      expect(s.closed).toBe(true);
    }
  });

  it("moves a 16 MiB request body and a 16 MiB response body through 64 KiB windows", async () => {
    const size = 16 * 1024 * 1024;
    let received: Seen | undefined;
    const { port } = await serve(
      (stream, headers, end) => {
        const s = take(stream, headers, end, false);
        received = s;
        let intact = true;
        s.onData = (c) => (intact &&= c.every((b) => b === 3));
        void s.done.then(() => {
          stream.sendHeaders([":status", "200", "x-received", String(s.bodyBytes), "x-intact", String(intact)], false);
          pump(s, size, 7);
        });
        stream.resume();
      },
      { localWindow: 65_535 },
    );
    const client = connect(port);
    const a = await fetch(client, { ":method": "POST", ":path": "/big" }, Buffer.alloc(size, 3));
    expect(a.headers?.["x-received"]).toBe(String(size));
    expect(a.headers?.["x-intact"]).toBe("true");
    expect(a.body.length).toBe(size);
    expect(a.body.every((b) => b === 7)).toBe(true);
    expect(received?.reset).toBeUndefined();
  });

  it("holds the client back through flow control while a stream is paused from the start, and takes everything on resume", async () => {
    let seen: Seen | undefined;
    const served = await serve(
      (stream, headers, end) => {
        seen = take(stream, headers, end, false);
        void seen.done.then(() => seen!.stream.sendHeaders([":status", "200", "x-received", String(seen!.bodyBytes)], true));
        // Not resumed: the stream stays paused.
      },
      { localWindow: 65_535 },
    );
    const client = connect(served.port);
    const answer = fetch(client, { ":method": "POST", ":path": "/upload" }, Buffer.alloc(1024 * 1024, 5));
    await until(() => seen?.stream.recvWindow === 0, "the stream window to be used up");
    const bytesRead = served.sockets[0]!.bytesRead;
    await sleep(200);
    expect(seen!.bodyBytes).toBe(0);
    expect(served.sockets[0]!.bytesRead).toBe(bytesRead); // the client waits for a WINDOW_UPDATE
    expect(bytesRead).toBeLessThan(100_000);
    seen!.stream.resume();
    const a = await answer;
    expect(a.headers?.["x-received"]).toBe(String(1024 * 1024));
  });

  it("holds the client back while a started stream is paused, and takes the rest on resume", async () => {
    let seen: Seen | undefined;
    const served = await serve(
      (stream, headers, end) => {
        seen = take(stream, headers, end, false);
        let paused = false;
        seen.onData = () => {
          if (!paused && seen!.bodyBytes >= 100_000) (paused = true), stream.pause();
        };
        void seen.done.then(() => seen!.stream.sendHeaders([":status", "200", "x-received", String(seen!.bodyBytes)], true));
        stream.resume();
      },
      { localWindow: 65_535 },
    );
    const client = connect(served.port);
    const answer = fetch(client, { ":method": "POST", ":path": "/upload" }, Buffer.alloc(1024 * 1024, 5));
    await until(() => seen?.stream.paused === true && seen.stream.recvWindow === 0, "the paused stream's window to be used up");
    const delivered = seen!.bodyBytes;
    const bytesRead = served.sockets[0]!.bytesRead;
    await sleep(200);
    expect(seen!.bodyBytes).toBe(delivered);
    expect(served.sockets[0]!.bytesRead).toBe(bytesRead);
    expect(delivered).toBeLessThan(1024 * 1024);
    seen!.stream.resume();
    const a = await answer;
    expect(a.headers?.["x-received"]).toBe(String(1024 * 1024));
  });

  it("holds a stream's send buffer to bufferLimit (per_connection_buffer_limit_bytes): write() says wait above it, onWritable below half", async () => {
    const events: string[] = [];
    const served = await serve(
      (stream) => {
        stream.handler = { onHeaders() {}, onData() {}, onTrailers() {}, onReset() {}, onWritable: () => events.push("writable"), onClosed() {} };
        stream.resume();
        stream.sendHeaders([":status", "200"], false);
        events.push(`write 600: ${stream.write(Buffer.alloc(600, 1), false)}`);
        events.push(`write 600: ${stream.write(Buffer.alloc(600, 2), false)}`);
        setTimeout(() => stream.write(Buffer.alloc(10, 3), true), 50);
      },
      { bufferLimit: 1000 },
    );
    const client = connect(served.port);
    const a = await fetch(client, { ":method": "GET", ":path": "/" });
    expect(events).toEqual(["write 600: true", "write 600: false", "writable"]);
    expect(a.body.length).toBe(1210);
  });

  it("serves 200 concurrent streams on one connection", async () => {
    const seen: Seen[] = [];
    const served = await serve((stream, headers, end) => {
      seen.push(take(stream, headers, end));
      stream.resume();
    });
    const client = connect(served.port);
    await remoteSettings(client);
    const answers = Array.from({ length: 200 }, (_, i) => fetch(client, { ":method": "GET", ":path": `/r/${i}` }));
    await until(() => seen.length === 200, "200 streams");
    expect(served.conns[0]!.activeStreams).toBe(200);
    for (const s of seen) {
      s.stream.sendHeaders([":status", "200"], false);
      s.stream.write(Buffer.from(get(s.headers, ":path")!), true);
    }
    const all = await Promise.all(answers);
    all.forEach((a, i) => {
      expect(a.headers?.[":status"]).toBe(200);
      expect(a.body.toString()).toBe(`/r/${i}`);
    });
    await until(() => served.conns[0]!.activeStreams === 0, "every stream to close");
  });

  it("reports a client's RST_STREAM as a remote reset, whether or not the request was complete", async () => {
    const seen = new Map<string, Seen>();
    const served = await serve((stream, headers, end) => {
      seen.set(get(headers, ":path")!, take(stream, headers, end));
      stream.resume();
    });
    const client = connect(served.port);
    await remoteSettings(client);
    // A request still sending its body, and one complete and waiting for its (streaming) response.
    const upload = client.request({ ":method": "POST", ":path": "/upload" }, { endStream: false });
    upload.write("part");
    const watch = client.request({ ":method": "GET", ":path": "/watch" }, { endStream: true });
    for (const r of [upload, watch]) r.on("error", () => {});
    await until(() => seen.get("/upload")?.bodyBytes === 4 && seen.has("/watch"), "both streams");
    seen.get("/watch")!.stream.sendHeaders([":status", "200"], false);
    seen.get("/watch")!.stream.write(Buffer.from("event 1\n"), false);
    await new Promise((r) => watch.once("data", r));
    upload.close(http2.constants.NGHTTP2_CANCEL);
    watch.close(http2.constants.NGHTTP2_CANCEL);
    await until(() => seen.get("/upload")!.reset !== undefined && seen.get("/watch")!.reset !== undefined, "both resets");
    expect(seen.get("/upload")!.reset).toEqual({ reason: "remote reset", code: ErrorCode.CANCEL });
    expect(seen.get("/watch")!.reset).toEqual({ reason: "remote reset", code: ErrorCode.CANCEL });
    expect(seen.get("/watch")!.closed).toBe(true);
    expect(served.conns[0]!.activeStreams).toBe(0);
    // The connection goes on.
    const next = fetch(client, { ":method": "GET", ":path": "/after" });
    await until(() => seen.has("/after"), "a later stream");
    seen.get("/after")!.stream.sendHeaders([":status", "204"], true);
    expect((await next).headers?.[":status"]).toBe(204);
  });

  it("resets the open streams with 'connection termination' and fires onClose when the client's socket goes away", async () => {
    const seen = new Map<string, Seen>();
    const served = await serve((stream, headers, end) => {
      seen.set(get(headers, ":path")!, take(stream, headers, end));
      stream.resume();
    });
    let socket!: net.Socket;
    const client = connect(served.port, { createConnection: () => (socket = net.connect(served.port, "127.0.0.1")) });
    await remoteSettings(client);
    const upload = client.request({ ":method": "POST", ":path": "/upload" }, { endStream: false });
    upload.write("part");
    const watch = client.request({ ":method": "GET", ":path": "/watch" }, { endStream: true });
    for (const r of [upload, watch]) r.on("error", () => {});
    await until(() => seen.get("/upload")?.bodyBytes === 4 && seen.has("/watch"), "both streams");
    socket.destroy();
    await until(() => served.closes === 1, "onClose");
    expect(seen.get("/upload")!.reset?.reason).toBe("connection termination");
    expect(seen.get("/watch")!.reset?.reason).toBe("connection termination");
    expect(served.conns[0]!.closed).toBe(true);
    expect(served.conns[0]!.activeStreams).toBe(0);
  });

  it("closes gracefully: GOAWAY(NO_ERROR) at once, the open stream finishes, then the socket ends", async () => {
    const seen: Seen[] = [];
    const served = await serve((stream, headers, end) => {
      seen.push(take(stream, headers, end));
      stream.resume();
    });
    const client = connect(served.port);
    const goaway = new Promise<[number, number]>((r) => client.once("goaway", (code, last) => r([code, last])));
    const answer = fetch(client, { ":method": "GET", ":path": "/slow" });
    await until(() => seen.length === 1, "the stream");
    served.conns[0]!.close();
    expect(await goaway).toEqual([ErrorCode.NO_ERROR, 1]);
    expect(served.closes).toBe(0);
    seen[0]!.stream.sendHeaders([":status", "200"], false);
    seen[0]!.stream.write(Buffer.from("last words"), true);
    const a = await answer;
    expect(a.body.toString()).toBe("last words");
    await until(() => served.closes === 1, "onClose");
    expect(seen[0]!.reset).toBeUndefined();
  });

  it("advertises SETTINGS_MAX_CONCURRENT_STREAMS and the initial window", async () => {
    const { port } = await serve(() => {}, { maxConcurrentStreams: 2, localWindow: 1024 * 1024 });
    const client = connect(port);
    await remoteSettings(client);
    expect(client.remoteSettings.maxConcurrentStreams).toBe(2);
    expect(client.remoteSettings.initialWindowSize).toBe(1024 * 1024);
  });

  it("answers the client's PING", async () => {
    const { port } = await serve(() => {});
    const client = connect(port);
    await remoteSettings(client);
    const payload = Buffer.from("12345678");
    const echoed = await new Promise<Buffer>((resolve, reject) => client.ping(payload, (err, _ms, p) => (err ? reject(err) : resolve(p))));
    expect(echoed.equals(payload)).toBe(true);
  });

  it("reads padded HEADERS and DATA and a header block split over CONTINUATION frames", async () => {
    const big = "v".repeat(40_000);
    const seen: Seen[] = [];
    const { port } = await serve((stream, headers, end) => {
      const s = take(stream, headers, end);
      seen.push(s);
      void s.done.then(() => stream.sendHeaders([":status", "200", "x-big", get(headers, "x-big") ?? "", "x-body", Buffer.concat(s.body).toString()], true));
      stream.resume();
    });
    const client = connect(port, { paddingStrategy: http2.constants.PADDING_STRATEGY_MAX });
    const a = await fetch(client, { ":method": "POST", ":path": "/pad", "x-big": big, "content-length": "11" }, "padded body");
    expect(a.headers?.["x-big"]).toBe(big);
    expect(a.headers?.["x-body"]).toBe("padded body");
    expect(seen[0]!.reset).toBeUndefined();
  });
});
