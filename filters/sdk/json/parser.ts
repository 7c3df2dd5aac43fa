/**
 * JSON text -> JsonValue, exactly as V8's JSON.parse accepts and reads it (RFC 8259, ECMA-262
 * §25.5.1), in one pass without recursion, so no input can trap, loop or read outside the buffer:
 *
 *  - Grammar: RFC 8259 §2-§7 with no extensions: whitespace is only SP, HT, LF, CR; no BOM, no
 *    comments, no trailing commas, no leading zeros, no '+', NaN or Infinity literals.
 *  - Strings: the eight short escapes and \uXXXX; a lone surrogate escape is kept as that UTF-16
 *    code unit (as JSON.parse keeps it); raw U+0000..U+001F are rejected, DEL and U+2028/9 are not.
 *  - Bytes are UTF-8 decoded as the WHATWG Encoding Standard decoder (and Node's
 *    `Buffer#toString("utf8")`) does: each maximal ill-formed subpart becomes one U+FFFD. So a
 *    config with invalid UTF-8 inside a string is read with replacement characters and invalid
 *    bytes outside strings are a syntax error, the same outcome as
 *    `JSON.parse(Buffer.from(bytes).toString("utf8"))`.
 *  - Numbers: f64, correctly rounded (number.ts); overflow is ±Infinity, underflow ±0, -0 is kept.
 *  - Objects: duplicate keys, last value wins at the first key's position (value.ts).
 *  - Nesting deeper than `maxDepth` containers (default 128) is reported as an error; V8 has no
 *    such limit, so this is the one input class on which the result differs from JSON.parse.
 *
 * Errors name what was expected, the field path and the location: byte offset (0-based, also in
 * `JsonParseResult.offset`), line and column (1-based; the column counts bytes).
 */
import { jsonNumberToF64 } from "./number";
import { JsonObject, JsonValue } from "./value";
import { hexDigit, pathWithIndex, pathWithKey } from "./path";
import { JsonText, jsonText as t } from "./messages";

/** Default limit on nested arrays and objects. */
export const JSON_MAX_DEPTH: i32 = 128;

export class JsonParseResult {
  constructor(
    /** The parsed value, or null when the input is not valid JSON. */
    public readonly value: JsonValue | null,
    /** "" when valid, else one line: what is wrong, the field path and the location. */
    public readonly error: string,
    /** Byte offset of the error (the input length for an unexpected end); 0 when valid. */
    public readonly offset: i32,
    /** Field path of the innermost member or element being read at the error ("" for the root). */
    public readonly path: string,
  ) {}

  isOk(): bool { return this.value !== null; }
}

/** Parses UTF-8 bytes (invalid sequences decoded as U+FFFD; see above). */
export function parseJsonBytes(buf: ArrayBuffer, maxDepth: i32 = JSON_MAX_DEPTH): JsonParseResult {
  return new Parser(changetype<usize>(buf), buf.byteLength, false, maxDepth).run();
}

/**
 * Parses a string. It is read as its UTF-8 encoding, so offsets are byte offsets in that encoding;
 * lone surrogates in the text are kept, as JSON.parse keeps them.
 */
export function parseJson(text: string, maxDepth: i32 = JSON_MAX_DEPTH): JsonParseResult {
  const bytes = String.UTF8.encode(text); // WTF-8: lone surrogates as 3-byte sequences
  return new Parser(changetype<usize>(bytes), bytes.byteLength, true, maxDepth).run();
}

/** An open array or object and where in it the parser is (for paths). */
class Frame {
  /** A member's key was read, or an element started: the path includes this frame's step. */
  inMember: bool = false;
  key: string = "";
  index: i32 = 0;
  constructor(public readonly value: JsonValue, public readonly items: Array<JsonValue> | null,
              public readonly object: JsonObject | null) {}
}

// ===== string scratch: UTF-16 code units of the string being decoded =====

let scratch = new ArrayBuffer(256);
let units = 0;

function emitUnit(u: u32): void {
  const need = (units + 1) << 1;
  if (need > scratch.byteLength) {
    const grown = new ArrayBuffer(max(need, scratch.byteLength << 1));
    memory.copy(changetype<usize>(grown), changetype<usize>(scratch), <usize>(units << 1));
    scratch = grown;
  }
  store<u16>(changetype<usize>(scratch) + (<usize>units << 1), <u16>u);
  units++;
}

function emitCodePoint(cp: u32): void {
  if (cp < 0x10000) { emitUnit(cp); return; }
  cp -= 0x10000;
  emitUnit(0xd800 | (cp >> 10));
  emitUnit(0xdc00 | (cp & 0x3ff));
}

