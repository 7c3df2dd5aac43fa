/**
 * Interop with nghttp2 through node:http2: a raw socket speaks HTTP/2 to an http2 server, with
 * our encoder making the request blocks and our decoder reading the server's response blocks.
 */
import { afterEach, describe, expect, it } from "vitest";
import http2 from "node:http2";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { HpackDecoder } from "./decoder.ts";
import { HpackEncoder } from "./encoder.ts";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
const DATA = 0x0;
const HEADERS = 0x1;
const SETTINGS = 0x4;
const GOAWAY = 0x7;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;
const SETTINGS_HEADER_TABLE_SIZE = 0x1;

interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

/** A raw HTTP/2 client connection: splits the server's bytes into frames and ACKs SETTINGS. */
class RawClient {
  readonly frames: Frame[] = [];
  private pending = Buffer.alloc(0);
  private readonly waiters = new Set<() => void>();
  private closed = false;

  constructor(readonly socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.pending = Buffer.concat([this.pending, chunk]);
      while (this.pending.length >= 9) {
        const length = this.pending.readUIntBE(0, 3);
        if (this.pending.length < 9 + length) break;
        const f: Frame = {
          type: this.pending[3],
          flags: this.pending[4],
          streamId: this.pending.readUInt32BE(5) & 0x7fffffff,
          payload: Buffer.from(this.pending.subarray(9, 9 + length)),
        };
        this.pending = this.pending.subarray(9 + length);
        if (f.type === SETTINGS && (f.flags & 0x1) === 0) socket.write(frame(SETTINGS, 0x1, 0, Buffer.alloc(0)));
        this.frames.push(f);
      }
      for (const check of this.waiters) check();
    });
    socket.on("close", () => {
      this.closed = true;
      for (const check of this.waiters) check();
    });
  }

  static async connect(port: number): Promise<RawClient> {
    const socket = net.connect(port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    const client = new RawClient(socket);
    socket.write(Buffer.concat([PREFACE, frame(SETTINGS, 0, 0, Buffer.alloc(0))]));
    return client;
  }

  /** Resolves once predicate(frames) holds; fails after 5 s or if the connection closes first. */
  until(what: string, predicate: (frames: Frame[]) => boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`timed out waiting for ${what}`)), 5000);
      const done = (err?: Error) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        if (err) reject(err);
        else resolve();
      };
      const check = () => {
        const goaway = this.frames.find((f) => f.type === GOAWAY);
        if (predicate(this.frames)) done();
        else if (goaway) done(new Error(`GOAWAY with error code ${goaway.payload.readUInt32BE(4)} waiting for ${what}`));
        else if (this.closed) done(new Error(`connection closed waiting for ${what}: frame types ${this.frames.map((f) => f.type)}`));
      };
      this.waiters.add(check);
      check();
    });
  }
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startServer(
  onStream: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, rawHeaders: string[]) => void,
  settings?: http2.Settings,
): Promise<number> {
  const server = http2.createServer({ settings });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => sessions.add(session));
  server.on("stream", (stream, headers, _flags, ...rest: unknown[]) => onStream(stream, headers, rest[0] as string[]));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => {
    for (const session of sessions) session.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as AddressInfo).port;
}

async function connect(port: number): Promise<RawClient> {
  const client = await RawClient.connect(port);
  cleanups.push(() => void client.socket.destroy());
  await client.until("the server's SETTINGS", (frames) => frames.some((f) => f.type === SETTINGS && f.flags === 0));
  return client;
}

/** Every printable ASCII octet and every octet from 0x80, as a header value nghttp2 accepts. */
const ALL_VALUE_OCTETS = (() => {
  let s = "";
  for (let c = 0x21; c <= 0xff; c++) if (c !== 0x7f) s += String.fromCharCode(c);
  return s + " \t" + s;
})();

function request(port: number, i: number): string[] {
  return [
    ":method", "POST",
    ":scheme", "http",
    ":path", "/echo.Echo/Say",
    ":authority", `127.0.0.1:${port}`,
    "content-type", "application/grpc",
    "te", "trailers",
    "user-agent", "grpc-node-js/1.14.7",
    "x-tenant", "tenant-blue", // indexed in the first request, one octet afterwards
    "x-request-id", `9f0c7a52-${i}`,
    "grpc-timeout", `${100 + i}m`,
    "authorization", `Bearer token-${i}`,
    "cookie", "session=abc",
    "x-octets", ALL_VALUE_OCTETS,
  ]; // prettier-ignore
}

