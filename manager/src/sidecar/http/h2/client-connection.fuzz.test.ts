/**
 * Whatever bytes an upstream sends, the codec never throws (a throw in a socket handler would end
 * the sidecar) and every stream keeps its contract: headers before DATA, nothing after the end
 * or a reset, exactly one of them at most.
 */
import net from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { H2ClientConnection } from "./client-connection.ts";
import type { H2StreamHandler } from "./stream.ts";
import { Flags, FrameType, frame, settingsFrame } from "./frames.ts";
import { HpackEncoder } from "./hpack/encoder.ts";
import { startSink } from "./testing.ts";

let sink: Awaited<ReturnType<typeof startSink>>;
let port: number;
beforeAll(async () => {
  sink = await startSink();
  port = sink.port;
});
afterAll(() => sink.close());

type Event = "headers" | "data" | "end" | "trailers" | "reset";

function watchedHandler(log: Event[], violations: string[]): H2StreamHandler {
  let done = false;
  let headers = false;
  const see = (e: Event) => {
    if (done) violations.push(`${e} after the stream ended`);
    log.push(e);
  };
  return {
    onHeaders(_h, end) {
      see("headers");
      if (headers) violations.push("headers twice");
      headers = true;
      if (end) done = true;
    },
    onData(_c, end) {
      see("data");
      if (!headers) violations.push("DATA before headers");
      if (end) done = true;
    },
    onTrailers() {
      see("trailers");
      if (!headers) violations.push("trailers before headers");
      done = true;
    },
    onReset() {
      see("reset");
      done = true;
    },
    onWritable() {},
    onClosed() {},
  };
}

/** Frames that are well formed often enough to reach deep states, and malformed otherwise. */
function frameArb(): fc.Arbitrary<Buffer> {
  // A fresh encoder per block: its literals only add to the decoder's table, so any order decodes.
  const block = (list: string[]) => new HpackEncoder().encode(list);
  const streamId = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(1, 3, 5) }, { weight: 1, arbitrary: fc.constantFrom(0, 2, 7, 99) });
  const flags = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(Flags.END_HEADERS, Flags.END_HEADERS | Flags.END_STREAM, 0, Flags.END_STREAM) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
  );
  const headerBlock = fc.oneof(
    fc.constant(block([":status", "200", "content-type", "application/grpc"])),
    fc.constant(block(["grpc-status", "0"])),
    fc.constant(block([":status", "103"])),
    fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b)),
  );
  const known = fc.oneof(
    fc.tuple(streamId, flags, headerBlock).map(([id, f, block]) => frame(FrameType.HEADERS, f, id, block)),
    fc.tuple(streamId, flags, fc.uint8Array({ maxLength: 40 })).map(([id, f, p]) => frame(FrameType.DATA, f, id, p)),
    fc.tuple(streamId, fc.integer({ min: 0, max: 9 })).map(([id, code]) => frame(FrameType.RST_STREAM, 0, id, Buffer.from([0, 0, 0, code]))),
    fc.tuple(streamId, fc.integer({ min: 0, max: 2 ** 31 - 1 })).map(([id, inc]) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(inc);
      return frame(FrameType.WINDOW_UPDATE, 0, id, b);
    }),
    fc.array(fc.tuple(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 0, max: 2 ** 32 - 1 })), { maxLength: 3 }).map((s) => settingsFrame(s)),
    fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 1 })).map(([last, ack]) => {
      const b = Buffer.alloc(8);
      b.writeUInt32BE(last);
      return ack ? frame(FrameType.PING, Flags.ACK, 0, b) : frame(FrameType.GOAWAY, 0, 0, b);
    }),
    fc.tuple(streamId, flags, headerBlock).map(([id, f, block]) => frame(FrameType.CONTINUATION, f, id, block)),
  );
  const raw = fc.tuple(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 255 }), streamId, fc.uint8Array({ maxLength: 20 })).map(([t, f, id, p]) => frame(t, f, id, p));
  const garbage = fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b));
  return fc.oneof({ weight: 30, arbitrary: known }, { weight: 2, arbitrary: raw }, { weight: 1, arbitrary: garbage });
}

describe("H2ClientConnection under arbitrary upstream bytes", () => {
  it("never throws and keeps every stream's callback contract", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 1, max: 3 }), fc.boolean(), async (seed, streams, answered) => {
        const socket = net.connect(port, "127.0.0.1");
        await new Promise((r) => socket.once("connect", r));
        const conn = new H2ClientConnection(socket, { onConnect() {}, onRemoteSettings() {}, onGoaway() {}, onClose() {} }, { localWindow: 65_535 });
        socket.emit("connect");
        const violations: string[] = [];
        const logs: Event[][] = [];
        try {
          socket.emit("data", settingsFrame([]));
          for (let i = 0; i < streams; i++) {
            const log: Event[] = [];
            logs.push(log);
            const s = conn.request([":method", "POST", ":scheme", "http", ":path", "/s/M", ":authority", "a"], false, watchedHandler(log, violations));
            s.write(Buffer.from("body"), i % 2 === 0);
          }
          // Half the runs start from a stream that has its response headers, to reach later states.
          if (answered) socket.emit("data", frame(FrameType.HEADERS, Flags.END_HEADERS, 1, new HpackEncoder().encode([":status", "200"])));
          const frames = fc.sample(fc.array(frameArb(), { minLength: 1, maxLength: 30 }), { seed, numRuns: 1 })[0]!;
          for (const f of frames) socket.emit("data", f);
        } finally {
          conn.destroy();
        }
        expect(violations).toEqual([]);
        for (const log of logs) expect(log.filter((e) => e === "reset").length).toBeLessThanOrEqual(1);
      }),
      { numRuns: 500 },
    );
  }, 60_000);
});
