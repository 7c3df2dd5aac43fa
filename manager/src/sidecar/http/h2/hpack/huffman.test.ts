import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { HpackError } from "./errors.ts";
import { HUFFMAN_CODES, HUFFMAN_LENGTHS, huffmanDecode, huffmanEncode, huffmanEncodedLength } from "./huffman.ts";

function encodeHex(str: string): string {
  const out = new Uint8Array(huffmanEncodedLength(str) + 2);
  const end = huffmanEncode(str, out, 1);
  expect(end - 1).toBe(huffmanEncodedLength(str));
  return Buffer.from(out.subarray(1, end)).toString("hex");
}

function decodeHex(hex: string): string {
  const buf = Buffer.from("00" + hex + "00", "hex"); // the range excludes the surrounding octets
  return huffmanDecode(buf, 1, buf.length - 1);
}

const latin1 = (codes: number[]): string => String.fromCharCode(...codes);

describe("HPACK Huffman code (RFC 7541 §5.2, Appendix B)", () => {
  it("derives Appendix B's codes", () => {
    const spot: Array<[number, number, number]> = [
      [0, 0x1ff8, 13],
      [1, 0x7fffd8, 23],
      [10, 0x3ffffffc, 30],
      [32, 0x14, 6],
      [48, 0x0, 5],
      [97, 0x3, 5],
      [116, 0x9, 5],
      [127, 0xffffffc, 28],
      [128, 0xfffe6, 20],
      [200, 0x3ffffe2, 26],
      [255, 0x3ffffee, 26],
      [256, 0x3fffffff, 30], // EOS
    ];
    for (const [sym, code, len] of spot) expect([sym, HUFFMAN_CODES[sym], HUFFMAN_LENGTHS[sym]]).toEqual([sym, code, len]);
    let kraft = 0;
    for (let sym = 0; sym <= 256; sym++) kraft += 2 ** -HUFFMAN_LENGTHS[sym];
    expect(kraft).toBe(1); // a complete prefix code
  });

  it("encodes and decodes the strings of Appendix C.4 and C.6", () => {
    const vectors: Array<[string, string]> = [
      ["www.example.com", "f1e3c2e5f23a6ba0ab90f4ff"],
      ["no-cache", "a8eb10649cbf"],
      ["custom-key", "25a849e95ba97d7f"],
      ["custom-value", "25a849e95bb8e8b4bf"],
      ["302", "6402"],
      ["307", "640eff"],
      ["private", "aec3771a4b"],
      ["Mon, 21 Oct 2013 20:13:21 GMT", "d07abe941054d444a8200595040b8166e082a62d1bff"],
      ["https://www.example.com", "9d29ad171863c78f0b97c8e9ae82ae43d3"],
      ["gzip", "9bd9ab"],
      [
        "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
        "94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007",
      ],
      ["", ""],
    ];
    for (const [str, hex] of vectors) {
      expect(encodeHex(str)).toBe(hex);
      expect(decodeHex(hex)).toBe(str);
    }
  });

  it("round-trips all 256 octet values, alone and together", () => {
    const all: number[] = [];
    for (let b = 0; b < 256; b++) {
      all.push(b);
      expect(decodeHex(encodeHex(latin1([b])))).toBe(latin1([b]));
    }
    const str = latin1(all) + latin1(all.reverse());
    expect(decodeHex(encodeHex(str))).toBe(str);
  });

  it("round-trips random latin1 strings", () => {
    const char = fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c));
    fc.assert(
      fc.property(fc.array(char, { maxLength: 300 }), (chars) => {
        const str = chars.join("");
        expect(decodeHex(encodeHex(str))).toBe(str);
      }),
      { numRuns: 500 },
    );
  });

  it("rejects padding longer than 7 bits", () => {
    expect(() => decodeHex("ff")).toThrow(/padding/); // 8 bits of padding alone
    expect(() => decodeHex("1fff")).toThrow(/padding/); // 'a' (00011) then 11 one bits
    expect(() => decodeHex("f1e3c2e5f23a6ba0ab90f4ffff")).toThrow(HpackError);
  });

  it("rejects padding that is not a prefix of EOS", () => {
    expect(decodeHex("1f")).toBe("a"); // 00011 111: valid 3-bit padding
    expect(() => decodeHex("18")).toThrow(/padding/); // 00011 000
    expect(() => decodeHex("1e")).toThrow(/padding/); // 00011 110
    expect(() => decodeHex("00")).toThrow(/padding/); // '0' (00000) then 000
  });

  it("rejects EOS in the string", () => {
    expect(() => decodeHex("ffffffff")).toThrow(/EOS/); // 30 ones is EOS
    expect(() => decodeHex("fffffffc")).toThrow(/EOS/); // EOS, then 00
    expect(() => decodeHex("1fffffffff")).toThrow(/EOS/); // 'a', then EOS
  });
});
