/**
 * Field paths for error messages, in the JavaScript accessor style a user would type:
 * `rules[2].method`, `headers["x.y"]`. A key made of ASCII letters, digits, '_' and '-' that does
 * not start with a digit or '-' is written after a dot; any other key is quoted in brackets with
 * control characters, DEL, '"', '\' and surrogates escaped, so a path is always one printable line.
 * The root's path is "" and is shown as "(root)".
 */

/** `base` extended by an object key. */
export function pathWithKey(base: string, key: string): string {
  if (isPlainKey(key)) return base.length == 0 ? key : base + "." + key;
  return base + "[" + quoteKey(key) + "]";
}

/** `base` extended by an array index. */
export function pathWithIndex(base: string, index: i32): string {
  return base + "[" + index.toString() + "]";
}

/** The path as shown in messages: "(root)" for the root. */
export function displayPath(path: string): string {
  return path.length == 0 ? "(root)" : path;
}

function isPlainKey(key: string): bool {
  const n = key.length;
  if (n == 0) return false;
  for (let i = 0; i < n; i++) {
    const c = key.charCodeAt(i);
    const letter = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c == 0x5f;
    const tail = (c >= 0x30 && c <= 0x39) || c == 0x2d;
    if (!letter && (i == 0 || !tail)) return false;
  }
  return true;
}

/** The hex digit of d (0..15); `a` is the code of the digit for 10 ('a' or 'A'). */
export function hexDigit(d: u32, a: u32): i32 {
  return <i32>(d < 10 ? 0x30 + d : a - 10 + d);
}

/** A key as a double-quoted, single-line, printable literal. */
export function quoteKey(key: string): string {
  let out = "\"";
  let start = 0;
  const n = key.length;
  for (let i = 0; i < n; i++) {
    const c = key.charCodeAt(i);
    const plain = c >= 0x20 && c != 0x22 && c != 0x5c && c != 0x7f && (c < 0xd800 || c > 0xdfff);
    if (plain) continue;
    out += key.substring(start, i);
    if (c == 0x22 || c == 0x5c) {
      out += "\\" + String.fromCharCode(c);
    } else {
      out += "\\u";
      for (let shift = 12; shift >= 0; shift -= 4) out += String.fromCharCode(hexDigit((c >> shift) & 15, 0x61));
    }
    start = i + 1;
  }
  return out + key.substring(start) + "\"";
}
