/**
 * ConfigReader: reads a filter's JSON configuration in onConfigure with typed, path-precise
 * checks, in the manner of Envoy's config validation (errors at load time, each naming its field):
 *
 *   const reader = new ConfigReader();
 *   const root = reader.readBytes(bytes);               // null: invalid JSON or not an object
 *   if (root !== null) {
 *     root.unknownFields(["rules"]);
 *     const rules = root.requiredArray("rules");
 *     for (let i = 0; rules !== null && i < rules.length; i++) {
 *       const rule = rules.object(i);
 *       if (rule === null) continue;
 *       const method = rule.requiredString("method");   // rules[2].method: expected string, got number
 *     }
 *   }
 *   if (!reader.ok()) { log(reader.summary()); return false; }
 *
 * Contract:
 *  - Every failed check records "<path>: <message>" (e.g. `rules[2].method: expected string, got
 *    number`) and returns a placeholder ("" / false / 0 / NaN / the fallback / null). Values read
 *    after an error are meaningless; check `ok()` once at the end. Up to `maxErrors` errors are
 *    kept (the rest are counted): 1 keeps only the first.
 *  - `required*` fields must be present and not null; `optional*` fields treat absent and null
 *    alike (protobuf's JSON mapping) and return the fallback.
 *  - Integers are JSON numbers for which `JsonValue.isInteger()` holds (exactly integral, within
 *    ±(2^53 − 1)): 3.7 and 1e300 are rejected, never truncated. Ranges are inclusive.
 *  - An empty or whitespace-only configuration reads as `{}` (Istio sends no bytes when a
 *    WasmPlugin has no pluginConfig), so a filter whose fields are all optional starts with defaults.
 *  - String values are never echoed in messages (a config may hold secrets); keys and numbers are.
 */
import { JsonParseResult, parseJson, parseJsonBytes } from "./parser";
import { JsonKind, JsonObject, JsonValue, MAX_SAFE_INTEGER } from "./value";
import { displayPath, pathWithIndex, pathWithKey } from "./path";
import { JsonText, jsonText as t } from "./messages";

export class ConfigReader {
  private readonly messages: Array<string> = [];
  private count: i32 = 0;

  constructor(public readonly maxErrors: i32 = 16) {}

  /** Parses UTF-8 config bytes; the root must be an object. Null when it is not (error recorded). */
  readBytes(bytes: ArrayBuffer): ConfigObject | null {
    if (isBlank(changetype<usize>(bytes), bytes.byteLength)) return new ConfigObject(this, "", new JsonObject());
    return this.readResult(parseJsonBytes(bytes));
  }

  /** As `readBytes`, for configuration already held as a string. */
  readText(text: string): ConfigObject | null {
    const utf16 = changetype<usize>(text);
    let blank: bool = true;
    for (let i = 0, n = text.length; i < n && blank; i++) blank = isSpace(<u32>load<u16>(utf16 + (<usize>i << 1)));
    if (blank) return new ConfigObject(this, "", new JsonObject());
    return this.readResult(parseJson(text));
  }

  private readResult(result: JsonParseResult): ConfigObject | null {
    const value = result.value;
    if (value === null) { this.record(t(JsonText.invalidJson) + result.error); return null; }
    return this.object(value, "");
  }

  /** Records "<path>: <message>". */
  fail(path: string, message: string): void { this.record(displayPath(path) + t(JsonText.colon) + message); }

  private record(line: string): void {
    if (this.messages.length < this.maxErrors) this.messages.push(line);
    this.count++;
  }

  /** No check has failed. */
  ok(): bool { return this.count == 0; }
  /** Failed checks, including those beyond `maxErrors`. */
  errorCount(): i32 { return this.count; }
  /** The kept error lines, in order. */
  errors(): Array<string> { return this.messages.slice(0); }
  /** The first error, or "". */
  firstError(): string { return this.messages.length > 0 ? this.messages[0] : ""; }
  /** One log line: the first error and how many more there are. */
  summary(): string {
    if (this.count <= 1) return this.firstError();
    const more = this.count - 1;
    return this.firstError() + t(JsonText.andMore) + more.toString() + t(JsonText.moreError) +
      t(more == 1 ? JsonText.closeParen : JsonText.pluralClose);
  }