/** Converts the scratch to a string and drops a scratch grown past 64 KiB. */
function takeScratch(): string {
  const s = String.UTF16.decodeUnsafe(changetype<usize>(scratch), <usize>(units << 1));
  if (scratch.byteLength > 65536) scratch = new ArrayBuffer(256);
  return s;
}

function hexValue(c: u32): i32 {
  if (c - 0x30 <= 9) return <i32>(c - 0x30);
  const l = (c | 0x20) - 0x61;
  return l <= 5 ? <i32>l + 10 : -1;
}

// @ts-ignore: decorator
@inline function isDigit(c: u32): bool { return c - 0x30 <= 9; }

class Parser {
  private pos: i32 = 0;
  private stack: Array<Frame> = [];
  private errorMessage: string = "";
  private errorOffset: i32 = 0;

  constructor(private readonly ptr: usize, private readonly len: i32, private readonly wtf8: bool,
              private readonly maxDepth: i32) {}

  run(): JsonParseResult {
    const value = this.parseDocument();
    if (value !== null) return new JsonParseResult(value, "", 0, "");
    const path = this.path();
    return new JsonParseResult(null, this.describe(path), this.errorOffset, path);
  }

  // @ts-ignore: decorator
  @inline private byteAt(i: i32): u32 { return <u32>load<u8>(this.ptr + <usize>i); }

  private fail(message: string, offset: i32): JsonValue | null {
    this.errorMessage = message;
    this.errorOffset = offset;
    return null;
  }

  /** "unexpected <what the byte at pos is>" — end of input, a printable character, or a byte. */
  private unexpected(expected: string): JsonValue | null {
    const p = this.pos;
    // Messages are composed from shared parts of one table (messages.ts).
    if (p >= this.len) return this.fail(t(JsonText.unexpectedEnd) + t(JsonText.commaExpected) + expected, p);
    const c = this.byteAt(p);
    const q = t(JsonText.quote);
    const shown = c >= 0x21 && c < 0x7f ? q + String.fromCharCode(c) + q : t(JsonText.byte0x) + hex2(c);
    return this.fail(t(JsonText.unexpected) + shown + t(JsonText.commaExpected) + expected, p);
  }

