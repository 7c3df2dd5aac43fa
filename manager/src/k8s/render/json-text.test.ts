import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseJsonText } from "./json-text.ts";

const accepts = (text: string) => {
  try {
    parseJsonText(text, "f.json");
    return true;
  } catch {
    return false;
  }
};

describe("parseJsonText", () => {
  it.each([
    ['{"a": 1,\n  "b": }', "f.json:2:8: not valid JSON: unexpected \"}\", expected a value"],
    ['{"a": [1, 2', "f.json:1:12: not valid JSON: unexpected end of input, expected \",\" or \"]\""],
    ["{'a': 1}", "f.json:1:2: not valid JSON: unexpected \"'\", expected a string key"],
    ['{"a": 01}', "f.json:1:8: not valid JSON: unexpected \"1\", expected \",\" or \"}\""],
    ['{"a": "x\\q"}', "f.json:1:10: not valid JSON: unexpected \"q\", expected an escape character"],
    ['{"a": tru}', "f.json:1:7: not valid JSON: unexpected \"t\", expected true"],
    ["{} {}", "f.json:1:4: not valid JSON: unexpected \"{\", expected the end of the document"],
  ])("%j: %s", (text, message) => {
    expect(() => parseJsonText(text, "f.json")).toThrow(message);
  });

  it("agrees with JSON.parse on 5,000 documents and near-documents", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat(), fc.string({ maxLength: 3 }), (value, cut, noise) => {
        const text = JSON.stringify(value, null, cut % 3);
        expect(parseJsonText(text, "f.json")).toEqual(JSON.parse(text));
        const at = text.length === 0 ? 0 : cut % text.length;
        const mutated = text.slice(0, at) + noise + text.slice(at + (cut % 2));
        let native = true;
        try {
          JSON.parse(mutated);
        } catch {
          native = false;
        }
        expect(accepts(mutated)).toBe(native);
      }),
      { numRuns: 5_000 },
    );
  });
});
