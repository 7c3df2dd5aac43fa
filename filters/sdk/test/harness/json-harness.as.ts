/**
 * Test guest for filters/sdk/json.ts. The Node tests write inputs into blocks from `alloc` and
 * read results from one output buffer (`outPtr`/`outLen`). Imports only `env.proxy_log` (through
 * the SDK's abort handler).
 *
 * Canonical form written for parsed values (json-harness.ts writes the same for JSON.parse's):
 *   null n | true t | false f | number '#' + the f64's 16 hex bits (so -0, 0 and every rounding
 *   differ) | string '"' + code units (printable ASCII except '"' and '\' as is, else '\' + 4 hex
 *   digits) + '"' | array [a,b] | object {"k":v,...} with keys in the order V8 lists them: array
 *   index keys ("0".."4294967294" in canonical form) ascending first, then the rest in input order.
 */
import "../../abi/abort";
import { allocate } from "../../abi/memory";
import { ConfigObject, ConfigReader, JsonKind, JsonObject, JsonValue, parseJson, parseJsonBytes, JsonParseResult } from "../../json";

// ===== I/O =====

let out = new ArrayBuffer(1024);
let outUsed = 0;

function reserve(n: i32): usize {
  if (outUsed + n > out.byteLength) {
    const grown = new ArrayBuffer(max(outUsed + n, out.byteLength << 1));
    memory.copy(changetype<usize>(grown), changetype<usize>(out), <usize>outUsed);
    out = grown;
  }
  const p = changetype<usize>(out) + <usize>outUsed;
  outUsed += n;
  return p;
}
function putByte(b: u32): void { store<u8>(reserve(1), <u8>b); }
function putU32(v: u32): void { store<u32>(reserve(4), v); }
function putAscii(s: string): void { for (let i = 0; i < s.length; i++) putByte(s.charCodeAt(i)); }
function putUtf8(s: string): void {
  const b = String.UTF8.encode(s);
  memory.copy(reserve(b.byteLength), changetype<usize>(b), <usize>b.byteLength);
}
/** A length-prefixed UTF-8 string. */
function putField(s: string): void {
  const b = String.UTF8.encode(s);
  putU32(<u32>b.byteLength);
  memory.copy(reserve(b.byteLength), changetype<usize>(b), <usize>b.byteLength);
}

export function alloc(size: usize): usize { return allocate(size); }
export function release(ptr: usize): void { __unpin(ptr); }
export function outPtr(): usize { return changetype<usize>(out); }
export function outLen(): usize { return <usize>outUsed; }
/** Full collection; called by the test between batches, when no guest frame holds references. */
export function collect(): void { __collect(); }

// ===== canonical form =====

const HEX = "0123456789abcdef";
function putHex(v: u64, digits: i32): void {
  for (let i = digits - 1; i >= 0; i--) putByte(HEX.charCodeAt(<i32>((v >> (<u64>i * 4)) & 15)));
}

function putCanonicalString(s: string): void {
  putByte(0x22);
  for (let i = 0, n = s.length; i < n; i++) {
    const c = <u32>s.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f && c != 0x22 && c != 0x5c) putByte(c);
    else { putByte(0x5c); putHex(c, 4); }
  }
  putByte(0x22);
}