  private skipWhitespace(): void {
    let p = this.pos;
    const n = this.len;
    while (p < n) {
      const c = this.byteAt(p);
      if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) break;
      p++;
    }
    this.pos = p;
  }

  private peek(): i32 { return this.pos < this.len ? <i32>this.byteAt(this.pos) : -1; }

  /** The iterative core: read a value, then climb out of every container it completes. */
  private parseDocument(): JsonValue | null {
    const stack = this.stack;
    this.skipWhitespace();
    while (true) {
      // ---- a value starts at pos (whitespace skipped) ----
      let value: JsonValue | null = null;
      const c = this.peek();
      if (c == 0x7b || c == 0x5b) { // '{' or '['
        if (stack.length >= this.maxDepth) {
          return this.fail(t(JsonText.nestingDeeperThan) + this.maxDepth.toString() + t(JsonText.arraysAndObjects), this.pos);
        }
        this.pos++;
        this.skipWhitespace();
        if (c == 0x7b) {
          const obj = new JsonObject();
          value = JsonValue.object(obj);
          if (this.peek() == 0x7d) { this.pos++; } else {
            const frame = new Frame(value, null, obj);
            stack.push(frame);
            if (!this.readKey(frame)) return null;
            continue;
          }
        } else {
          const items = new Array<JsonValue>();
          value = JsonValue.array(items);
          if (this.peek() == 0x5d) { this.pos++; } else {
            const frame = new Frame(value, items, null);
            frame.inMember = true;
            stack.push(frame);
            continue;
          }
        }
      } else if (c == 0x22) {
        const s = this.parseString();
        if (s === null) return null;
        value = JsonValue.string(s);
      } else if (c == 0x2d || isDigit(<u32>c)) {
        value = this.parseNumber();
      } else if (c == 0x74) {
        if (this.literal("true")) value = JsonValue.bool(true);
      } else if (c == 0x66) {
        if (this.literal("false")) value = JsonValue.bool(false);
      } else if (c == 0x6e) {
        if (this.literal("null")) value = JsonValue.null();
      } else {
        return this.unexpected(t(JsonText.aValue));
      }
      if (value === null) return null;

      // ---- attach the value and close every container it completes ----
      while (true) {
        this.skipWhitespace();
        if (stack.length == 0) {
          if (this.pos < this.len) return this.unexpected(t(JsonText.endAfterValue));
          return value;
        }
        const top = stack[stack.length - 1];
        const next = this.peek();
        const items = top.items;
        if (items !== null) {
          items.push(value);
          top.inMember = false;
          if (next == 0x2c) { // ','
            this.pos++;
            this.skipWhitespace();
            top.index++;
            top.inMember = true;
            break;
          }
          if (next != 0x5d) return this.unexpected(t(JsonText.afterArrayElement));
        } else {
          top.object!.set(top.key, value);
          top.inMember = false;
          if (next == 0x2c) {
            this.pos++;
            this.skipWhitespace();
            if (!this.readKey(top)) return null;
            break;
          }
          if (next != 0x7d) return this.unexpected(t(JsonText.afterObjectMember));
        }
        this.pos++; // ']' or '}'
        stack.pop();
        value = top.value;
      }
    }
  }

  /** At a member's start (whitespace skipped): the key, ':' and the whitespace after it. */
  private readKey(frame: Frame): bool {
    if (this.peek() != 0x22) { this.unexpected(t(JsonText.aStringKey)); return false; }
    const key = this.parseString();
    if (key === null) return false;
    frame.key = key;
    frame.inMember = true;
    this.skipWhitespace();
    if (this.peek() != 0x3a) { this.unexpected(t(JsonText.colonAfterKey)); return false; }
    this.pos++;
    this.skipWhitespace();
    return true;
  }

  private literal(word: string): bool {
    const n = word.length;
    for (let i = 0; i < n; i++) {
      const p = this.pos + i;
      if (p >= this.len || this.byteAt(p) != <u32>word.charCodeAt(i)) {
        this.pos = p;
        this.unexpected(t(JsonText.quote) + word.charAt(i) + t(JsonText.inLiteral) + word);
        return false;
      }
    }
    this.pos += n;
    return true;
  }

  private parseNumber(): JsonValue | null {
    const start = this.pos;
    let p = start;
    const n = this.len;
    if (this.byteAt(p) == 0x2d) p++;
    if (p >= n || !isDigit(this.byteAt(p))) { this.pos = p; return this.unexpected(t(JsonText.aDigit) + t(JsonText.afterMinus)); }
    if (this.byteAt(p) == 0x30) p++;
    else while (p < n && isDigit(this.byteAt(p))) p++;
    if (p < n && this.byteAt(p) == 0x2e) {
      p++;
      if (p >= n || !isDigit(this.byteAt(p))) { this.pos = p; return this.unexpected(t(JsonText.aDigit) + t(JsonText.afterDecimalPoint)); }
      while (p < n && isDigit(this.byteAt(p))) p++;
    }
    if (p < n && (this.byteAt(p) | 0x20) == 0x65) {
      p++;
      if (p < n && (this.byteAt(p) == 0x2b || this.byteAt(p) == 0x2d)) p++;
      if (p >= n || !isDigit(this.byteAt(p))) { this.pos = p; return this.unexpected(t(JsonText.aDigit) + t(JsonText.inTheExponent)); }
      while (p < n && isDigit(this.byteAt(p))) p++;
    }
    this.pos = p;
    return JsonValue.number(jsonNumberToF64(this.ptr + <usize>start, p - start));
  }

  /** At '"': the decoded string, or null (error set). */
  private parseString(): string | null {
    const n = this.len;
    const start = this.pos + 1;
    let p = start;
    // Fast path: printable ASCII up to the closing quote.
    while (p < n) {
      const c = this.byteAt(p);
      if (c == 0x22) {
        this.pos = p + 1;
        return String.UTF8.decodeUnsafe(this.ptr + <usize>start, <usize>(p - start));
      }
      if (c == 0x5c || c < 0x20 || c >= 0x80) break;
      p++;
    }
    units = 0;
    for (let i = start; i < p; i++) emitUnit(this.byteAt(i));
    while (p < n) {
      const c = this.byteAt(p);
      if (c == 0x22) {
        this.pos = p + 1;
        return takeScratch();
      }
      if (c == 0x5c) {
        p = this.escape(p);
        if (p < 0) return null;
      } else if (c < 0x20) {
        this.fail(t(JsonText.unescapedControl) + hex2(c) + t(JsonText.inAString), p);
        return null;
      } else if (c < 0x80) {
        emitUnit(c);
        p++;
      } else {
        p = this.utf8Sequence(p);
      }
    }
    this.fail(t(JsonText.unexpectedEnd) + t(JsonText.inAString), n);
    return null;
  }

  /** Decodes the escape at p ('\'); returns the position after it, or -1 (error set). */
  private escape(p: i32): i32 {
    if (p + 1 >= this.len) { this.fail(t(JsonText.unexpectedEnd) + t(JsonText.inAString), this.len); return -1; }
    const e = this.byteAt(p + 1);
    let u: u32 = 0;
    switch (e) {
      case 0x22: case 0x5c: case 0x2f: u = e; break;
      case 0x62: u = 0x08; break;
      case 0x66: u = 0x0c; break;
      case 0x6e: u = 0x0a; break;
      case 0x72: u = 0x0d; break;
      case 0x74: u = 0x09; break;
      case 0x75: {
        for (let i = 2; i < 6; i++) {
          // A non-hex byte before the end is the error, not the end itself.
          if (p + i >= this.len) { this.fail(t(JsonText.unexpectedEnd) + t(JsonText.inUEscape), this.len); return -1; }
          const h = hexValue(this.byteAt(p + i));
          if (h < 0) { this.fail(t(JsonText.invalidUEscape), p + i); return -1; }
          u = (u << 4) | <u32>h;
        }
        emitUnit(u); // lone surrogates stay as they are, as in JSON.parse
        return p + 6;
      }
      default: {
        const shown = e >= 0x21 && e < 0x7f
          ? t(JsonText.quoteBackslash) + String.fromCharCode(e) + t(JsonText.quote)
          : t(JsonText.backslashBeforeByte) + hex2(e);
        this.fail(t(JsonText.invalidEscape) + shown + t(JsonText.inAString), p);
        return -1;
      }
    }
    emitUnit(u);
    return p + 2;
  }

  /**
   * Decodes one UTF-8 sequence starting at the non-ASCII byte at p (WHATWG Encoding Standard
   * §4.2 "UTF-8 decoder"): an invalid lead byte, or a sequence cut short by a byte outside the
   * allowed range or by the end of input, gives one U+FFFD and the offending byte is read again.
   */
  private utf8Sequence(p: i32): i32 {
    const n = this.len;
    const b0 = this.byteAt(p);
    let need = 0;
    let lower: u32 = 0x80;
    let upper: u32 = 0xbf;
    let cp: u32 = 0;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
      need = 1; cp = b0 & 0x1f;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      need = 2; cp = b0 & 0x0f;
      if (b0 == 0xe0) lower = 0xa0;
      if (b0 == 0xed && !this.wtf8) upper = 0x9f; // surrogates only in WTF-8 (parseJson's text)
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      need = 3; cp = b0 & 0x07;
      if (b0 == 0xf0) lower = 0x90;
      if (b0 == 0xf4) upper = 0x8f;
    } else {
      emitUnit(0xfffd);
      return p + 1;
    }
    p++;
    for (let k = 0; k < need; k++) {
      if (p >= n) { emitUnit(0xfffd); return p; }
      const b = this.byteAt(p);
      if (b < lower || b > upper) { emitUnit(0xfffd); return p; }
      lower = 0x80;
      upper = 0xbf;
      cp = (cp << 6) | (b & 0x3f);
      p++;
    }
    emitCodePoint(cp);
    return p;
  }

  /** Path of the innermost member or element being read. */
  private path(): string {
    let path = "";
    const stack = this.stack;
    for (let i = 0, n = stack.length; i < n; i++) {
      const frame = stack[i];
      if (!frame.inMember) break;
      path = frame.items !== null ? pathWithIndex(path, frame.index) : pathWithKey(path, frame.key);
    }
    return path;
  }

  /** "<message>[ at <path>] (line L, column C, byte B)". */
  private describe(path: string): string {
    let line = 1;
    let lineStart = 0;
    const end = min(this.errorOffset, this.len);
    for (let i = 0; i < end; i++) {
      if (this.byteAt(i) == 0x0a) { line++; lineStart = i + 1; }
    }
    const where = t(JsonText.line) + line.toString() + t(JsonText.column) + (this.errorOffset - lineStart + 1).toString() +
      t(JsonText.byte) + this.errorOffset.toString() + t(JsonText.closeParen);
    return this.errorMessage + (path.length > 0 ? t(JsonText.at) + path : "") + where;
  }
}

/** Two upper-case hex digits of the byte c. */
function hex2(c: u32): string {
  return String.fromCharCode(hexDigit((c >> 4) & 15, 0x41)) + String.fromCharCode(hexDigit(c & 15, 0x41));
}