  // ===== checks on one value; ConfigObject and ConfigArray call these with the value's path =====

  private mismatch(value: JsonValue, path: string, expected: string): void {
    this.fail(path, t(JsonText.expected) + expected + t(JsonText.got) + value.typeName());
  }

  /** The value as an object (path kept for nested errors). */
  object(value: JsonValue, path: string): ConfigObject | null {
    const obj = value.asObject();
    if (obj === null) { this.mismatch(value, path, "object"); return null; }
    return new ConfigObject(this, path, obj);
  }

  array(value: JsonValue, path: string): ConfigArray | null {
    const items = value.asArray();
    if (items === null) { this.mismatch(value, path, "array"); return null; }
    return new ConfigArray(this, path, items);
  }

  string(value: JsonValue, path: string): string {
    const s = value.asString();
    if (s === null) { this.mismatch(value, path, "string"); return ""; }
    return s;
  }

  bool(value: JsonValue, path: string): bool {
    if (!value.isBool()) { this.mismatch(value, path, "boolean"); return false; }
    return value.asBool();
  }

  /** A number within [min, max]; NaN on error. */
  f64(value: JsonValue, path: string, min: f64 = -Infinity, max: f64 = Infinity): f64 {
    if (!value.isNumber()) { this.mismatch(value, path, "number"); return NaN; }
    const n = value.numberValue();
    if (n < min || n > max) {
      this.fail(path, t(JsonText.expectedNumber) + rangeText(formatNumber(min), formatNumber(max), min > -Infinity, max < Infinity) +
        t(JsonText.got) + formatNumber(n));
      return NaN;
    }
    return n;
  }

  /** An integer within [min, max]; 0 on error. */
  integer(value: JsonValue, path: string, min: i64 = <i64>-MAX_SAFE_INTEGER, max: i64 = <i64>MAX_SAFE_INTEGER): i64 {
    if (!value.isNumber()) { this.mismatch(value, path, "integer"); return 0; }
    const bounded = min > <i64>-MAX_SAFE_INTEGER || max < <i64>MAX_SAFE_INTEGER;
    const range = rangeText(min.toString(), max.toString(), min > <i64>-MAX_SAFE_INTEGER, max < <i64>MAX_SAFE_INTEGER);
    if (!value.isInteger()) {
      this.fail(path, t(JsonText.expectedInteger) + (bounded ? range : "") + t(JsonText.got) + formatNumber(value.numberValue()));
      return 0;
    }
    const n = value.integerValue();
    if (n < min || n > max) { this.fail(path, t(JsonText.expectedInteger) + range + t(JsonText.got) + n.toString()); return 0; }
    return n;
  }

  /** Index of the string in `allowed`; -1 on error. */
  enumIndex(value: JsonValue, path: string, allowed: Array<string>): i32 {
    const s = value.asString();
    const i = s === null ? -1 : allowed.indexOf(s);
    if (i < 0) this.fail(path, t(JsonText.expected) + oneOf(allowed) + (s === null ? t(JsonText.got) + value.typeName() : ""));
    return i;
  }

  /** An array of strings; null when it or any element is not (one error per bad element). */
  stringArray(value: JsonValue, path: string): Array<string> | null {
    const items = value.asArray();
    if (items === null) { this.mismatch(value, path, t(JsonText.arrayOfStrings)); return null; }
    const out = new Array<string>(items.length);
    let good = true;
    for (let i = 0, n = items.length; i < n; i++) {
      const s = items[i].asString();
      if (s === null) { this.mismatch(items[i], pathWithIndex(path, i), "string"); good = false; continue; }
      out[i] = s;
    }
    return good ? out : null;
  }
}

/** A JSON object being read, with its path. */
export class ConfigObject {
  constructor(public readonly reader: ConfigReader, public readonly path: string, public readonly json: JsonObject) {}

  keys(): Array<string> { return this.json.keys(); }
  has(key: string): bool { return this.json.has(key); }
  /** The raw value, or null when absent. */
  get(key: string): JsonValue | null { return this.json.get(key); }
  fieldPath(key: string): string { return pathWithKey(this.path, key); }
  /** Records "<path.key>: <message>" (for checks of a field's meaning, e.g. a header name's syntax). */
  fail(key: string, message: string): void { this.reader.fail(this.fieldPath(key), message); }