/** V8 lists these keys first, ascending (ECMA-262 OrdinaryOwnPropertyKeys, "array index"). */
function arrayIndexOf(key: string): i64 {
  const n = key.length;
  if (n == 0 || n > 10) return -1;
  if (n > 1 && key.charCodeAt(0) == 0x30) return -1;
  let v: i64 = 0;
  for (let i = 0; i < n; i++) {
    const d = key.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v <= 4294967294 ? v : -1;
}

function putCanonicalObject(obj: JsonObject): void {
  const n = obj.size;
  const indexKeys = new Array<i64>();
  const indexPos = new Array<i32>();
  for (let i = 0; i < n; i++) {
    const k = arrayIndexOf(obj.keyAt(i));
    if (k >= 0) { indexKeys.push(k); indexPos.push(i); }
  }
  // Insertion sort of the (few) index keys by value.
  for (let i = 1; i < indexKeys.length; i++) {
    const k = indexKeys[i];
    const p = indexPos[i];
    let j = i - 1;
    while (j >= 0 && indexKeys[j] > k) { indexKeys[j + 1] = indexKeys[j]; indexPos[j + 1] = indexPos[j]; j--; }
    indexKeys[j + 1] = k;
    indexPos[j + 1] = p;
  }
  putByte(0x7b);
  let first = true;
  for (let i = 0; i < indexPos.length; i++) {
    if (!first) putByte(0x2c);
    first = false;
    putMember(obj, indexPos[i]);
  }
  for (let i = 0; i < n; i++) {
    if (arrayIndexOf(obj.keyAt(i)) >= 0) continue;
    if (!first) putByte(0x2c);
    first = false;
    putMember(obj, i);
  }
  putByte(0x7d);
}

function putMember(obj: JsonObject, i: i32): void {
  putCanonicalString(obj.keyAt(i));
  putByte(0x3a);
  putCanonical(obj.valueAt(i));
}

function putCanonical(v: JsonValue): void {
  switch (v.kind) {
    case JsonKind.Null: putByte(0x6e); break;
    case JsonKind.Bool: putByte(v.asBool() ? 0x74 : 0x66); break;
    case JsonKind.Number: putByte(0x23); putHex(reinterpret<u64>(v.numberValue()), 16); break;
    case JsonKind.String: putCanonicalString(v.asString()!); break;
    case JsonKind.Array: {
      const items = v.asArray()!;
      putByte(0x5b);
      for (let i = 0; i < items.length; i++) {
        if (i > 0) putByte(0x2c);
        putCanonical(items[i]);
      }
      putByte(0x5d);
      break;
    }
    default: putCanonicalObject(v.asObject()!);
  }
}

// ===== exports =====

/**
 * Parses a batch of inputs: [u32 length][bytes]... For each, writes [u8 ok][i32 offset]
 * [field error][field path][field canonical] (fields are [u32 length][UTF-8]). mode 0 parses the
 * bytes with parseJsonBytes; mode 1 reads them as UTF-16LE code units and uses parseJson.
 * maxDepth 0 means the default.
 */
export function parseBatch(ptr: usize, len: usize, mode: i32, maxDepth: i32): i32 {
  outUsed = 0;
  let p = ptr;
  const end = ptr + len;
  let count = 0;
  while (p + 4 <= end) {
    const n = load<u32>(p);
    p += 4;
    let r: JsonParseResult;
    if (mode == 1) {
      const text = String.UTF16.decodeUnsafe(p, n);
      r = maxDepth > 0 ? parseJson(text, maxDepth) : parseJson(text);
    } else {
      const bytes = new ArrayBuffer(<i32>n);
      memory.copy(changetype<usize>(bytes), p, n);
      r = maxDepth > 0 ? parseJsonBytes(bytes, maxDepth) : parseJsonBytes(bytes);
    }
    p += n;
    const v = r.value;
    putByte(v !== null ? 1 : 0);
    store<i32>(reserve(4), r.offset);
    putField(r.error);
    putField(r.path);
    const mark = outUsed;
    putU32(0);
    if (v !== null) putCanonical(v);
    store<u32>(changetype<usize>(out) + <usize>mark, <u32>(outUsed - mark - 4));
    count++;
  }
  return count;
}

/**
 * Every getter of the parsed root, one per line: kind, type name, isNull/isBool/isNumber/isString/
 * isArray/isObject, asBool(false), asBool(true), numberValue bits, isInteger, integerValue,
 * asString (or "<null>"), array length (or -1), object keys joined by ',' (or "<null>"), and
 * for `probe` keys (from the second argument, '\n'-separated): has / kind of get.
 */
export function inspect(ptr: usize, len: usize, probePtr: usize, probeLen: usize): i32 {
  outUsed = 0;
  const bytes = new ArrayBuffer(<i32>len);
  memory.copy(changetype<usize>(bytes), ptr, len);
  const r = parseJsonBytes(bytes);
  const v = r.value;
  if (v === null) { putUtf8(r.error); return 0; }
  const lines = new Array<string>();
  lines.push(v.kind.toString());
  lines.push(v.typeName());
  lines.push([v.isNull(), v.isBool(), v.isNumber(), v.isString(), v.isArray(), v.isObject()].map<string>((b: bool) => b ? "1" : "0").join(""));
  lines.push((v.asBool(false) ? "1" : "0") + (v.asBool(true) ? "1" : "0"));
  lines.push(isNaN(v.numberValue()) ? "NaN" : reinterpret<u64>(v.numberValue()).toString(16));
  lines.push(v.isInteger() ? "1" : "0");
  lines.push(v.integerValue().toString());
  const s = v.asString();
  lines.push(s === null ? "<null>" : s);
  const a = v.asArray();
  lines.push(a === null ? "-1" : a.length.toString());
  const o = v.asObject();
  lines.push(o === null ? "<null>" : o.keys().join(","));
  if (o !== null && probeLen > 0) {
    const probes = String.UTF8.decodeUnsafe(probePtr, probeLen).split("\n");
    for (let i = 0; i < probes.length; i++) {
      const got = o.get(probes[i]);
      lines.push(probes[i] + "=" + (o.has(probes[i]) ? "1" : "0") + (got === null ? "<null>" : got.typeName()));
    }
  }
  putUtf8(lines.join("\n"));
  return 1;
}

/**
 * Reads a sample configuration (the shape of an auth policy, with rules[i].identities.jwt nested
 * three levels deep) with ConfigReader and writes either
 * "ok\n" + the values read, or "errors <count>\n" + the kept error lines. mode 1 reads through
 * `readText` (UTF-8 decoded first), mode 0 through `readBytes`.
 */
export function readConfig(ptr: usize, len: usize, maxErrors: i32, mode: i32): i32 {
  outUsed = 0;
  const bytes = new ArrayBuffer(<i32>len);
  memory.copy(changetype<usize>(bytes), ptr, len);
  const reader = new ConfigReader(maxErrors);
  const root = mode == 1 ? reader.readText(String.UTF8.decode(bytes)) : reader.readBytes(bytes);
  const lines = new Array<string>();
  if (root !== null) {
    root.unknownFields(["name", "enabled", "weight", "port", "mode", "hosts", "limits", "rules", "labels"]);
    lines.push("name=" + root.requiredString("name"));
    lines.push("enabled=" + (root.optionalBool("enabled", true) ? "true" : "false"));
    lines.push("weight=" + root.optionalF64("weight", 1.5, 0, 100).toString());
    lines.push("port=" + root.optionalInteger("port", 8080, 1, 65535).toString());
    lines.push("mode=" + root.optionalEnum("mode", ["ALLOW", "DENY", "AUDIT"], 0).toString());
    lines.push("hosts=" + root.optionalStringArray("hosts").join("|"));
    const limits = root.optionalObject("limits");
    if (limits !== null) {
      limits.unknownFields(["rps", "burst"]);
      lines.push("limits.rps=" + limits.requiredF64("rps", 0).toString());
      lines.push("limits.burst=" + limits.requiredInteger("burst", 0, 1000).toString());
    }
    const rules = root.requiredArray("rules");
    if (rules !== null) {
      for (let i = 0; i < rules.length; i++) {
        const rule = rules.object(i);
        if (rule === null) continue;
        const at = "rules[" + i.toString() + "]";
        rule.unknownFields(["method", "allow", "principals", "priority", "identities"]);
        lines.push(at + ".method=" + rule.requiredString("method"));
        lines.push(at + ".allow=" + (rule.requiredBool("allow") ? "true" : "false"));
        const principals = rule.requiredStringArray("principals");
        lines.push(at + ".principals=" + (principals === null ? "<null>" : principals.join("|")));
        lines.push(at + ".priority=" + rule.optionalInteger("priority", -1).toString());
        const identities = rule.optionalObject("identities");
        let jwt: ConfigObject | null = null;
        if (identities !== null) {
          identities.unknownFields(["jwt"]);
          jwt = identities.optionalObject("jwt");
        }
        if (jwt !== null) {
          jwt.unknownFields(["issuer", "audiences", "keys"]);
          lines.push(at + ".identities.jwt.issuer=" + jwt.requiredString("issuer"));
          lines.push(at + ".identities.jwt.audiences=" + jwt.optionalStringArray("audiences").join("|"));
          const keys = jwt.optionalArray("keys");
          for (let k = 0; keys !== null && k < keys.length; k++) {
            const key: ConfigObject | null = keys.object(k);
            if (key === null) continue;
            key.unknownFields(["alg"]);
            lines.push(at + ".identities.jwt.keys[" + k.toString() + "].alg=" + key.requiredEnum("alg", ["HS256", "EdDSA"]).toString());
          }
        }
      }
    }
    const labels = root.optionalObject("labels");
    if (labels !== null) {
      const keys = labels.keys();
      for (let i = 0; i < keys.length; i++) {
        const value = labels.requiredString(keys[i]);
        if (value.length > 16) labels.fail(keys[i], "longer than 16 characters");
        lines.push("labels." + keys[i] + "=" + value);
      }
    }
  }
  if (reader.ok()) {
    putUtf8("ok\n" + lines.join("\n"));
    return 1;
  }
  putUtf8("errors " + reader.errorCount().toString() + "\n" + reader.errors().join("\n") + "\nsummary " + reader.summary());
  return 0;
}

/** Parses the same bytes `iterations` times; returns how many parses succeeded (for the benchmark). */
export function benchParse(ptr: usize, len: usize, iterations: i32): i32 {
  const bytes = new ArrayBuffer(<i32>len);
  memory.copy(changetype<usize>(bytes), ptr, len);
  let ok = 0;
  for (let i = 0; i < iterations; i++) if (parseJsonBytes(bytes).value !== null) ok++;
  return ok;
}
