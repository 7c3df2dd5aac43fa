import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { HpackDecoder } from "./decoder.ts";
import { HpackEncoder } from "./encoder.ts";
import { STATIC_NAMES } from "./static-table.ts";

const REQUEST = [
  ":method", "POST",
  ":scheme", "http",
  ":path", "/echo.Echo/Say",
  ":authority", "echo.default.svc:8080",
  "content-type", "application/grpc",
  "te", "trailers",
  "user-agent", "grpc-node-js/1.14.7",
]; // prettier-ignore

describe("HpackEncoder", () => {
  it("indexes repeating headers so that a repeated request costs one octet per field", () => {
    const enc = new HpackEncoder();
    const dec = new HpackDecoder();
    const first = enc.encode(REQUEST);
    expect(dec.decode(first)).toEqual(REQUEST);
    const second = enc.encode(REQUEST);
    expect(second.length).toBe(REQUEST.length / 2);
    expect(dec.decode(second)).toEqual(REQUEST);
    expect(enc.tableSize).toBe(dec.tableSize);
  });

  it("uses indexed fields for static matches and static name indices for literals", () => {
    const enc = new HpackEncoder();
    expect(enc.encode([":method", "GET", ":path", "/", "accept-encoding", "gzip, deflate"]).toString("hex")).toBe("828490");
    const block = enc.encode([":path", "/a"]);
    expect(block[0]).toBe(0x44); // with incremental indexing, name index 4
    expect(block.length).toBe(4);
  });

  it("does not index per-request values or values over a quarter of the table", () => {
    const perRequest = ["x-request-id", "content-length", "traceparent", "x-b3-spanid", "grpc-timeout", "etag", "set-cookie"];
    const enc = new HpackEncoder();
    const dec = new HpackDecoder();
    for (let i = 0; i < 2; i++) {
      const headers = perRequest.flatMap((name) => [name, "12345"]).concat("x-big", "v".repeat(1025));
      const block = enc.encode(headers);
      expect(dec.decode(block)).toEqual(headers);
      expect(block[0] >> 4).toBe(0); // without indexing
      expect(enc.tableSize).toBe(0);
      expect(dec.tableSize).toBe(0);
    }
    enc.encode(["x-medium", "v".repeat(1024)]);
    expect(enc.tableSize).toBe(8 + 1024 + 32);
  });

  it("never indexes authorization, proxy-authorization and short cookies", () => {
    const enc = new HpackEncoder();
    const dec = new HpackDecoder();
    const headers = ["authorization", "Bearer x", "proxy-authorization", "Basic y", "cookie", "a=1234567890123456", "cookie", "long=12345678901234567890"];
    for (let i = 0; i < 2; i++) {
      const block = enc.encode(headers);
      expect(dec.decode(block)).toEqual(headers);
      expect(block.subarray(0, 2).toString("hex")).toBe("1f08"); // never indexed, name index 23
    }
    expect(dec.tableEntries()).toEqual(["cookie", "long=12345678901234567890"]);
  });

  it("Huffman-codes a string only when that is shorter", () => {
    const enc = new HpackEncoder();
    const block = enc.encode(["x-a", "application/grpc", "x-b", "\x00\x01\x02"]);
    expect(block.includes(Buffer.from("application/grpc"))).toBe(false);
    expect(block.includes(Buffer.from("\x00\x01\x02", "latin1"))).toBe(true);
    expect(new HpackDecoder().decode(block)).toEqual(["x-a", "application/grpc", "x-b", "\x00\x01\x02"]);
  });

  it("signals table size changes at the start of the next block (smallest, then final)", () => {
    const enc = new HpackEncoder();
    const dec = new HpackDecoder(8192);
    dec.decode(enc.encode(REQUEST));
    expect(enc.tableSize).toBeGreaterThan(100);
    enc.setMaxTableSize(100);
    expect(enc.tableSize).toBeLessThanOrEqual(100);
    let block = enc.encode([":method", "GET"]);
    expect(block.toString("hex")).toBe("3f45" + "82"); // 100 = 31 + 69
    dec.decode(block);
    enc.setMaxTableSize(0);
    enc.setMaxTableSize(8192); // capped at 4096
    block = enc.encode([":method", "GET"]);
    expect(block.toString("hex")).toBe("20" + "3fe11f" + "82");
    dec.decode(block);
    enc.setMaxTableSize(4096);
    expect(enc.encode([]).toString("hex")).toBe("3fe11f");
    expect(enc.encode([]).length).toBe(0);
    expect(() => enc.setMaxTableSize(-1)).toThrow(RangeError);
  });

  it("returns blocks that stay valid after later encode calls", () => {
    const enc = new HpackEncoder();
    const first = enc.encode(REQUEST);
    const copy = Buffer.from(first);
    enc.encode(["x-other", "z".repeat(5000), "x-more", "y".repeat(3000)]);
    expect(first.equals(copy)).toBe(true);
    expect(() => enc.encode(["odd"])).toThrow(TypeError);
  });

  it("round-trips random header lists across blocks and table size changes", () => {
    const MAX = 6000;
    const name = fc.oneof(
      fc.constantFrom(...STATIC_NAMES.slice(1), "x-request-id", "grpc-timeout", "x-custom", "x-tenant", "authorization", "cookie"),
      fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
    );
    const value = fc.oneof(
      fc.constantFrom("", "GET", "/", "200", "application/grpc", "trailers", "gzip, deflate"),
      fc.string({ maxLength: 40 }).map((s) => s.replace(/[^\x20-\x7e]/g, "x")),
      fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 60 }).map((codes) => String.fromCharCode(...codes)),
      fc.nat(1600).map((n) => "v".repeat(n)),
    );
    const block = fc.array(fc.tuple(name, value), { maxLength: 25 }).map((pairs) => pairs.flat());
    const step = fc.oneof(
      { weight: 4, arbitrary: block.map((headers) => ({ headers })) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: MAX }).map((size) => ({ size })) },
    );
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 30 }), (steps) => {
        const enc = new HpackEncoder();
        const dec = new HpackDecoder(MAX);
        for (const s of steps) {
          if ("size" in s) {
            enc.setMaxTableSize(s.size);
            continue;
          }
          expect(dec.decode(enc.encode(s.headers))).toEqual(s.headers);
          expect(dec.tableSize).toBe(enc.tableSize);
        }
      }),
      { numRuns: 300 },
    );
  });
});
