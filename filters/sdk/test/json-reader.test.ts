/**
 * Table tests of the SDK's JSON reader (filters/sdk/json.ts) through the release-built harness
 * (harness/json-harness.as.ts), in the manner of JSONTestSuite's y_ / n_ files:
 *  - y_: accepted, with JSON.parse's value (canonical form: f64 bits, code units, V8 key order);
 *  - n_: rejected by both, with the exact byte offset, field path and message the parser reports
 *    ("<message>[ at <path>] (line L, column C, byte B)");
 *  - the nesting limit at the limit and one past (an error, never a trap), numbers at the edges
 *    of f64 (1e400 is Infinity as in JSON.parse, -0 kept), 1 MiB strings and keys, every proper
 *    prefix of a document, and the typed getters of JsonValue / JsonObject.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { canonical, compileJsonHarness, loadJsonHarness, nodeParse, type JsonHarness } from "./json-harness.ts";

let h: JsonHarness;
beforeAll(async () => {
  h = await loadJsonHarness(await compileJsonHarness());
}, 180_000);

const bytes = (...b: number[]) => new Uint8Array(b);
const utf8 = (s: string) => new Uint8Array(Buffer.from(s, "utf8"));
const show = (x: string | Uint8Array) => (typeof x === "string" ? JSON.stringify(x) : `0x${Buffer.from(x).toString("hex")}`);

/** Accepted by the guest with exactly JSON.parse's value. */
function expectSameValue(input: string | Uint8Array, mode: "bytes" | "text" = "bytes"): string {
  const node = nodeParse(input, mode);
  expect(node.ok, `JSON.parse accepts ${show(input)}`).toBe(true);
  const guest = h.parse(input, mode);
  expect(guest, show(input)).toMatchObject({ ok: true, error: "", offset: 0, path: "", canonical: node.canonical });
  return guest.canonical;
}

