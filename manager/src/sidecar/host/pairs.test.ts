import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { decodeBytePairs, decodePairs, encodeAsciiPairsScratch, encodeBytePairs, encodePairs, PAIRS_MAX_COUNT } from "./pairs.ts";
import type { HeaderPair } from "../http/header-map.ts";

// The spec's example map {"a": "1", "b": "22"} with the errata applied ("1" = 0x31, "22" = 0x32 0x32).
const SERIALIZED = new Uint8Array([
  0x02, 0x00, 0x00, 0x00, // count = 2
  0x01, 0x00, 0x00, 0x00, // key 0 length = 1
  0x01, 0x00, 0x00, 0x00, // value 0 length = 1
  0x01, 0x00, 0x00, 0x00, // key 1 length = 1
  0x02, 0x00, 0x00, 0x00, // value 1 length = 2
  0x61, 0x00, // "a" NUL
  0x31, 0x00, // "1" NUL
  0x62, 0x00, // "b" NUL
  0x32, 0x32, 0x00, // "22" NUL
]);
const MAP: HeaderPair[] = [
  ["a", "1"],
  ["b", "22"],
];

describe("pairs", () => {
  it("encodes the annotated fixture byte for byte", () => {
    expect(encodePairs(MAP)).toEqual(SERIALIZED);
  });

  it("decodes the annotated fixture", () => {
    expect(decodePairs(SERIALIZED)).toEqual(MAP);
  });

  it("encodes an empty map as zero bytes", () => {
    expect(encodePairs([]).length).toBe(0);
  });

  it("decodes a zero count as an empty map", () => {
    expect(decodePairs(new Uint8Array([0, 0, 0, 0]))).toEqual([]);
  });

  it("keeps repeated keys and empty values in order", () => {
    const pairs: HeaderPair[] = [
      ["x", ""],
      ["x", "y"],
      ["", "z"],
    ];
    expect(decodePairs(encodePairs(pairs))).toEqual(pairs);
  });

  const truncate = (n: number) => SERIALIZED.slice(0, SERIALIZED.length - n);
  const withByte = (i: number, b: number) => {
    const c = SERIALIZED.slice();
    c[i] = b;
    return c;
  };
  const extended = new Uint8Array([...SERIALIZED, 0x00]);
  const header = (count: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, count, true);
    return b;
  };
  it.each([
    ["empty buffer", new Uint8Array(0)],
    ["shorter than the count", new Uint8Array([1, 0, 0])],
    ["missing last terminator", truncate(1)],
    ["missing last value byte", truncate(2)],
    ["trailing byte after the data", extended],
    ["key terminator is not NUL", withByte(21, 0x41)],
    ["value terminator is not NUL", withByte(23, 0x41)],
    ["size table cut short", header(3)],
    ["count above the limit", header(PAIRS_MAX_COUNT + 1)],
    ["key length past the end", withByte(4, 0xff)],
    ["buffer above 1 MiB", new Uint8Array(1024 * 1024 + 1)],
  ])("decodes malformed input (%s) to an empty map", (_name, bytes) => {
    expect(decodePairs(bytes)).toEqual([]);
  });

  it("accepts exactly 1024 pairs", () => {
    const pairs: HeaderPair[] = Array.from({ length: PAIRS_MAX_COUNT }, (_, i) => [`k${i}`, `v${i}`]);
    expect(decodePairs(encodePairs(pairs))).toEqual(pairs);
  });

  it("round-trips any map of valid strings", () => {
    const pair = fc.tuple(fc.string({ unit: "grapheme" }), fc.string({ unit: "grapheme" }));
    fc.assert(
      fc.property(fc.array(pair, { maxLength: 50 }), (pairs) => {
        expect(decodePairs(encodePairs(pairs as HeaderPair[]))).toEqual(pairs);
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it("decodes arbitrary bytes either to [] or to pairs that re-encode to the same bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const decoded = decodeBytePairs(bytes);
        if (decoded.length > 0) expect(encodeBytePairs(decoded)).toEqual(bytes);
      }),
      { seed: 7, numRuns: 500 },
    );
  });

  it("decodes every strict prefix of a valid encoding to an empty map", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string(), fc.string()), { minLength: 1, maxLength: 8 }),
        fc.nat(),
        (pairs, cut) => {
          const bytes = encodePairs(pairs as HeaderPair[]);
          expect(decodePairs(bytes.slice(0, cut % bytes.length))).toEqual([]);
        },
      ),
      { seed: 11, numRuns: 300 },
    );
  });

  it("encodes ASCII and non-ASCII maps to the same bytes as TextEncoder", () => {
    const te = new TextEncoder();
    const reference = (pairs: HeaderPair[]) => encodeBytePairs(pairs.map(([k, v]) => [te.encode(k), te.encode(v)]));
    const text = fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.constantFrom("\ud800", "é", "\u007f", "\u0080", ""));
    fc.assert(
      fc.property(fc.array(fc.tuple(text, text), { maxLength: 12 }), (pairs) => {
        expect(encodePairs(pairs as HeaderPair[])).toEqual(reference(pairs as HeaderPair[]));
      }),
      { seed: 5, numRuns: 1000 },
    );
  });

  it("encoded size is 4 + sum(8 + klen + vlen + 2)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string(), fc.string()), { minLength: 1, maxLength: 20 }), (pairs) => {
        const te = new TextEncoder();
        const expected = 4 + pairs.reduce((n, [k, v]) => n + 8 + te.encode(k).length + te.encode(v).length + 2, 0);
        expect(encodePairs(pairs as HeaderPair[]).length).toBe(expected);
      }),
      { seed: 3 },
    );
  });
});

describe("encodeAsciiPairsScratch", () => {
  it("gives encodePairs' bytes for ASCII maps of any size (scratch grown), undefined for any non-ASCII char", () => {
    const small: Array<[string, string]> = [[":path", "/a.B/C"], ["x-empty", ""], ["", "v"]];
    const big: Array<[string, string]> = Array.from({ length: 40 }, (_, i) => [`x-header-${i}`, "v".repeat(50 + i)]);
    for (const pairs of [small, big, small]) expect([...encodeAsciiPairsScratch(pairs)!]).toEqual([...encodePairs(pairs)]);
    expect(encodeAsciiPairsScratch([["a", "b"], ["k", "välue"]])).toBeUndefined();
    expect(encodeAsciiPairsScratch([["ü", ""]])).toBeUndefined();
    expect(encodeAsciiPairsScratch([["a", "\u0080"]])).toBeUndefined();
  });
});
