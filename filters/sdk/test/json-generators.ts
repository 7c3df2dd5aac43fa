/**
 * fast-check generators of JSON-ish inputs for the JSON reader's property test: valid documents,
 * byte-mutated documents, random bytes, token soups, number texts aimed at rounding (including
 * exact midpoints between adjacent doubles), string literals full of escapes and invalid UTF-8,
 * and texts with lone surrogates for `parseJson(text)`.
 */
import fc from "fast-check";

const enc = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "utf8"));
const cat = (parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));

/** Bytes that matter to a JSON parser or a UTF-8 decoder. */
const INTERESTING = [
  ..."{}[]\",:\\ \t\n\r0123456789eE+-.tfnrulsa/bu",
].map((c) => c.charCodeAt(0)).concat([0x00, 0x1f, 0x7f, 0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff]);

const byteArb = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(...INTERESTING));

/**
 * Objects with repeated keys (JSON.parse: last value, first position), including array-index keys
 * that V8 lists first ("0", "7", "4294967294") and look-alikes it does not ("01", "4294967295", "-1").
 */
const duplicateKeyDocument: fc.Arbitrary<Uint8Array> = fc
  .array(fc.tuple(fc.constantFrom("a", "b", "c", "0", "7", "01", "4294967294", "4294967295", "-1", "__proto__", ""), fc.jsonValue({ maxDepth: 1 })), { maxLength: 12 })
  .chain((members) => fc.constantFrom(...members.length === 0 ? [[]] : [members, [...members, ...members.slice(0, 3)]]))
  .map((members) => enc("{" + members.map(([k, v]) => JSON.stringify(k) + ":" + JSON.stringify(v)).join(",") + "}"));

/** Valid documents: any JSON value, sometimes with unicode (incl. lone surrogates) and indentation. */
const anyValidDocument: fc.Arbitrary<Uint8Array> = fc
  .tuple(
    fc.oneof(
      fc.jsonValue({ maxDepth: 6 }),
      fc.jsonValue({ maxDepth: 4, stringUnit: "binary" }),
      fc.jsonValue({ maxDepth: 4, stringUnit: "grapheme" }),
    ),
    fc.constantFrom(undefined, 0, 1, 2, "\t", "\r\n "),
  )
  .map(([v, indent]) => enc(JSON.stringify(v, null, indent as string | number | undefined) ?? "null"));

export const validDocument: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 4, arbitrary: anyValidDocument },
  { weight: 1, arbitrary: duplicateKeyDocument },
);

type Mutation =
  | { kind: "set"; at: number; byte: number }
  | { kind: "insert"; at: number; bytes: number[] }
  | { kind: "delete"; at: number; n: number }
  | { kind: "truncate"; at: number }
  | { kind: "duplicate"; at: number; n: number; to: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("set" as const), at: fc.nat(), byte: byteArb }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: fc.array(byteArb, { minLength: 1, maxLength: 4 }) }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), n: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("duplicate" as const), at: fc.nat(), n: fc.integer({ min: 1, max: 16 }), to: fc.nat() }),
);

function mutate(input: Uint8Array, mutations: Mutation[]): Uint8Array {
  let b = Array.from(input);
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : m.at % (b.length + 1);
    switch (m.kind) {
      case "set": if (b.length > 0) b[at % b.length] = m.byte; else b = [m.byte]; break;
      case "insert": b.splice(at, 0, ...m.bytes); break;
      case "delete": b.splice(at, m.n); break;
      case "truncate": b = b.slice(0, at); break;
      case "duplicate": { const piece = b.slice(at, at + m.n); b.splice(m.to % (b.length + 1), 0, ...piece); break; }
    }
  }
  return new Uint8Array(b);
}

/** fc.json() documents with one to four byte-level mutations. */
export const mutatedDocument: fc.Arbitrary<Uint8Array> = fc
  .tuple(fc.oneof(fc.json({ maxDepth: 5 }), fc.json({ maxDepth: 3, stringUnit: "binary" })), fc.array(mutationArb, { minLength: 1, maxLength: 4 }))
  .map(([text, ms]) => mutate(enc(text), ms));

