/**
 * base64 and base64url of filters/sdk/crypto as compiled Wasm: the RFC 4648 §10 vectors, a
 * differential test against Node's Buffer on 10,010 random byte strings of every length
 * 0..1,000 (bytes and string APIs, both alphabets), and a 100,000-input property test of the
 * decoders on arbitrary text: a text is accepted exactly when it is the canonical encoding of
 * some bytes (Node re-encodes it to itself), the bytes then equal Node's, and nothing traps.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  compileCryptoHarness, concatBytes, hex, loadCryptoHarness, SeededRandom, testSeed, u32le, type CryptoHarness,
} from "./crypto-harness.ts";

let h: CryptoHarness;
beforeAll(async () => {
  h = await loadCryptoHarness(await compileCryptoHarness());
}, 120_000);

const ascii = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "latin1"));
const text = (b: Uint8Array): string => Buffer.from(b).toString("latin1");

function decode(url: boolean, t: string): Uint8Array | null {
  const bytes = ascii(t);
  h.input(concatBytes([new Uint8Array(3), bytes]));
  h.output(bytes.length + 8);
  const n = h.exports.b64Decode!(url ? 1 : 0, 3, bytes.length, 2);
  return n < 0 ? null : h.read(2, n);
}

function encode(url: boolean, data: Uint8Array): string {
  h.input(concatBytes([new Uint8Array(5), data]));
  h.output(Math.ceil(data.length / 3) * 4 + 4);
  const n = h.exports.b64Encode!(url ? 1 : 0, 5, data.length, 1);
  expect(n).toBeGreaterThanOrEqual(0);
  return text(h.read(1, n));
}

function decodeUtf16(url: boolean, s: string, start = 0, end = s.length): Uint8Array | null {
  const units = new Uint8Array(Buffer.from(s, "utf16le"));
  h.input(units);
  h.output(s.length + 8);
  const n = h.exports.b64DecodeUtf16!(url ? 1 : 0, 0, s.length, start, end, 0);
  return n < 0 ? null : h.read(0, n);
}

function encodeString(url: boolean, data: Uint8Array): string {
  h.input(data);
  h.output(Math.ceil(data.length / 3) * 4 + 4);
  const n = h.exports.b64EncodeString!(url ? 1 : 0, 0, data.length, 0);
  return text(h.read(0, n));
}

/** What Node says: the bytes when `t` is the canonical text of them, else null. */
function canonicalDecode(url: boolean, t: string): Uint8Array | null {
  const enc = url ? "base64url" : "base64";
  const bytes = Buffer.from(t, enc);
  return bytes.toString(enc) === t ? new Uint8Array(bytes) : null;
}

