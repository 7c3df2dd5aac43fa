/**
 * The dynamic JSON value model (RFC 8259 §3): null, boolean, number, string, array, object.
 *
 * Contract:
 *  - Typed getters never coerce and never abort: `asString()`, `asArray()`, `asObject()` return
 *    null on a wrong kind; `asBool(fallback)` returns the fallback and `numberValue()` NaN (a
 *    value JSON cannot hold) on a wrong kind — AssemblyScript has no nullable primitives.
 *  - Numbers are f64, as JSON.parse gives them. `isInteger()` is Number.isSafeInteger: exactly
 *    integral and within ±(2^53 − 1), so `integerValue()` is exact (3.7, 1e300 and 2^53 are not
 *    integers here).
 *  - Objects keep their keys in input order; a repeated key keeps the position of its first
 *    occurrence and the value of its last (JSON.parse's CreateDataProperty semantics, ES2023
 *    §25.5.1.1). Lookup is linear for small objects and hashed beyond `INDEX_THRESHOLD` keys, so
 *    an object with many keys parses in linear time.
 */

/** The six JSON types. */
export enum JsonKind { Null, Bool, Number, String, Array, Object }

/** JSON's name for a kind, as used in error messages ("expected string, got number"). */
export function jsonKindName(kind: JsonKind): string {
  switch (kind) {
    case JsonKind.Null: return "null";
    case JsonKind.Bool: return "boolean";
    case JsonKind.Number: return "number";
    case JsonKind.String: return "string";
    case JsonKind.Array: return "array";
    default: return "object";
  }
}

/** 2^53 − 1, the largest integer every f64 below it represents exactly. */
// @ts-ignore: decorator
@inline export const MAX_SAFE_INTEGER: f64 = 9007199254740991.0;

export class JsonValue {
  private constructor(
    /** Which of the six types this value is. */
    public readonly kind: JsonKind,
    private readonly num: f64,
    private readonly str: string | null,
    private readonly items: Array<JsonValue> | null,
    private readonly obj: JsonObject | null,
  ) {}

  static null(): JsonValue { return new JsonValue(JsonKind.Null, 0, null, null, null); }
  static bool(b: bool): JsonValue { return new JsonValue(JsonKind.Bool, b ? 1 : 0, null, null, null); }
  static number(n: f64): JsonValue { return new JsonValue(JsonKind.Number, n, null, null, null); }
  static string(s: string): JsonValue { return new JsonValue(JsonKind.String, 0, s, null, null); }
  static array(items: Array<JsonValue>): JsonValue { return new JsonValue(JsonKind.Array, 0, null, items, null); }
  static object(obj: JsonObject): JsonValue { return new JsonValue(JsonKind.Object, 0, null, null, obj); }

  isNull(): bool { return this.kind == JsonKind.Null; }
  isBool(): bool { return this.kind == JsonKind.Bool; }
  isNumber(): bool { return this.kind == JsonKind.Number; }
  isString(): bool { return this.kind == JsonKind.String; }
  isArray(): bool { return this.kind == JsonKind.Array; }
  isObject(): bool { return this.kind == JsonKind.Object; }

  /** The boolean, or `fallback` when this is not a boolean. */
  asBool(fallback: bool = false): bool { return this.kind == JsonKind.Bool ? this.num != 0 : fallback; }

  /** The number as parsed (f64, -0 kept), or NaN when this is not a number. */
  numberValue(): f64 { return this.kind == JsonKind.Number ? this.num : NaN; }

  /** A number that is exactly integral and within ±(2^53 − 1) (Number.isSafeInteger). */
  isInteger(): bool {
    if (this.kind != JsonKind.Number) return false;
    const n = this.num;
    return Math.abs(n) <= MAX_SAFE_INTEGER && Math.trunc(n) == n;
  }

  /** The integer when `isInteger()`, else 0. */
  integerValue(): i64 { return this.isInteger() ? <i64>this.num : 0; }

  asString(): string | null { return this.str; }
  asArray(): Array<JsonValue> | null { return this.items; }
  asObject(): JsonObject | null { return this.obj; }

  /** JSON's name of this value's type: "null", "boolean", "number", "string", "array", "object". */
  typeName(): string { return jsonKindName(this.kind); }
}

/** Key count above which an object keeps a hash index besides its ordered arrays. */
// @ts-ignore: decorator
@inline const INDEX_THRESHOLD: i32 = 8;

/** A JSON object: keys in input order (first occurrence), values last-wins. */
export class JsonObject {
  private readonly keyList: Array<string> = [];
  private readonly valueList: Array<JsonValue> = [];
  private index: Map<string, i32> | null = null;

  /** Number of distinct keys. */
  get size(): i32 { return this.keyList.length; }

  /** The keys in input order (a copy). */
  keys(): Array<string> { return this.keyList.slice(0); }

  /** The i-th key in input order (0 <= i < size). */
  keyAt(i: i32): string { return this.keyList[i]; }

  /** The value of the i-th key (0 <= i < size). */
  valueAt(i: i32): JsonValue { return this.valueList[i]; }

  has(key: string): bool { return this.find(key) >= 0; }

  /** The value under `key`, or null when the key is absent. */
  get(key: string): JsonValue | null {
    const i = this.find(key);
    return i < 0 ? null : this.valueList[i];
  }

  /** Sets `key`; an existing key keeps its position and takes the new value. */
  set(key: string, value: JsonValue): void {
    const i = this.find(key);
    if (i >= 0) { this.valueList[i] = value; return; }
    const n = this.keyList.length;
    this.keyList.push(key);
    this.valueList.push(value);
    const index = this.index;
    if (index !== null) {
      index.set(key, n);
    } else if (n + 1 > INDEX_THRESHOLD) {
      const built = new Map<string, i32>();
      for (let k = 0; k <= n; k++) built.set(this.keyList[k], k);
      this.index = built;
    }
  }

  private find(key: string): i32 {
    const index = this.index;
    if (index !== null) return index.has(key) ? index.get(key) : -1;
    const keys = this.keyList;
    for (let i = 0, n = keys.length; i < n; i++) {
      if (keys[i] == key) return i;
    }
    return -1;
  }
}
