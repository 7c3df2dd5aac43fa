import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { HpackError } from "./errors.ts";
import { MAX_INTEGER, decodeInteger, encodeInteger, integerLength } from "./integer.ts";

function encode(value: number, prefixBits: number, flags = 0): string {
  const out = new Uint8Array(8);
  const end = encodeInteger(out, 0, value, prefixBits, flags);
  return Buffer.from(out.subarray(0, end)).toString("hex");
}

function decode(hex: string, prefixBits: number): { value: number; pos: number } {
  const cur = { pos: 0 };
  const buf = Buffer.from(hex, "hex");
  const value = decodeInteger(buf, cur, buf.length, prefixBits);
  return { value, pos: cur.pos };
}

describe("HPACK integers (RFC 7541 §5.1)", () => {
  it("C.1.1: 10 with a 5-bit prefix", () => {
    expect(encode(10, 5)).toBe("0a");
    expect(decode("0a", 5)).toEqual({ value: 10, pos: 1 });
  });

  it("C.1.2: 1337 with a 5-bit prefix", () => {
    expect(encode(1337, 5)).toBe("1f9a0a");
    expect(decode("1f9a0a", 5)).toEqual({ value: 1337, pos: 3 });
  });

  it("C.1.3: 42 starting at an octet boundary (8-bit prefix)", () => {
    expect(encode(42, 8)).toBe("2a");
    expect(decode("2a", 8)).toEqual({ value: 42, pos: 1 });
  });

  it("keeps the representation bits in the first octet and ignores them when decoding", () => {
    expect(encode(10, 5, 0xe0)).toBe("ea");
    expect(decode("ea", 5)).toEqual({ value: 10, pos: 1 });
    expect(encode(31, 5, 0x20)).toBe("3f00");
    expect(decode("0aff", 5)).toEqual({ value: 10, pos: 1 });
  });

  it("round-trips every prefix width up to 2^31-1, with integerLength matching", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: MAX_INTEGER }), (prefix, value) => {
        const out = new Uint8Array(8);
        const end = encodeInteger(out, 1, value, prefix, 0);
        expect(end - 1).toBe(integerLength(value, prefix));
        const cur = { pos: 1 };
        expect(decodeInteger(out, cur, end, prefix)).toBe(value);
        expect(cur.pos).toBe(end);
      }),
    );
    expect(decode(encode(MAX_INTEGER, 1), 1).value).toBe(MAX_INTEGER);
  });

  it("rejects values over 2^31-1, too many continuation octets and truncation", () => {
    const bad = (hex: string, prefix: number, message: RegExp) =>
      expect(() => decode(hex, prefix)).toThrow(expect.objectContaining({ name: "HpackError", message: expect.stringMatching(message) }));
    bad(encode(MAX_INTEGER, 1).slice(0, -2) + "08", 1, /2\^31-1/); // 2^31 and more
    bad("ffffffffff0f", 8, /2\^31-1/);
    bad("1f808080808000", 5, /continuation/); // zero padding past 5 continuation octets
    bad("", 5, /truncated/);
    bad("1f", 5, /truncated/);
    bad("1f9a", 5, /truncated/);
    expect(() => decode("1f", 5)).toThrow(HpackError);
  });
});