export const randomBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 48, size: "max" }),
  fc.array(byteArb, { maxLength: 48, size: "max" }).map((a) => new Uint8Array(a)),
);

const TOKENS = [
  "{", "}", "[", "]", ",", ":", "\"", "\"a\"", "\"\\u00", "\"\\ud800\"", "\\", "0", "1", "9", "-", "+", ".", "e", "E",
  "true", "false", "null", "tru", "nul", " ", "\n", "\t", "\r", "\f", "\v", "1.5", "-0", "01", "1e5", "é", "\u2028",
  "\u0000", "\u007f", "\ufeff", "\u00a0", "NaN", "Infinity", "'a'", "/*", "//", "\"\\\"\"", "\"\\/\"", "\"\\x\"",
];

/** Random sequences of JSON tokens and near-tokens. */
export const tokenSoup: fc.Arbitrary<Uint8Array> = fc.array(fc.constantFrom(...TOKENS), { maxLength: 40, size: "max" }).map((t) => enc(t.join("")));

// ===== numbers =====

const digitString = (min: number, max: number) => fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: min, maxLength: max });

const intPart = fc.oneof(
  { weight: 2, arbitrary: fc.constant("0") },
  { weight: 8, arbitrary: fc.tuple(fc.constantFrom(..."123456789"), digitString(0, 24)).map(([a, b]) => a + b) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(..."123456789"), digitString(280, 820)).map(([a, b]) => a + b) },
);
const fracPart = fc.oneof(
  { weight: 8, arbitrary: digitString(1, 24) },
  { weight: 1, arbitrary: digitString(300, 820) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 340 }), digitString(1, 20)).map(([z, d]) => "0".repeat(z) + d) },
);
const expPart = fc.tuple(
  fc.constantFrom("e", "E"),
  fc.constantFrom("", "+", "-"),
  fc.oneof(digitString(1, 3), fc.integer({ min: 0, max: 400 }).map(String), digitString(4, 12)),
).map(([e, s, d]) => e + s + d);

/** Numbers by the grammar, from short to 800+ digits, with exponents well past the f64 range. */
const grammarNumber = fc
  .tuple(fc.boolean(), intPart, fc.option(fracPart, { nil: undefined }), fc.option(expPart, { nil: undefined }))
  .map(([neg, i, f, e]) => (neg ? "-" : "") + i + (f !== undefined ? "." + f : "") + (e ?? ""));

const finiteDouble = fc.double({ noNaN: true, noDefaultInfinity: true });

/** Doubles as JavaScript prints them, with more or fewer digits than needed. */
const printedDouble = fc.tuple(finiteDouble, fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 40 })).map(([d, how, k]) => {
  switch (how) {
    case 0: return String(d);
    case 1: return d.toExponential(Math.min(k, 100));
    case 2: return d.toPrecision(Math.min(k, 100));
    default: return Math.abs(d) < 1e21 ? d.toFixed(Math.min(k, 100)) : String(d);
  }
});

/** Exact decimal digits of m * 2^e2 (m > 0), with the decimal point placed. */
function exactDecimal(m: bigint, e2: number): { digits: string; point: number } {
  if (e2 >= 0) { const s = (m << BigInt(e2)).toString(); return { digits: s, point: s.length }; }
  const k = -e2;
  const s = (m * 5n ** BigInt(k)).toString();
  return { digits: s, point: s.length - k };
}

/**
 * The exact midpoint between a positive double and the next one up (a tie: the reader must round
 * half to even), a hair above or below it, or above it by a digit past the 800th significant one
 * (which only the reader's sticky truncation flag sees); in plain or scientific notation.
 */