describe("RFC 4648 §10 test vectors", () => {
  const vectors: Array<[string, string]> = [
    ["", ""], ["f", "Zg=="], ["fo", "Zm8="], ["foo", "Zm9v"], ["foob", "Zm9vYg=="], ["fooba", "Zm9vYmE="], ["foobar", "Zm9vYmFy"],
  ];
  for (const [plain, b64] of vectors) {
    it(`BASE64("${plain}") = "${b64}", and unpadded in base64url`, () => {
      const url = b64.replace(/=+$/, "");
      expect(encode(false, ascii(plain))).toBe(b64);
      expect(encode(true, ascii(plain))).toBe(url);
      expect(encodeString(false, ascii(plain))).toBe(b64);
      expect(encodeString(true, ascii(plain))).toBe(url);
      expect(text(decode(false, b64)!)).toBe(plain);
      expect(text(decode(true, url)!)).toBe(plain);
      expect(text(decodeUtf16(false, b64)!)).toBe(plain);
      expect(text(decodeUtf16(true, url)!)).toBe(plain);
      if (b64 !== url) {
        expect(decode(true, b64)).toBeNull(); // base64url (JWS, RFC 7515 §2) has no padding
        expect(decode(false, url)).toBeNull(); // base64 requires it
      }
    });
  }

  it("uses '-' and '_' in base64url where base64 has '+' and '/' (RFC 4648 §5)", () => {
    const data = new Uint8Array([0xfb, 0xff, 0xbf]);
    expect(encode(false, data)).toBe("+/+/");
    expect(encode(true, data)).toBe("-_-_");
    expect(decode(true, "+/+/")).toBeNull();
    expect(decode(false, "-_-_")).toBeNull();
    expect(hex(decode(true, "-_-_")!)).toBe("fbffbf");
  });

  it("rejects non-canonical texts: set trailing bits, 4k+1 lengths, stray padding, whitespace", () => {
    for (const t of ["Zh", "Zm9=", "Zm9vYh", "Z", "Zm9vY", "Zg=", "Zg", "Zg===", "Zm 9v", "Zm9v\n", "=Zm9", "Zm=v", "===="]) {
      expect(decode(false, t), `base64 ${JSON.stringify(t)}`).toBeNull();
    }
    for (const t of ["Zh", "Zm9vYh", "Z", "Zm9vY", "Zg==", "Zg=", "Zm9v ", "Zm9v.", "Zm+v"]) {
      expect(decode(true, t), `base64url ${JSON.stringify(t)}`).toBeNull();
    }
  });

  it("decodes one segment of a string in place ([start, end)), and checks the bounds", () => {
    const jwt = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhIn0.c2ln";
    const [a, b] = [jwt.indexOf("."), jwt.lastIndexOf(".")];
    expect(text(decodeUtf16(true, jwt, 0, a)!)).toBe('{"alg":"EdDSA"}');
    expect(text(decodeUtf16(true, jwt, a + 1, b)!)).toBe('{"sub":"a"}');
    expect(text(decodeUtf16(true, jwt, b + 1)!)).toBe("sig");
    expect(decodeUtf16(true, jwt, 0, jwt.length)).toBeNull(); // the dots
    expect(decodeUtf16(true, jwt, -1, 4)).toBeNull();
    expect(decodeUtf16(true, jwt, 5, 4)).toBeNull();
    expect(decodeUtf16(true, jwt, 0, jwt.length + 1)).toBeNull();
  });

  it("does not mistake a UTF-16 unit above 0xff for its low byte (U+0141 is not 'A')", () => {
    expect(decodeUtf16(true, "QUFB")).not.toBeNull();
    expect(decodeUtf16(true, "QUF\u0142")).toBeNull();
    expect(decodeUtf16(true, "\u0151UFB")).toBeNull();
    expect(decodeUtf16(false, "QUFB\uff1d")).toBeNull();
  });

  it("refuses bad ranges and outputs that are too small, writing nothing past them", () => {
    h.input(ascii("Zm9vYmFy"));
    h.output(8);
    for (const [off, len] of [[-1, 4], [0, 9], [8, 1], [0x7fffffff, 1], [0, -4]] as const) {
      expect(h.exports.b64Decode!(1, off, len, 0)).toBe(-1);
      expect(h.exports.b64Encode!(1, off, len, 0)).toBe(-1);
      expect(h.exports.b64EncodeString!(1, off, len, 0)).toBe(-1);
    }
    expect(h.exports.b64Decode!(1, 0, 8, 3)).toBe(-1); // 6 bytes need out[3..9), only 5 left
    expect(hex(h.read(0, 8))).toBe("0000000000000000");
    expect(h.exports.b64Decode!(1, 0, 8, 2)).toBe(6);
    expect(text(h.read(2, 6))).toBe("foobar");
    expect(h.exports.b64Decode!(1, 0, 8, 9)).toBe(-1);
    expect(h.exports.b64Decode!(1, 0, 8, -1)).toBe(-1);
    expect(h.exports.b64Encode!(1, 0, 6, 0)).toBe(8); // "foobar" -> 8 chars fit exactly
    expect(h.exports.b64Encode!(1, 0, 6, 1)).toBe(-1);
  });
});

