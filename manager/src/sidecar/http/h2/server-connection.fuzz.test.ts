/**
 * Whatever frames a downstream client sends, the server codec never throws (a throw in a socket
 * handler would end the sidecar) and every stream keeps its handler contract: no request DATA
 * or trailers after the request ended, no callback after a reset (reported or local), at most
 * one reset and none once the response is complete, onClosed exactly once.
 */
import net from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { H2ServerConnection } from "./server-connection.ts";
import type { H2Stream, H2StreamHandler } from "./stream.ts";
import { CLIENT_PREFACE, ErrorCode, Flags, FrameType, frame, settingsFrame } from "./frames.ts";
import { HpackEncoder } from "./hpack/encoder.ts";
import { startSink } from "./testing.ts";

let sink: Awaited<ReturnType<typeof startSink>>;
let port: number;
beforeAll(async () => {
  sink = await startSink();
  port = sink.port;
});
afterAll(() => sink.close());

/** What the test's handler does with the n-th stream it is given. */
type Behaviour = "resume" | "stay paused" | "pause on data" | "respond" | "respond with trailers" | "reset";

interface Watched {
  stream: H2Stream;
  requestEnded: boolean;
  resets: number;
  localReset: boolean;
  closes: number;
}

function watch(stream: H2Stream, endStream: boolean, behaviour: Behaviour, violations: string[]): Watched {
  const w: Watched = { stream, requestEnded: endStream, resets: 0, localReset: false, closes: 0 };
  const see = (e: string) => {
    if (w.resets > 0) violations.push(`${e} after a reset`);
    if (w.localReset) violations.push(`${e} after a local reset`);
  };
  const handler: H2StreamHandler = {
    onHeaders() {
      violations.push("onHeaders on a server stream");
    },
    onData(_c, end) {
      see("data");
      if (w.requestEnded) violations.push("data after the request ended");
      if (end) w.requestEnded = true;
      if (behaviour === "pause on data") stream.pause();
    },
    onTrailers() {
      see("trailers");
      if (w.requestEnded) violations.push("trailers after the request ended");
      w.requestEnded = true;
    },
    onReset() {
      see("reset");
      if (stream.localEnded) violations.push("reset after the response was complete");
      w.resets++;
    },
    onWritable() {},
    onClosed() {
      if (++w.closes > 1) violations.push("closed twice");
    },
  };
  stream.handler = handler;
  if (behaviour !== "stay paused") stream.resume();
  if (behaviour === "respond") {
    stream.sendHeaders([":status", "200"], false);
    stream.write(Buffer.from("answer"), true);
  } else if (behaviour === "respond with trailers") {
    stream.sendHeaders([":status", "200", "content-type", "application/grpc"], false);
    stream.write(Buffer.from("answer"), false);
    stream.sendTrailers(["grpc-status", "0"]);
  } else if (behaviour === "reset") {
    stream.reset(ErrorCode.CANCEL);
    w.localReset = true;
  }
  return w;
}