const midpointNumber = fc.tuple(finiteDouble, fc.constantFrom("tie", "above", "below", "beyond"), fc.boolean()).map(([d, where, scientific]) => {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(d) === Number.MAX_VALUE ? 1 : Math.abs(d));
  const bits = view.getBigUint64(0);
  const exp = Number((bits >> 52n) & 0x7ffn);
  const frac = bits & ((1n << 52n) - 1n);
  const [mant, e2] = exp === 0 ? [frac, -1074] : [frac | (1n << 52n), exp - 1075];
  let { digits, point } = exactDecimal(2n * mant + 1n, e2 - 1);
  if (where === "above") digits += "0000001";
  if (where === "below") digits = digits.slice(0, -1) + String(Number(digits.at(-1)) - 1) + "9999999";
  const lead = digits.search(/[1-9]/);
  digits = digits.slice(lead);
  point -= lead;
  if (where === "beyond") digits += "0".repeat(Math.max(0, 805 - digits.length)) + "1";
  const sign = d < 0 ? "-" : "";
  if (scientific || point > 400 || point < -400) {
    return `${sign}${digits[0]}${digits.length > 1 ? "." + digits.slice(1) : ""}e${point - 1}`;
  }
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + "0".repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
});

const anyNumber = fc.oneof(grammarNumber, printedDouble, midpointNumber);

/** A bare number or an array of up to eight, so one input checks several conversions. */
export const numberDocument: fc.Arbitrary<Uint8Array> = fc.oneof(
  anyNumber.map(enc),
  fc.array(anyNumber, { minLength: 1, maxLength: 8 }).map((ns) => enc("[" + ns.join(",") + "]")),
);

// ===== strings =====

const stringPiece: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: "binary", maxLength: 6 }).map((s) => enc(s.replace(/["\\\u0000-\u001f]/g, ""))) },
  { weight: 2, arbitrary: fc.constantFrom("\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t").map(enc) },
  {
    weight: 3,
    arbitrary: fc.tuple(fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0xd800, max: 0xdfff })), fc.boolean())
      .map(([u, upper]) => { const h = u.toString(16).padStart(4, "0"); return enc("\\u" + (upper ? h.toUpperCase() : h)); }),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      [0xc3], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0xc0, 0x80], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf],
      [0xf4, 0x90, 0x80, 0x80], [0xf5], [0xff], [0x80], [0xbf, 0xbf], [0xf0, 0x80, 0x80, 0x80], [0xe0, 0xa0], [0xdf],
    ).map((b) => new Uint8Array(b)),
  },
  { weight: 1, arbitrary: fc.constantFrom("\\x", "\\u12", "\\u12G4", "\\", "\u0001", "\t", "\n", "\u001f", "\\U0041", "\\'").map(enc) },
);

/** String literals (alone, as a key, or in an array) built from escapes, code points and bad bytes. */
export const stringDocument: fc.Arbitrary<Uint8Array> = fc
  .tuple(fc.array(stringPiece, { maxLength: 10 }), fc.constantFrom("value", "key", "array"))
  .map(([pieces, where]) => {
    const lit = cat([enc("\""), ...pieces, enc("\"")]);
    if (where === "key") return cat([enc("{"), lit, enc(":"), lit, enc("}")]);
    if (where === "array") return cat([enc("["), lit, enc(","), lit, enc("]")]);
    return lit;
  });

// ===== text mode: JavaScript strings, lone surrogates included =====

/** Texts for parseJson(text): documents whose \uD800-style escapes are turned into raw code units. */
export const textDocument: fc.Arbitrary<string> = fc.oneof(
  fc.json({ maxDepth: 3, stringUnit: "binary" }).map((t) => t.replace(/\\u(d[89a-f][0-9a-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))),
  fc.string({ unit: "binary", maxLength: 20 }).map((s) => "\"" + s + "\""),
  fc.tuple(fc.string({ unit: "binary", maxLength: 8 }), fc.string({ unit: "binary", maxLength: 8 })).map(([k, v]) => `{"${k}":"${v}"}`),
);