describe("y_: accepted with JSON.parse's value", () => {
  const accepted: Array<[string, string | Uint8Array]> = [
    ["y_object_empty", "{}"],
    ["y_array_empty", "[]"],
    ["y_array_of_empties", "[[],{},[{}],{\"a\":[]}]"],
    ["y_structure_top_level_string", "\"a\""],
    ["y_structure_top_level_number", "42"],
    ["y_structure_top_level_true", "true"],
    ["y_structure_top_level_false", "false"],
    ["y_structure_top_level_null", "null"],
    ["y_string_empty", "\"\""],
    ["y_number_zero", "0"],
    ["y_number_minus_zero", "-0"],
    ["y_number_fraction", "0.5"],
    ["y_number_exponents", "[1E+2,1e-2,1E2,-1.5e3,123e65,0e0,0.0e-0]"],
    ["y_structure_whitespace_kinds", " \t\n\r[ \t\n\r1 \t\n\r, \t\n\r{ \t\n\r\"a\" \t\n\r: \t\n\rnull \t\n\r} \t\n\r] \t\n\r"],
    ["y_string_short_escapes", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\""],
    ["y_string_unicode_escapes", "\"\\u0041\\u00e9\\u00E9\\u20AC\\uD83D\\uDE00\\u0000\""],
    ["y_string_lone_high_surrogate_escape", "\"\\uD800\""],
    ["y_string_lone_low_surrogate_escape", "\"\\uDC00x\""],
    ["y_string_reversed_surrogate_pair", "\"\\uDC00\\uD800\""],
    ["y_string_high_surrogate_then_letter", "\"\\uDBFF\\u0041\""],
    ["y_string_raw_utf8", "\"é€😀\""],
    ["y_string_raw_del_and_line_separators", "\"\x7f\u2028\u2029\""],
    ["y_string_invalid_utf8_replaced", bytes(0x22, 0xff, 0xc0, 0x80, 0xed, 0xa0, 0x80, 0xf4, 0x90, 0x22)],
    ["y_string_truncated_utf8_replaced", bytes(0x22, 0xe2, 0x82, 0x22)],
    ["y_object_duplicate_key_last_wins", "{\"a\":1,\"b\":2,\"a\":3}"],
    ["y_object_index_keys_first", "{\"b\":1,\"7\":2,\"01\":3,\"0\":4}"],
    ["y_object_empty_key", "{\"\":0}"],
    ["y_object_proto_key", "{\"__proto__\":{\"x\":1}}"],
    ["y_object_many_keys", "{" + Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`).join(",") + ",\"k3\":\"again\"}"],
  ];
  for (const [name, input] of accepted) it(`${name}: ${show(input)}`, () => { expectSameValue(input); });

  it("a lone surrogate in parseJson's text is kept (JSON.parse keeps it)", () => {
    expect(expectSameValue("[\"a\ud800b\", \"\udc00\"]", "text")).toBe("[\"a\\d800b\",\"\\dc00\"]");
  });

  it("the same surrogate as UTF-8 bytes (ED A0 80) is three U+FFFD, as Node decodes it", () => {
    expect(expectSameValue(bytes(0x22, 0xed, 0xa0, 0x80, 0x22))).toBe("\"\\fffd\\fffd\\fffd\"");
  });
});

interface Rejection {
  name: string;
  input: string | Uint8Array;
  offset: number;
  message: string;
  path?: string;
}

/** Single-line inputs: the column is offset + 1. */
const rejected: Rejection[] = [
  { name: "n_structure_no_data", input: "", offset: 0, message: "unexpected end of input, expected a value" },
  { name: "n_structure_whitespace_only", input: " \t\r ", offset: 4, message: "unexpected end of input, expected a value" },
  { name: "n_number_leading_zero", input: "01", offset: 1, message: "unexpected '1', expected end of input after the JSON value" },
  { name: "n_number_minus_leading_zero", input: "-012", offset: 2, message: "unexpected '1', expected end of input after the JSON value" },
  { name: "n_number_double_zero", input: "[00]", offset: 2, message: "unexpected '0', expected ',' or ']' after an array element" },
  { name: "n_number_trailing_dot", input: "1.", offset: 2, message: "unexpected end of input, expected a digit after the decimal point" },
  { name: "n_number_dot_exponent", input: "[1.e5]", offset: 3, message: "unexpected 'e', expected a digit after the decimal point", path: "[0]" },
  { name: "n_number_leading_dot", input: ".5", offset: 0, message: "unexpected '.', expected a value" },
  { name: "n_number_minus_alone", input: "-", offset: 1, message: "unexpected end of input, expected a digit after '-'" },
  { name: "n_number_minus_space", input: "- 1", offset: 1, message: "unexpected byte 0x20, expected a digit after '-'" },
  { name: "n_number_plus", input: "+1", offset: 0, message: "unexpected '+', expected a value" },
  { name: "n_number_exponent_empty", input: "1e", offset: 2, message: "unexpected end of input, expected a digit in the exponent" },
  { name: "n_number_exponent_sign_only", input: "1e+", offset: 3, message: "unexpected end of input, expected a digit in the exponent" },
  { name: "n_number_hex", input: "0x10", offset: 1, message: "unexpected 'x', expected end of input after the JSON value" },
  { name: "n_number_NaN", input: "NaN", offset: 0, message: "unexpected 'N', expected a value" },
  { name: "n_number_Infinity", input: "Infinity", offset: 0, message: "unexpected 'I', expected a value" },
  { name: "n_number_minus_Infinity", input: "-Infinity", offset: 1, message: "unexpected 'I', expected a digit after '-'" },
  { name: "n_array_trailing_comma", input: "[1,]", offset: 3, message: "unexpected ']', expected a value", path: "[1]" },
  { name: "n_array_leading_comma", input: "[,1]", offset: 1, message: "unexpected ',', expected a value", path: "[0]" },
  { name: "n_array_missing_comma", input: "[1 2]", offset: 3, message: "unexpected '2', expected ',' or ']' after an array element" },
  { name: "n_array_unclosed", input: "[", offset: 1, message: "unexpected end of input, expected a value", path: "[0]" },
  { name: "n_array_extra_close", input: "[1]]", offset: 3, message: "unexpected ']', expected end of input after the JSON value" },
  { name: "n_object_trailing_comma", input: "{\"a\":1,}", offset: 7, message: "unexpected '}', expected a string key" },
  { name: "n_object_trailing_comma_nested", input: "{\"a\":{\"b\":1,}}", offset: 12, message: "unexpected '}', expected a string key", path: "a" },
  { name: "n_object_comma_only", input: "{,}", offset: 1, message: "unexpected ',', expected a string key" },
  { name: "n_object_single_quoted_key", input: "{'a':1}", offset: 1, message: "unexpected ''', expected a string key" },
  { name: "n_object_number_key", input: "{1:2}", offset: 1, message: "unexpected '1', expected a string key" },
  { name: "n_object_missing_colon", input: "{\"a\" 1}", offset: 5, message: "unexpected '1', expected ':' after an object key", path: "a" },
  { name: "n_object_missing_value", input: "{\"a\":}", offset: 5, message: "unexpected '}', expected a value", path: "a" },
  { name: "n_object_missing_comma", input: "{\"a\":1 \"b\":2}", offset: 7, message: "unexpected '\"', expected ',' or '}' after an object member" },
  { name: "n_object_unclosed_after_key", input: "{\"a\"", offset: 4, message: "unexpected end of input, expected ':' after an object key", path: "a" },
  { name: "n_object_unclosed_after_colon", input: "{\"a\":", offset: 5, message: "unexpected end of input, expected a value", path: "a" },
  { name: "n_string_single_quotes", input: "'a'", offset: 0, message: "unexpected ''', expected a value" },
  { name: "n_string_unterminated", input: "\"abc", offset: 4, message: "unexpected end of input in a string" },
  { name: "n_string_backslash_at_end", input: "\"abc\\", offset: 5, message: "unexpected end of input in a string" },
  { name: "n_string_raw_tab", input: "\"a\tb\"", offset: 2, message: "unescaped control character 0x09 in a string" },
  { name: "n_string_raw_newline", input: "[\"a\nb\"]", offset: 3, message: "unescaped control character 0x0A in a string", path: "[0]" },
  { name: "n_string_raw_nul", input: "\"\u0000\"", offset: 1, message: "unescaped control character 0x00 in a string" },
  { name: "n_string_raw_unit_separator", input: "{\"k\x1f\":1}", offset: 3, message: "unescaped control character 0x1F in a string" },
  { name: "n_string_bad_escape_x", input: "\"\\x41\"", offset: 1, message: "invalid escape '\\x' in a string" },
  { name: "n_string_bad_escape_capital_U", input: "\"\\U0041\"", offset: 1, message: "invalid escape '\\U' in a string" },
  { name: "n_string_bad_escape_quote", input: "\"\\'\"", offset: 1, message: "invalid escape '\\'' in a string" },
  { name: "n_string_bad_escape_space", input: "\"\\ \"", offset: 1, message: "invalid escape '\\' before byte 0x20 in a string" },
  { name: "n_string_bad_escape_utf8", input: "\"\\é\"", offset: 1, message: "invalid escape '\\' before byte 0xC3 in a string" },
  { name: "n_string_unicode_escape_non_hex", input: "\"\\u00G1\"", offset: 5, message: "invalid \\u escape: expected 4 hex digits" },
  { name: "n_string_unicode_escape_short", input: "\"\\u12\"", offset: 5, message: "invalid \\u escape: expected 4 hex digits" },
  { name: "n_string_unicode_escape_truncated", input: "\"\\u12", offset: 5, message: "unexpected end of input in a \\u escape" },
  { name: "n_literal_truncated_null", input: "nul", offset: 3, message: "unexpected end of input, expected 'l' in literal null" },
  { name: "n_literal_truncated_true", input: "[tru]", offset: 4, message: "unexpected ']', expected 'e' in literal true", path: "[0]" },
  { name: "n_literal_capitalized", input: "True", offset: 0, message: "unexpected 'T', expected a value" },
  { name: "n_literal_wrong_case_inside", input: "nuLl", offset: 2, message: "unexpected 'L', expected 'l' in literal null" },
  { name: "n_literal_trailing_letter", input: "truex", offset: 4, message: "unexpected 'x', expected end of input after the JSON value" },
  { name: "n_structure_two_values", input: "[1] [2]", offset: 4, message: "unexpected '[', expected end of input after the JSON value" },
  { name: "n_structure_trailing_garbage", input: "{\"a\":1}x", offset: 7, message: "unexpected 'x', expected end of input after the JSON value" },
  { name: "n_structure_block_comment", input: "/* c */ 1", offset: 0, message: "unexpected '/', expected a value" },
  { name: "n_structure_line_comment", input: "[1] // c", offset: 4, message: "unexpected '/', expected end of input after the JSON value" },
  { name: "n_structure_utf8_bom", input: bytes(0xef, 0xbb, 0xbf, 0x31), offset: 0, message: "unexpected byte 0xEF, expected a value" },
  { name: "n_structure_form_feed", input: "\f1", offset: 0, message: "unexpected byte 0x0C, expected a value" },
  { name: "n_structure_vertical_tab", input: "[1,\v2]", offset: 3, message: "unexpected byte 0x0B, expected a value", path: "[1]" },
  { name: "n_structure_no_break_space", input: "\u00a01", offset: 0, message: "unexpected byte 0xC2, expected a value" },
  { name: "n_structure_line_separator", input: "1\u2028", offset: 1, message: "unexpected byte 0xE2, expected end of input after the JSON value" },
  { name: "n_structure_ideographic_space", input: "{\u3000}", offset: 1, message: "unexpected byte 0xE3, expected a string key" },
  { name: "n_structure_invalid_utf8_outside_string", input: bytes(0x5b, 0xff, 0x5d), offset: 1, message: "unexpected byte 0xFF, expected a value", path: "[0]" },
  { name: "n_structure_nul_outside_string", input: bytes(0x31, 0x00), offset: 1, message: "unexpected byte 0x00, expected end of input after the JSON value" },
  // paths of the member or element being read when the error hit
  { name: "n_path_array_of_objects", input: "{\"rules\":[{\"m\":1},{\"m\":2},{\"m\":tru}]}", offset: 34, message: "unexpected '}', expected 'e' in literal true", path: "rules[2].m" },
  { name: "n_path_deep_escape", input: "{\"a\":{\"b\":[1,2,{\"c\":\"\\q\"}]}}", offset: 21, message: "invalid escape '\\q' in a string", path: "a.b[2].c" },
  { name: "n_path_quoted_keys", input: "{\"x.y\":{\"a b\":[0,]}}", offset: 17, message: "unexpected ']', expected a value", path: "[\"x.y\"][\"a b\"][1]" },
  { name: "n_path_key_with_escapes", input: "{\"q\\\"\\n\":[1,}", offset: 12, message: "unexpected '}', expected a value", path: "[\"q\\\"\\u000a\"][1]" },
  { name: "n_path_closed_sibling_not_included", input: "{\"a\":[1],\"b\":{\"c\":[2,3 4]}}", offset: 23, message: "unexpected '4', expected ',' or ']' after an array element", path: "b.c" },
];

describe("n_: rejected, with the exact offset, path and message", () => {
  for (const c of rejected) {
    it(`${c.name}: ${show(c.input)}`, () => {
      expect(nodeParse(c.input).ok, "JSON.parse rejects it too").toBe(false);
      const path = c.path ?? "";
      const where = ` (line 1, column ${c.offset + 1}, byte ${c.offset})`;
      expect(h.parse(c.input)).toEqual({ ok: false, offset: c.offset, path, canonical: "", error: c.message + (path ? ` at ${path}` : "") + where });
    });
  }

  it("counts lines and columns (in bytes) across LF", () => {
    const r = h.parse("\n\n  {\n  \"a\": ,\n}");
    expect(r).toMatchObject({ ok: false, offset: 13, path: "a" });
    expect(r.error).toBe("unexpected ',', expected a value at a (line 4, column 8, byte 13)");
    const crlf = h.parse("{\r\n\"é\": [\r\n  1,\r\n  x]}");
    expect(crlf.error).toBe("unexpected 'x', expected a value at [\"é\"][1] (line 4, column 3, byte 20)");
    expect(crlf.offset).toBe(20);
  });

  it("parseJson(text) reports offsets in the text's UTF-8 encoding; paths escape surrogates", () => {
    const r = h.parse("{\"é😀\": x}", "text"); // '{' '"' é(2) 😀(4) '"' ':' ' ' then x at byte 11
    expect(r).toMatchObject({ ok: false, offset: 11, path: "[\"é\\ud83d\\ude00\"]" });
    expect(r.error).toBe("unexpected 'x', expected a value at [\"é\\ud83d\\ude00\"] (line 1, column 12, byte 11)");
  });

  it("every proper prefix of a document ends in an 'end of input' error at the prefix length", () => {
    const doc = "{\"name\": \"grpc-auth é\", \"rules\": [{\"method\": \"/pkg.Svc/Get\", \"allow\": true, \"priority\": -12.5e-3},\n" +
      " {\"jwt\": {\"issuer\": \"https://issuer.example\", \"audiences\": [\"a\", \"\\u00e9\\n\"]}}], \"nothing\": null, \"off\": false}";
    const full = utf8(doc);
    expectSameValue(full);
    const prefixes = Array.from({ length: full.length }, (_, n) => full.subarray(0, n));
    const results = h.parseBatch(prefixes);
    results.forEach((r, n) => {
      expect(nodeParse(prefixes[n]!).ok, `JSON.parse rejects the ${n}-byte prefix`).toBe(false);
      expect({ n, ok: r.ok, offset: r.offset, end: r.error.includes("end of input") }).toEqual({ n, ok: false, offset: n, end: true });
    });
    const cut = (s: string) => results[Buffer.byteLength(doc.slice(0, doc.indexOf(s)), "utf8")]!.path;
    expect(cut("Svc/Get")).toBe("rules[0].method");
    expect(cut("true")).toBe("rules[0].allow");
    expect(cut("-12.5")).toBe("rules[0].priority");
    expect(cut("example")).toBe("rules[1].jwt.issuer");
    expect(cut("\\u00e9\\n")).toBe("rules[1].jwt.audiences[1]");
  });
});

describe("nesting limit: an error at the limit + 1, never a trap", () => {
  const arrays = (d: number) => "[".repeat(d) + "]".repeat(d);
  const objects = (d: number) => "{\"a\":".repeat(d) + "1" + "}".repeat(d);

  it("128 nested arrays and 128 nested objects are accepted", () => {
    expectSameValue(arrays(128));
    expectSameValue(objects(128));
    expectSameValue("[{\"a\":".repeat(64) + "0" + "}]".repeat(64));
  });

  it("129 nested arrays: rejected at the 129th '[' with the path of 128 elements", () => {
    const path = "[0]".repeat(128);
    expect(h.parse(arrays(129))).toEqual({
      ok: false, offset: 128, path, canonical: "",
      error: `nesting deeper than 128 arrays and objects at ${path} (line 1, column 129, byte 128)`,
    });
  });

  it("129 nested objects: rejected at the 129th '{'", () => {
    const r = h.parse(objects(129));
    expect(r).toMatchObject({ ok: false, offset: 5 * 128, path: Array(128).fill("a").join(".") });
    expect(r.error).toMatch(/^nesting deeper than 128 arrays and objects at a(\.a){127} \(line 1, column 641, byte 640\)$/);
  });

  it("a depth given to parseJsonBytes: at the limit and one past", () => {
    expectSameValue("[[1]]");
    expect(h.parse("[[1]]", "bytes", 2).ok).toBe(true);
    expect(h.parse("{\"a\":{}}", "bytes", 2).ok).toBe(true);
    expect(h.parse("[[[1]]]", "bytes", 2)).toMatchObject({ ok: false, offset: 2, path: "[0][0]", error: "nesting deeper than 2 arrays and objects at [0][0] (line 1, column 3, byte 2)" });
    expect(h.parse("{\"a\":{\"b\":[]}}", "bytes", 2)).toMatchObject({ ok: false, offset: 10, path: "a.b" });
    expect(h.parse("[[1]]", "text", 1)).toMatchObject({ ok: false, offset: 1, path: "[0]" });
  });

  it("depth is counted on the open path, not in total: 1,000 siblings at depth 128", () => {
    const doc = "[".repeat(127) + Array(1000).fill("[0]").join(",") + "]".repeat(127);
    expect(h.parse(doc).ok).toBe(true);
  });

  it("a megabyte of '[' (or '{\"a\":') is a clean error at the limit, and the VM keeps working", () => {
    const r = h.parse("[".repeat(1 << 20));
    expect(r).toMatchObject({ ok: false, offset: 128 });
    expect(h.parse("{\"a\":".repeat(200_000))).toMatchObject({ ok: false, offset: 640 });
    expectSameValue("{\"still\":[\"working\"]}");
  });
});

describe("numbers: JSON.parse's f64, overflow to Infinity, -0 kept", () => {
  const bits = (n: number) => canonical(n);
  it("1e400 is Infinity and -1e400 -Infinity (JSON.parse gives Infinity)", () => {
    expect(JSON.parse("1e400")).toBe(Infinity);
    expect(expectSameValue("1e400")).toBe(bits(Infinity));
    expect(expectSameValue("-1e400")).toBe(bits(-Infinity));
    expect(expectSameValue("1" + "0".repeat(400))).toBe(bits(Infinity));
  });

  it("-0 keeps its sign; underflow gives ±0", () => {
    expect(expectSameValue("-0")).toBe("#8000000000000000");
    expect(expectSameValue("-0.0e99")).toBe("#8000000000000000");
    expect(expectSameValue("1e-400")).toBe("#0000000000000000");
    expect(expectSameValue("-1e-400")).toBe("#8000000000000000");
  });

  const table = [
    "1.7976931348623157e308", "1.7976931348623158e308", "1.7976931348623159e308", "-1.7976931348623157e308",
    "4.9406564584124654e-324", "5e-324", "2.4703282292062327e-324", "2.4703282292062328e-324",
    "2.2250738585072011e-308", "2.2250738585072014e-308", "9007199254740993", "-9007199254740993",
    "9007199254740993.0000000000000000000000000001", "0.1", "0.3", "123456789012345678901234567890",
    "1e23", "8.41e21", "7.3177701707893310e+15", "0." + "0".repeat(330) + "1", "1" + "0".repeat(308),
    "2.47032822920623272088284396434110686182529901307162382212792841250337753635104375932649918180817996189898282347722858865463328355177969898199387398005390939063150356595155702263922908583924491051844359318028499365361525003193704576782492193656236698636584807570015857692699037063119282795585513329278343384093519780155312465972635795746227664652728272200563740064854999770965994704540208281662262378573934507363390079677619305775067401763246736009689513405355374585166611342237666786041621596804619144672918403005300575308490487653917113865916462395249126236538818796362393732804238910186723484976682350898633885879256283027559956575244555072551893136908362547791869486679949683240497058210285131854513962138377228261454376934125320985913276672363281255e-324",
  ];
  for (const text of table) it(`${text.length > 40 ? text.slice(0, 30) + "… (" + text.length + " chars)" : text}`, () => { expectSameValue(`[${text}]`); });
});

describe("long strings", () => {
  const MiB = 1 << 20;
  it("a 1 MiB ASCII string", () => { expectSameValue(`"${"a".repeat(MiB)}"`); });
  it("a 1 MiB string of escapes, surrogate pairs and multi-byte UTF-8, then a short one (scratch reset)", () => {
    const unit = "é\\n😀\\u0041\\\"€\\uD83D\\uDE00x";
    const doc = `["${unit.repeat(Math.ceil(MiB / unit.length))}"]`;
    expect(doc.length).toBeGreaterThan(MiB);
    expectSameValue(doc);
    expect(expectSameValue("\"\\t\\u00e9\"")).toBe("\"\\0009\\00e9\"");
  });
  it("a 1 MiB key and a 1 MiB string value next to it", () => {
    expectSameValue(`{"${"k".repeat(MiB)}":1,"v":"${"é".repeat(MiB / 2)}"}`);
  });
  it("an unterminated 1 MiB string is an error at its end", () => {
    const doc = `{"a":"${"x".repeat(MiB)}`;
    expect(h.parse(doc)).toMatchObject({ ok: false, offset: doc.length, path: "a" });
  });
});

/** The harness's `inspect` lines, named. */
function getters(json: string, probes: string[] = []) {
  const l = h.inspect(json, probes);
  expect(l.length, l.join(" | ")).toBe(10 + probes.length);
  return {
    kind: Number(l[0]), typeName: l[1], is: l[2], asBool: l[3], numberBits: l[4], isInteger: l[5] === "1",
    integerValue: l[6], asString: l[7], arrayLength: Number(l[8]), keys: l[9], probes: l.slice(10),
  };
}

describe("JsonValue getters: a wrong type gives null / NaN / the fallback, never a coercion", () => {
  // is: isNull isBool isNumber isString isArray isObject; asBool: asBool(false) asBool(true)
  const kinds: Array<[string, object]> = [
    ["null", { kind: 0, typeName: "null", is: "100000", asBool: "01", numberBits: "NaN", asString: "<null>", arrayLength: -1, keys: "<null>" }],
    ["true", { kind: 1, typeName: "boolean", is: "010000", asBool: "11", numberBits: "NaN", asString: "<null>", arrayLength: -1, keys: "<null>" }],
    ["false", { kind: 1, typeName: "boolean", is: "010000", asBool: "00", numberBits: "NaN", asString: "<null>", arrayLength: -1, keys: "<null>" }],
    ["1", { kind: 2, typeName: "number", is: "001000", asBool: "01", numberBits: "3ff0000000000000", asString: "<null>", arrayLength: -1, keys: "<null>" }],
    ["0", { kind: 2, typeName: "number", is: "001000", asBool: "01", numberBits: "0", asString: "<null>", arrayLength: -1, keys: "<null>" }],
    ["\"true\"", { kind: 3, typeName: "string", is: "000100", asBool: "01", numberBits: "NaN", isInteger: false, asString: "true", arrayLength: -1, keys: "<null>" }],
    ["\"1\"", { kind: 3, typeName: "string", is: "000100", asBool: "01", numberBits: "NaN", isInteger: false, integerValue: "0", asString: "1", arrayLength: -1 }],
    ["\"\"", { kind: 3, typeName: "string", is: "000100", asString: "", arrayLength: -1, keys: "<null>" }],
    ["[1,\"a\",null]", { kind: 4, typeName: "array", is: "000010", asBool: "01", numberBits: "NaN", isInteger: false, asString: "<null>", arrayLength: 3, keys: "<null>" }],
    ["[]", { kind: 4, typeName: "array", arrayLength: 0, keys: "<null>" }],
    ["{\"b\":1,\"a\":2}", { kind: 5, typeName: "object", is: "000001", asBool: "01", numberBits: "NaN", isInteger: false, asString: "<null>", arrayLength: -1, keys: "b,a" }],
    ["{}", { kind: 5, typeName: "object", arrayLength: -1, keys: "" }],
  ];
  for (const [json, expected] of kinds) it(json, () => { expect(getters(json)).toMatchObject(expected); });

  it("isInteger is Number.isSafeInteger: 3.0 yes, 3.7 no, 2^53 + 1 no, 1e300 no", () => {
    const table: Array<[string, boolean, string]> = [
      ["3", true, "3"], ["3.0", true, "3"], ["0.3e1", true, "3"], ["1e2", true, "100"], ["-3", true, "-3"],
      ["-0", true, "0"], ["3.7", false, "0"], ["-3.7", false, "0"], ["0.5", false, "0"],
      ["9007199254740991", true, "9007199254740991"], ["-9007199254740991", true, "-9007199254740991"],
      ["9007199254740992", false, "0"], ["9007199254740993", false, "0"], ["1e300", false, "0"],
      ["1e400", false, "0"], ["-1e400", false, "0"], ["5e-324", false, "0"],
    ];
    for (const [json, integer, value] of table) {
      expect(Number.isSafeInteger(JSON.parse(json)), `Number.isSafeInteger(${json})`).toBe(integer);
      const g = getters(json);
      expect({ json, isInteger: g.isInteger, integerValue: g.integerValue, numberBits: g.numberBits })
        .toEqual({ json, isInteger: integer, integerValue: value, numberBits: canonical(JSON.parse(json)).slice(1).replace(/^0+(?=.)/, "") });
    }
  });

  it("JsonObject: get / has tell an absent key (null) from a null value; last duplicate wins", () => {
    const g = getters("{\"a\":1,\"b\":null,\"a\":\"x\",\"\":[]}", ["a", "b", "", "c", "A", "__proto__", "constructor"]);
    expect(g.keys).toBe("a,b,");
    expect(g.probes).toEqual(["a=1string", "b=1null", "=1array", "c=0<null>", "A=0<null>", "__proto__=0<null>", "constructor=0<null>"]);
  });

  it("JsonObject with more keys than the linear-scan threshold (hashed lookups)", () => {
    const keys = Array.from({ length: 30 }, (_, i) => `key${i}`);
    const json = "{" + keys.map((k, i) => `"${k}":${i % 2 ? "true" : "\"s\""}`).join(",") + ",\"key7\":null}";
    const g = getters(json, ["key0", "key7", "key29", "key30", "key"]);
    expect(g.keys).toBe(keys.join(","));
    expect(g.probes).toEqual(["key0=1string", "key7=1null", "key29=1boolean", "key30=0<null>", "key=0<null>"]);
  });
});