describe("HPACK interop with nghttp2 (node:http2)", () => {
  it("the server decodes our request blocks, dynamic table and Huffman included", async () => {
    const seen: Array<{ raw: string[]; sensitive: unknown }> = [];
    const port = await startServer((stream, headers, raw) => {
      seen.push({ raw, sensitive: (headers as Record<symbol, unknown>)[http2.sensitiveHeaders] });
      stream.respond({ ":status": 200 }, { endStream: true });
    });
    const client = await connect(port);
    const encoder = new HpackEncoder();
    const sizes: number[] = [];
    const count = 5;
    for (let i = 0; i < count; i++) {
      const block = encoder.encode(request(port, i));
      sizes.push(block.length);
      client.socket.write(frame(HEADERS, END_HEADERS | END_STREAM, 2 * i + 1, block));
    }
    await client.until("all requests", () => seen.length === count);
    for (let i = 0; i < count; i++) {
      expect(seen[i].raw).toEqual(request(port, i));
      expect(seen[i].sensitive).toEqual(["authorization", "cookie"]);
    }
    // Later blocks carry only the literals that change per request (plus x-octets, too large to index).
    expect(sizes[1]).toBeLessThan(sizes[0] - 40);
    expect(new Set(sizes.slice(1)).size).toBe(1);
    expect(client.frames.some((f) => f.type === GOAWAY)).toBe(false);
  });

  it("the server honours the table size update after it lowers SETTINGS_HEADER_TABLE_SIZE", async () => {
    const seen: string[][] = [];
    const port = await startServer(
      (stream, _headers, raw) => {
        seen.push(raw);
        stream.respond({ ":status": 200 }, { endStream: true });
      },
      { headerTableSize: 64 },
    );
    const client = await connect(port);
    const settings = client.frames.find((f) => f.type === SETTINGS && f.flags === 0)!;
    const encoder = new HpackEncoder();
    for (let off = 0; off < settings.payload.length; off += 6) {
      if (settings.payload.readUInt16BE(off) === SETTINGS_HEADER_TABLE_SIZE) encoder.setMaxTableSize(settings.payload.readUInt32BE(off + 2));
    }
    for (let i = 0; i < 4; i++) {
      const block = encoder.encode(request(port, i));
      if (i === 0) expect(block.subarray(0, 2).toString("hex")).toBe("3f21"); // size update to 64
      client.socket.write(frame(HEADERS, END_HEADERS | END_STREAM, 2 * i + 1, block));
    }
    await client.until("all requests", () => seen.length === 4);
    for (let i = 0; i < 4; i++) expect(seen[i]).toEqual(request(port, i));
    expect(encoder.tableSize).toBeLessThanOrEqual(64);
  });

  it("we decode the server's response and trailer blocks, dynamic table and Huffman included", async () => {
    let n = 0;
    const port = await startServer((stream) => {
      const k = n++;
      stream.respond(
        {
          ":status": 200,
          "content-type": "application/grpc",
          "x-resp-tag": "repeated-value-xyz",
          "x-resp-seq": `seq-${k}`,
          "x-octets": ALL_VALUE_OCTETS,
        },
        { waitForTrailers: true },
      );
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0", "grpc-message": "all good" }));
      stream.end("payload");
    });
    const client = await connect(port);
    const encoder = new HpackEncoder();
    const count = 4;
    for (let i = 0; i < count; i++) client.socket.write(frame(HEADERS, END_HEADERS | END_STREAM, 2 * i + 1, encoder.encode(request(port, i))));
    await client.until("all trailers", (frames) => frames.filter((f) => f.type === HEADERS && (f.flags & END_STREAM) !== 0).length === count);

    const decoder = new HpackDecoder();
    const byStream = new Map<number, { blocks: Buffer[]; lists: string[][] }>();
    for (const f of client.frames) {
      if (f.type !== HEADERS) continue;
      expect(f.flags & (PADDED | PRIORITY)).toBe(0);
      expect(f.flags & END_HEADERS).toBe(END_HEADERS); // no CONTINUATION
      const entry = byStream.get(f.streamId) ?? { blocks: [], lists: [] };
      byStream.set(f.streamId, entry);
      entry.blocks.push(f.payload);
      entry.lists.push(decoder.decode(f.payload)); // in connection order, as the table requires
    }
    expect([...byStream.keys()].sort((a, b) => a - b)).toEqual([1, 3, 5, 7]);
    const firstBlocks: Buffer[] = [];
    for (const { blocks, lists } of byStream.values()) {
      expect(lists).toHaveLength(2);
      const [headers, trailers] = lists;
      const k = Number(headers[headers.indexOf("x-resp-seq") + 1].slice(4));
      const date = headers[headers.indexOf("date") + 1];
      expect(date).toMatch(/^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT$/);
      expect(headers).toEqual([
        ":status", "200",
        "content-type", "application/grpc",
        "x-resp-tag", "repeated-value-xyz",
        "x-resp-seq", `seq-${k}`,
        "x-octets", ALL_VALUE_OCTETS,
        "date", date,
      ]); // prettier-ignore
      expect(trailers).toEqual(["grpc-status", "0", "grpc-message", "all good"]);
      firstBlocks[k] = blocks[0];
    }
    // nghttp2 Huffman-coded the literals and indexed the repeated ones.
    expect(firstBlocks[0].includes(Buffer.from("repeated-value-xyz"))).toBe(false);
    expect(firstBlocks[1].length).toBeLessThan(firstBlocks[0].length - 20);
    const table = decoder.tableEntries();
    expect(table.join("\n")).toContain("x-resp-tag\nrepeated-value-xyz");
    expect(decoder.tableSize).toBeGreaterThan(0);
    expect(client.frames.some((f) => f.type === DATA)).toBe(true);
  });
});