/** Client frames that are well formed often enough to reach deep states, and malformed otherwise. */
function frameArb(): fc.Arbitrary<Buffer> {
  // A fresh encoder per block: its literals only add to the decoder's table, so any order decodes.
  const block = (list: string[]) => new HpackEncoder().encode(list);
  // HEADERS open streams 1, 3, 5, 7; other frames mostly go to the streams opened first (DATA on
  // a stream not yet opened is a connection error, which ends the run's interest early).
  const bad = fc.constantFrom(0, 2, 4, 99, 2 ** 31 - 1);
  const openerId = fc.oneof({ weight: 30, arbitrary: fc.constantFrom(1, 1, 3, 3, 5, 7) }, { weight: 1, arbitrary: bad });
  const streamId = fc.oneof({ weight: 30, arbitrary: fc.constantFrom(1, 1, 1, 1, 1, 1, 3, 3, 5) }, { weight: 1, arbitrary: bad });
  const headersFlags = fc.oneof(
    { weight: 20, arbitrary: fc.constantFrom(Flags.END_HEADERS, Flags.END_HEADERS | Flags.END_STREAM) },
    { weight: 1, arbitrary: fc.constantFrom(0, Flags.END_STREAM) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
  );
  const dataFlags = fc.oneof({ weight: 20, arbitrary: fc.constantFrom(0, Flags.END_STREAM) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) });
  const request = (method: string, extra: string[] = []) => [":method", method, ":scheme", "http", ":path", "/s/M", ":authority", "a", ...extra];
  const headerBlock = fc.oneof(
    {
      weight: 20,
      arbitrary: fc.constantFrom(
        block(request("GET")),
        block(request("POST", ["content-type", "application/grpc", "te", "trailers"])),
        block(request("POST", ["content-length", "4"])),
        block(["x-trailer", "1"]),
        block([":status", "200"]),
        block(request("GET", ["connection", "close"])),
        block(request("GET", ["x-big", "b".repeat(300)])),
      ),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b)) },
  );
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const known = fc.oneof(
    { weight: 12, arbitrary: fc.tuple(openerId, headersFlags, headerBlock).map(([id, f, b]) => frame(FrameType.HEADERS, f, id, b)) },
    { weight: 12, arbitrary: fc.tuple(streamId, dataFlags, fc.uint8Array({ maxLength: 40 })).map(([id, f, p]) => frame(FrameType.DATA, f, id, p)) },
    { weight: 4, arbitrary: fc.tuple(streamId, fc.integer({ min: 0, max: 13 })).map(([id, code]) => frame(FrameType.RST_STREAM, 0, id, u32(code))) },
    { weight: 1, arbitrary: fc.tuple(streamId, fc.integer({ min: 0, max: 2 ** 31 - 1 })).map(([id, inc]) => frame(FrameType.WINDOW_UPDATE, 0, id, u32(inc))) },
    { weight: 1, arbitrary: fc.array(fc.tuple(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 0, max: 2 ** 32 - 1 })), { maxLength: 3 }).map((s) => settingsFrame(s)) },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.integer({ min: 0, max: 9 }), fc.constantFrom(0, 1, 2)).map(([last, kind]) => {
        const b = Buffer.alloc(8);
        b.writeUInt32BE(last);
        return kind === 2 ? frame(FrameType.GOAWAY, 0, 0, b) : frame(FrameType.PING, kind ? Flags.ACK : 0, 0, b);
      }),
    },
    { weight: 1, arbitrary: fc.tuple(streamId, fc.uint8Array({ minLength: 5, maxLength: 5 })).map(([id, p]) => frame(FrameType.PRIORITY, 0, id, p)) },
    // A header block split in two, its CONTINUATION on the same stream or (rarely) not.
    {
      weight: 3,
      arbitrary: fc.tuple(openerId, fc.constantFrom(0, Flags.END_STREAM), headerBlock, fc.nat(), fc.oneof({ weight: 20, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constant(2) })).map(([id, es, b, cut, shift]) => {
        const at = b.length === 0 ? 0 : cut % b.length;
        return Buffer.concat([frame(FrameType.HEADERS, es, id, b.subarray(0, at)), frame(FrameType.CONTINUATION, Flags.END_HEADERS, id + shift, b.subarray(at))]);
      }),
    },
    { weight: 1, arbitrary: fc.tuple(streamId, headersFlags, headerBlock).map(([id, f, b]) => frame(FrameType.CONTINUATION, f, id, b)) },
  );
  const raw = fc.tuple(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 255 }), streamId, fc.uint8Array({ maxLength: 20 })).map(([t, f, id, p]) => frame(t, f, id, p));
  const garbage = fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b));
  return fc.oneof({ weight: 60, arbitrary: known }, { weight: 1, arbitrary: raw }, { weight: 1, arbitrary: garbage });
}

const behaviourArb = fc.constantFrom<Behaviour>("resume", "stay paused", "pause on data", "respond", "respond with trailers", "reset");

describe("H2ServerConnection under arbitrary client frames", () => {
  it("never throws and keeps every stream's handler contract", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(frameArb(), { minLength: 1, maxLength: 30 }), fc.boolean(), fc.array(behaviourArb, { minLength: 8, maxLength: 8 }), async (frames, opened, behaviours) => {
        const socket = net.connect(port, "127.0.0.1");
        await new Promise((r) => socket.once("connect", r));
        const violations: string[] = [];
        const watched: Watched[] = [];
        let closes = 0;
        const conn = new H2ServerConnection(
          socket,
          {
            onStream: (stream, _headers, end) => watched.push(watch(stream, end, behaviours[watched.length % behaviours.length]!, violations)),
            onClose: () => closes++,
          },
          { localWindow: 65_535, maxConcurrentStreams: 3, maxHeaderListBytes: 256 },
        );
        try {
          socket.emit("data", Buffer.concat([CLIENT_PREFACE, settingsFrame([])]));
          // Half the runs start with an open request, to reach later states sooner.
          if (opened) {
            const list = [":method", "POST", ":scheme", "http", ":path", "/s/M", ":authority", "a", "content-type", "application/grpc"];
            socket.emit("data", frame(FrameType.HEADERS, Flags.END_HEADERS, 1, new HpackEncoder().encode(list)));
          }
          for (const f of frames) socket.emit("data", f);
          // Paused streams get what they hold, then the output is flushed.
          for (const w of watched) w.stream.resume();
          await new Promise((r) => setImmediate(r));
        } finally {
          conn.destroy();
        }
        expect(violations).toEqual([]);
        expect(closes).toBe(1);
        for (const w of watched) {
          expect(w.resets).toBeLessThanOrEqual(1);
          expect(w.closes).toBe(1);
          // A stream whose response did not complete was reset, by the handler or with a report.
          expect(w.localReset || w.stream.localEnded || w.resets === 1).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  }, 60_000);
});
