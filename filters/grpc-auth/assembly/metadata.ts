/**
 * Envoy's dynamic metadata as the filter reads it: the `metadata` property is the serialized
 * envoy.config.core.v3.Metadata message (Envoy serializes CEL message values with protobuf), so
 * the JWT payload that jwt_authn wrote keeps its JSON types — which a deeper property path would
 * lose (maps and lists come back as untyped pairs there).
 *
 *   Metadata   { map<string, Struct> filter_metadata = 1; }
 *   Struct     { map<string, Value> fields = 1; }
 *   Value      { oneof: null_value = 1 (varint), number_value = 2 (double), string_value = 3,
 *                bool_value = 4 (varint), struct_value = 5, list_value = 6 }
 *   ListValue  { repeated Value values = 1; }
 *
 * `readMetadataStruct` finds filter_metadata[namespace] and returns it as a JsonObject (the SDK's
 * JSON value model, what inline tokens' payloads parse to), so claims are read one way whatever
 * verified them. The reader checks every length against its buffer, skips unknown fields by wire
 * type, limits nesting, and returns null on anything malformed. Never traps.
 */
import { JsonObject, JsonValue } from "../../sdk/json";

const MAX_DEPTH: i32 = 32;

class Reader {
  pos: usize;
  constructor(public base: usize, public end: usize) { this.pos = base; }
  get done(): bool { return this.pos >= this.end; }

  /** A varint (at most 10 bytes); -1 as u64 max on error with `ok` cleared. */
  ok: bool = true;
  varint(): u64 {
    let v: u64 = 0;
    for (let shift: u64 = 0; shift < 70; shift += 7) {
      if (this.pos >= this.end) { this.ok = false; return 0; }
      const b = <u64>load<u8>(this.pos++);
      v |= (b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    this.ok = false;
    return 0;
  }

  /** A length-delimited field's body as a sub-reader. */
  bytes(): Reader | null {
    const n = this.varint();
    if (!this.ok || n > <u64>(this.end - this.pos)) { this.ok = false; return null; }
    const r = new Reader(this.pos, this.pos + <usize>n);
    this.pos += <usize>n;
    return r;
  }

  string(): string | null {
    const r = this.bytes();
    return r !== null ? String.UTF8.decodeUnsafe(r.base, r.end - r.base) : null;
  }

  /** Skips a field of this wire type; false when it cannot. */
  skip(wire: u32): bool {
    if (wire == 0) { this.varint(); return this.ok; }
    if (wire == 1) { if (this.end - this.pos < 8) return false; this.pos += 8; return true; }
    if (wire == 2) { return this.bytes() !== null; }
    if (wire == 5) { if (this.end - this.pos < 4) return false; this.pos += 4; return true; }
    return false;
  }
}

/** Reads a map entry { key = 1 (string); value = 2 (message) }: the key and the value's reader. */
function mapEntry(r: Reader): MapEntry | null {
  let key: string | null = null;
  let value: Reader | null = null;
  while (!r.done) {
    const tag = r.varint();
    if (!r.ok) return null;
    const field = <u32>(tag >> 3);
    const wire = <u32>(tag & 7);
    if (field == 1 && wire == 2) key = r.string();
    else if (field == 2 && wire == 2) value = r.bytes();
    else if (!r.skip(wire)) return null;
    if (!r.ok) return null;
  }
  if (key === null) return null;
  return new MapEntry(key, value === null ? new Reader(0, 0) : value);
}

class MapEntry {
  constructor(public key: string, public value: Reader) {}
}

function structValue(r: Reader, depth: i32): JsonObject | null {
  if (depth > MAX_DEPTH) return null;
  const obj = new JsonObject();
  while (!r.done) {
    const tag = r.varint();
    if (!r.ok) return null;
    if (tag == ((1 << 3) | 2)) {
      const er = r.bytes();
      if (er === null) return null;
      const e = mapEntry(er);
      if (e === null) return null;
      const v = value(e.value, depth + 1);
      if (v === null) return null;
      obj.set(e.key, v);
    } else if (!r.skip(<u32>(tag & 7))) return null;
  }
  return obj;
}

function value(r: Reader, depth: i32): JsonValue | null {
  if (depth > MAX_DEPTH) return null;
  let out: JsonValue = JsonValue.null();
  while (!r.done) {
    const tag = r.varint();
    if (!r.ok) return null;
    const field = <u32>(tag >> 3);
    const wire = <u32>(tag & 7);
    if (field == 1 && wire == 0) { r.varint(); out = JsonValue.null(); }
    else if (field == 2 && wire == 1) {
      if (r.end - r.pos < 8) return null;
      out = JsonValue.number(load<f64>(r.pos));
      r.pos += 8;
    } else if (field == 3 && wire == 2) {
      const s = r.string();
      if (s === null) return null;
      out = JsonValue.string(s);
    } else if (field == 4 && wire == 0) out = JsonValue.bool(r.varint() != 0);
    else if (field == 5 && wire == 2) {
      const sr = r.bytes();
      const o = sr !== null ? structValue(sr, depth + 1) : null;
      if (o === null) return null;
      out = JsonValue.object(o);
    } else if (field == 6 && wire == 2) {
      const lr = r.bytes();
      if (lr === null) return null;
      const items = new Array<JsonValue>();
      while (!lr.done) {
        const t = lr.varint();
        if (!lr.ok) return null;
        if (t == ((1 << 3) | 2)) {
          const ir = lr.bytes();
          const item = ir !== null ? value(ir, depth + 1) : null;
          if (item === null) return null;
          items.push(item);
        } else if (!lr.skip(<u32>(t & 7))) return null;
      }
      out = JsonValue.array(items);
    } else if (!r.skip(wire)) return null;
    if (!r.ok) return null;
  }
  return out;
}

/** filter_metadata[ns] of a serialized Metadata message, as an object; null when absent or malformed. */
export function readMetadataStruct(metadata: ArrayBuffer, ns: string): JsonObject | null {
  const r = new Reader(changetype<usize>(metadata), changetype<usize>(metadata) + <usize>metadata.byteLength);
  while (!r.done) {
    const tag = r.varint();
    if (!r.ok) return null;
    if (tag == ((1 << 3) | 2)) {
      const er = r.bytes();
      if (er === null) return null;
      const e = mapEntry(er);
      if (e === null) return null;
      if (e.key == ns) return structValue(e.value, 0);
    } else if (!r.skip(<u32>(tag & 7))) return null;
  }
  return null;
}