describe("against Node's Buffer", () => {
  it("encodes and decodes 10,010 random byte strings of every length 0..1,000 identically (both alphabets, bytes and string APIs)", () => {
    const seed = testSeed();
    const rng = new SeededRandom(seed);
    for (let i = 0; i < 10_010; i++) {
      const data = rng.bytes(i % 1001);
      const url = i % 2 === 0;
      const want = Buffer.from(data).toString(url ? "base64url" : "base64");
      const why = `seed ${seed}, ${url ? "base64url" : "base64"} of ${data.length} bytes`;
      expect(encode(url, data), why).toBe(want);
      if (i % 5 === 0) expect(encodeString(url, data), why).toBe(want);
      expect(hex(decode(url, want) ?? new Uint8Array([1, 2, 3])), why).toBe(hex(data));
      if (i % 5 === 1) expect(hex(decodeUtf16(url, want) ?? new Uint8Array([1, 2, 3])), why).toBe(hex(data));
    }
  });

  it("accepts exactly the canonical texts among 100,000 arbitrary inputs, with Node's bytes, and never traps", () => {
    const seed = testSeed();
    const rng = new SeededRandom(seed);
    const alphabet = (url: boolean) => (url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
    const noise = "=+/-_ .\n\t\u0000\u007f\u0080\u00ff";
    const arbitraryText = (url: boolean): string => {
      const kind = rng.below(4);
      if (kind === 0) { // a valid encoding, then mutated
        const t = Buffer.from(rng.bytes(rng.below(40))).toString(url ? "base64url" : "base64");
        const chars = [...t];
        const edits = rng.below(3);
        for (let e = 0; e < edits; e++) {
          const pos = rng.below(chars.length + 1);
          const op = rng.below(3);
          const c = rng.below(3) === 0 ? noise[rng.below(noise.length)]! : alphabet(url)[rng.below(64)]!;
          if (op === 0) chars.splice(pos, 0, c);
          else if (op === 1) chars.splice(pos, 1);
          else chars[pos] = c;
        }
        return chars.join("");
      }
      if (kind === 1) { // alphabet characters only, any length: the length and last-character rules
        return Array.from({ length: rng.below(20) }, () => alphabet(url)[rng.below(64)]).join("") + (rng.below(3) === 0 ? "=".repeat(rng.below(3)) : "");
      }
      if (kind === 2) { // mostly alphabet with noise
        return Array.from({ length: rng.below(30) }, () => (rng.below(6) === 0 ? noise[rng.below(noise.length)] : alphabet(url)[rng.below(64)])).join("");
      }
      return text(rng.bytes(rng.below(24))); // raw bytes
    };
    let accepted = 0;
    for (let batch = 0; batch < 100; batch++) {
      const url = batch % 2 === 0;
      const texts = Array.from({ length: 1000 }, () => arbitraryText(url));
      h.input(concatBytes(texts.flatMap((t) => [u32le(t.length), ascii(t)])));
      h.output(texts.reduce((n, t) => n + 4 + t.length, 0));
      const used = h.exports.b64DecodeBatch!(url ? 1 : 0, texts.length);
      const out = h.read(0, used);
      const view = new DataView(out.buffer);
      let o = 0;
      for (const t of texts) {
        const n = view.getInt32(o, true);
        const want = canonicalDecode(url, t);
        const why = `seed ${seed}, ${url ? "base64url" : "base64"} ${JSON.stringify(t)}`;
        expect(n >= 0 ? hex(out.subarray(o + 4, o + 4 + n)) : null, why).toBe(want === null ? null : hex(want));
        if (n >= 0) accepted++;
        o += 4 + Math.max(n, 0);
      }
    }
    expect(accepted).toBeGreaterThan(10_000); // the generator reaches both outcomes often
    expect(accepted).toBeLessThan(90_000);
  });

  it("decodes 10,000 arbitrary UTF-16 strings through the string API as Node does", () => {
    const seed = testSeed();
    const rng = new SeededRandom(seed);
    const pool = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=\u0141\u0151\uff21\u00c1 ";
    for (let i = 0; i < 10_000; i++) {
      const url = i % 2 === 0;
      const s = rng.below(3) === 0
        ? Buffer.from(rng.bytes(rng.below(30))).toString(url ? "base64url" : "base64")
        : Array.from({ length: rng.below(16) }, () => pool[rng.below(rng.below(5) === 0 ? pool.length : 66)]).join("");
      const got = decodeUtf16(url, s);
      const want = canonicalDecode(url, s);
      expect(got === null ? null : hex(got), `seed ${seed}, ${JSON.stringify(s)}`).toBe(want === null ? null : hex(want));
    }
  });
});