  /** Records "<path.key>: unknown field (known: a, b)" for each key not in `allowed`; true if none. */
  unknownFields(allowed: Array<string>): bool {
    let clean = true;
    for (let i = 0, n = this.json.size; i < n; i++) {
      const key = this.json.keyAt(i);
      if (allowed.includes(key)) continue;
      this.fail(key, t(JsonText.unknownField) + allowed.join(t(JsonText.comma)) + t(JsonText.closeParen));
      clean = false;
    }
    return clean;
  }

  /** The value of a required field; records "missing, expected <what>" when absent. */
  private required(key: string, what: string): JsonValue | null {
    const v = this.json.get(key);
    if (v === null) this.fail(key, t(JsonText.missing) + t(JsonText.commaExpected) + what);
    return v;
  }

  /** The value of an optional field; null when absent or JSON null. */
  private optional(key: string): JsonValue | null {
    const v = this.json.get(key);
    return v === null || v.kind == JsonKind.Null ? null : v;
  }

  requiredString(key: string): string {
    const v = this.required(key, "string");
    return v === null ? "" : this.reader.string(v, this.fieldPath(key));
  }
  optionalString(key: string, fallback: string): string {
    const v = this.optional(key);
    if (v === null) return fallback;
    const before = this.reader.errorCount();
    const s = this.reader.string(v, this.fieldPath(key));
    return this.reader.errorCount() == before ? s : fallback;
  }

  requiredBool(key: string): bool {
    const v = this.required(key, "boolean");
    return v === null ? false : this.reader.bool(v, this.fieldPath(key));
  }
  optionalBool(key: string, fallback: bool): bool {
    const v = this.optional(key);
    if (v === null) return fallback;
    const before = this.reader.errorCount();
    const b = this.reader.bool(v, this.fieldPath(key));
    return this.reader.errorCount() == before ? b : fallback;
  }

  requiredF64(key: string, min: f64 = -Infinity, max: f64 = Infinity): f64 {
    const v = this.required(key, "number");
    return v === null ? NaN : this.reader.f64(v, this.fieldPath(key), min, max);
  }
  optionalF64(key: string, fallback: f64, min: f64 = -Infinity, max: f64 = Infinity): f64 {
    const v = this.optional(key);
    if (v === null) return fallback;
    const before = this.reader.errorCount();
    const n = this.reader.f64(v, this.fieldPath(key), min, max);
    return this.reader.errorCount() == before ? n : fallback;
  }

  requiredInteger(key: string, min: i64 = <i64>-MAX_SAFE_INTEGER, max: i64 = <i64>MAX_SAFE_INTEGER): i64 {
    const v = this.required(key, "integer");
    return v === null ? 0 : this.reader.integer(v, this.fieldPath(key), min, max);
  }
  optionalInteger(key: string, fallback: i64, min: i64 = <i64>-MAX_SAFE_INTEGER, max: i64 = <i64>MAX_SAFE_INTEGER): i64 {
    const v = this.optional(key);
    if (v === null) return fallback;
    const before = this.reader.errorCount();
    const n = this.reader.integer(v, this.fieldPath(key), min, max);
    return this.reader.errorCount() == before ? n : fallback;
  }

  /** Index of the field's value in `allowed`; -1 on error. */
  requiredEnum(key: string, allowed: Array<string>): i32 {
    const v = this.required(key, oneOf(allowed));
    return v === null ? -1 : this.reader.enumIndex(v, this.fieldPath(key), allowed);
  }
  optionalEnum(key: string, allowed: Array<string>, fallback: i32): i32 {
    const v = this.optional(key);
    if (v === null) return fallback;
    const i = this.reader.enumIndex(v, this.fieldPath(key), allowed);
    return i < 0 ? fallback : i;
  }

  requiredStringArray(key: string): Array<string> | null {
    const v = this.required(key, t(JsonText.arrayOfStrings));
    return v === null ? null : this.reader.stringArray(v, this.fieldPath(key));
  }
  /** The strings, or an empty array when absent (or on error). */
  optionalStringArray(key: string): Array<string> {
    const v = this.optional(key);
    if (v === null) return [];
    const out = this.reader.stringArray(v, this.fieldPath(key));
    return out === null ? [] : out;
  }

