import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { compileHarness, loadHarness } from "./grpc-harness.ts";

let wasm: Uint8Array;
beforeAll(async () => {
  wasm = await compileHarness();
});

interface Msg { compressed: boolean; payload: Uint8Array }

function frame(msgs: Msg[]): Uint8Array {
  const parts: Buffer[] = [];
  for (const m of msgs) {
    const prefix = Buffer.alloc(5);
    prefix[0] = m.compressed ? 1 : 0;
    prefix.writeUInt32BE(m.payload.length, 1);
    parts.push(prefix, Buffer.from(m.payload));
  }
  return new Uint8Array(Buffer.concat(parts));
}

/** Splits `bytes` at the given (sorted, deduplicated) offsets. */
function chunks(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) { out.push(bytes.subarray(prev, p)); prev = p; }
  return out;
}

async function run(pieces: Uint8Array[], maxCapture = 0) {
  const h = await loadHarness(wasm);
  h.exports.parserNew!(maxCapture);
  for (const piece of pieces) h.withBytes(piece, (p, n) => h.exports.parserFeed!(p, n));
  const n = h.exports.recordCount!();
  const records = Array.from({ length: n }, (_, i) => ({
    length: h.exports.recordLength!(i) >>> 0,
    compressed: h.exports.recordFlag!(i) === 1,
    data: h.exports.recordData!(i) ? Buffer.from(h.out()).toString("hex") : null,
  }));
  return {
    h,
    records,
    starts: Array.from({ length: h.exports.startCount!() }, (_, i) => h.exports.startLength!(i) >>> 0),
    messages: h.big("parserMessages"),
    compressed: h.big("parserCompressed"),
    payloadBytes: h.big("parserPayloadBytes"),
    bytes: h.big("parserBytes"),
    error: h.exports.parserError!(),
    partial: h.exports.parserPartial!(),
  };
}

const msgArb = fc.record({
  compressed: fc.boolean(),
  payload: fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ maxLength: 300 })),
});

describe("GrpcFrameParser", () => {
  it("gives the same messages, flags and counts under any chunking as unsplit", async () => {
    await fc.assert(fc.asyncProperty(fc.array(msgArb, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 12 }), async (msgs, cuts) => {
      const bytes = frame(msgs);
      const whole = await run([bytes]);
      const split = await run(chunks(bytes, cuts));
      const expected = msgs.map((m) => ({ length: m.payload.length, compressed: m.compressed, data: null }));
      expect(whole.records).toEqual(expected);
      for (const r of [whole, split]) {
        expect(r.records).toEqual(expected);
        expect(r.messages).toBe(BigInt(msgs.length));
        expect(r.compressed).toBe(BigInt(msgs.filter((m) => m.compressed).length));
        expect(r.payloadBytes).toBe(BigInt(msgs.reduce((n, m) => n + m.payload.length, 0)));
        expect(r.bytes).toBe(BigInt(bytes.length));
        expect([r.error, r.partial]).toEqual([0, 0]);
      }
    }), { numRuns: 60 });
  });

  it("captures payloads exactly when asked, under any chunking", async () => {
    await fc.assert(fc.asyncProperty(fc.array(msgArb, { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 10 }), async (msgs, cuts) => {
      const r = await run(chunks(frame(msgs), cuts), 128);
      expect(r.records.map((x) => x.data)).toEqual(msgs.map((m) => (m.payload.length <= 128 ? Buffer.from(m.payload).toString("hex") : null)));
    }), { numRuns: 40 });
  });

  it("handles a 5-byte prefix split one byte at a time", async () => {
    const bytes = frame([{ compressed: true, payload: new Uint8Array([1, 2, 3]) }, { compressed: false, payload: new Uint8Array(0) }]);
    const r = await run(Array.from(bytes, (b) => new Uint8Array([b])), 16);
    expect(r.records).toEqual([
      { length: 3, compressed: true, data: "010203" },
      { length: 0, compressed: false, data: "" },
    ]);
    expect(r.starts).toEqual([3, 0]);
  });

  it("reports a partial message and a huge declared length without allocating it", async () => {
    const prefix = new Uint8Array([0, 0xff, 0xff, 0xff, 0xf0]);
    const r = await run([prefix], 1 << 20);
    const { h } = r;
    expect(r.starts).toEqual([0xfffffff0]);
    expect([r.messages, r.partial, r.error]).toEqual([0n, 1, 0]);
    const chunk = new Uint8Array(64 * 1024).fill(7);
    const ptr = h.put(chunk);
    const before = h.memoryBytes();
    for (let i = 0; i < 32; i++) h.exports.parserFeed!(ptr, chunk.length); // 2 MiB of payload
    expect(h.memoryBytes() - before).toBeLessThan(1 << 20);
    expect(h.big("parserBytes")).toBe(5n + 32n * 65536n);
    expect([h.exports.recordCount!(), h.exports.parserPartial!()]).toEqual([0, 1]);
  });

  it("counts a message declared at 4 GiB - 1 when all of it arrives, without capturing", async () => {
    const h = await loadHarness(wasm);
    h.exports.parserNew!(1 << 20);
    h.withBytes(new Uint8Array([1, 0xff, 0xff, 0xff, 0xff]), (p, n) => h.exports.parserFeed!(p, n));
    // Feed the same 16 MiB guest block repeatedly: 4 GiB - 1 bytes in total, zero copies.
    const block = 16 << 20;
    const ptr = h.exports.alloc!(block);
    let left = 0xffffffff;
    while (left > 0) { const n = Math.min(left, block); h.exports.parserFeed!(ptr, n); left -= n; }
    expect(h.big("parserMessages")).toBe(1n);
    expect(h.big("parserCompressed")).toBe(1n);
    expect(h.exports.recordLength!(0) >>> 0).toBe(0xffffffff);
    expect(h.exports.recordData!(0)).toBe(0);
    expect(h.exports.parserPartial!()).toBe(0);
  });

  it("stops with an error on reserved flag bits (Envoy Grpc::Decoder)", async () => {
    const bytes = new Uint8Array([...frame([{ compressed: false, payload: new Uint8Array([9]) }]), 0x80, 0, 0, 0, 1, 5]);
    const r = await run([bytes]);
    expect(r.records).toEqual([{ length: 1, compressed: false, data: null }]);
    expect(r.error).toBe(1);
    expect(r.messages).toBe(1n);
  });
});
