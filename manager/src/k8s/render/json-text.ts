/**
 * JSON (RFC 8259) read with the position of the first error, which V8's JSON.parse does not
 * always give: a recursive-descent check of the grammar finds the offset of the first byte that
 * cannot continue a valid document; JSON.parse then builds the value. Errors are
 * `file:line:col: not valid JSON: <what was expected>`.
 */
import { UserError } from "../../errors.ts";

class JsonSyntax extends Error {
  constructor(readonly offset: number, message: string) {
    super(message);
  }
}

function check(text: string): void {
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
  };
  const fail = (what: string): never => {
    throw new JsonSyntax(i, i >= text.length ? `unexpected end of input, expected ${what}` : `unexpected ${JSON.stringify(text[i])}, expected ${what}`);
  };
  const literal = (word: string) => {
    if (text.startsWith(word, i)) i += word.length;
    else fail(word);
  };
  const string = () => {
    i++;
    while (i < text.length && text[i] !== '"') {
      const c = text.charCodeAt(i);
      if (c < 0x20) fail("a character (control characters must be escaped)");
      if (text[i] === "\\") {
        i++;
        if (text[i] === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail("four hex digits after \\u");
          i += 5;
        } else if (text[i] !== undefined && '"\\/bfnrt'.includes(text[i]!)) i++;
        else fail("an escape character");
      } else i++;
    }
    if (i >= text.length) fail('a closing "');
    i++;
  };
  const number = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m || m[0] === "" || m[0] === "-") fail("a value");
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      ws();
      if (text[i] === "}") return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') fail("a string key");
        string();
        ws();
        if (text[i] !== ":") fail('":"');
        i++;
        value();
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "}") return void i++;
        else fail('"," or "}"');
      }
    }
    if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "]") return void i++;
        else fail('"," or "]"');
      }
    }
    if (c === '"') return string();
    if (c === "t") return literal("true");
    if (c === "f") return literal("false");
    if (c === "n") return literal("null");
    number();
  };
  value();
  ws();
  if (i < text.length) fail("the end of the document");
}

/** Parses JSON text; errors name `shown:line:col`. */
export function parseJsonText(text: string, shown: string): unknown {
  try {
    check(text.replace(/^\uFEFF/, ""));
  } catch (e) {
    if (!(e instanceof JsonSyntax)) throw e;
    const before = text.slice(0, e.offset).split("\n");
    throw new UserError(`${shown}:${before.length}:${before[before.length - 1]!.length + 1}: not valid JSON: ${e.message}`);
  }
  return JSON.parse(text.replace(/^\uFEFF/, "")) as unknown;
}