  requiredObject(key: string): ConfigObject | null {
    const v = this.required(key, "object");
    return v === null ? null : this.reader.object(v, this.fieldPath(key));
  }
  optionalObject(key: string): ConfigObject | null {
    const v = this.optional(key);
    return v === null ? null : this.reader.object(v, this.fieldPath(key));
  }

  requiredArray(key: string): ConfigArray | null {
    const v = this.required(key, "array");
    return v === null ? null : this.reader.array(v, this.fieldPath(key));
  }
  optionalArray(key: string): ConfigArray | null {
    const v = this.optional(key);
    return v === null ? null : this.reader.array(v, this.fieldPath(key));
  }
}

/** A JSON array being read, with its path. */
export class ConfigArray {
  constructor(public readonly reader: ConfigReader, public readonly path: string, public readonly items: Array<JsonValue>) {}

  get length(): i32 { return this.items.length; }
  itemPath(i: i32): string { return pathWithIndex(this.path, i); }
  value(i: i32): JsonValue { return this.items[i]; }
  /** Records "<path[i]>: <message>". */
  fail(i: i32, message: string): void { this.reader.fail(this.itemPath(i), message); }

  object(i: i32): ConfigObject | null { return this.reader.object(this.items[i], this.itemPath(i)); }
  array(i: i32): ConfigArray | null { return this.reader.array(this.items[i], this.itemPath(i)); }
  string(i: i32): string { return this.reader.string(this.items[i], this.itemPath(i)); }
  bool(i: i32): bool { return this.reader.bool(this.items[i], this.itemPath(i)); }
  f64(i: i32, min: f64 = -Infinity, max: f64 = Infinity): f64 { return this.reader.f64(this.items[i], this.itemPath(i), min, max); }
  integer(i: i32, min: i64 = <i64>-MAX_SAFE_INTEGER, max: i64 = <i64>MAX_SAFE_INTEGER): i64 {
    return this.reader.integer(this.items[i], this.itemPath(i), min, max);
  }
  enumIndex(i: i32, allowed: Array<string>): i32 { return this.reader.enumIndex(this.items[i], this.itemPath(i), allowed); }
}

// ===== message helpers =====

function isSpace(c: u32): bool { return c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d; }

function isBlank(ptr: usize, len: i32): bool {
  for (let i = 0; i < len; i++) if (!isSpace(<u32>load<u8>(ptr + <usize>i))) return false;
  return true;
}

/** `one of "A", "B"`. */
function oneOf(allowed: Array<string>): string {
  if (allowed.length == 0) return t(JsonText.nothing);
  return t(JsonText.oneOf) + allowed.join(t(JsonText.quoteCommaQuote)) + t(JsonText.doubleQuote);
}

/** " in [lo, hi]", " >= lo", " <= hi" or "". */
function rangeText(lo: string, hi: string, hasLo: bool, hasHi: bool): string {
  if (hasLo && hasHi) return t(JsonText.inRange) + lo + t(JsonText.comma) + hi + t(JsonText.closeBracket);
  if (hasLo) return t(JsonText.atLeast) + lo;
  if (hasHi) return t(JsonText.atMost) + hi;
  return "";
}

/**
 * A number in JavaScript's Number#toString layout: integers without a fraction ("75" and
 * "100000000000000000000", not AssemblyScript's "75.0" and "100000000000000000000.0"), exponents
 * from 1e21 ("1e+21") and below 1e-6 ("1e-7"). The digits are AssemblyScript's (Grisu2): they
 * always read back as the same double but are, rarely, not the shortest such digits
 * (100 + 2^-46 prints as 100.00000000000002 where JavaScript prints 100.00000000000001).
 */
function formatNumber(n: f64): string {
  if (Math.abs(n) <= MAX_SAFE_INTEGER && Math.trunc(n) == n) return (<i64>n).toString();
  const s = n.toString();
  return s.endsWith(".0") ? s.substring(0, s.length - 2) : s;
}
