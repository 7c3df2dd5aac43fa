import { describe, expect, it } from "vitest";
import { formatLogLine } from "./log.ts";

describe("formatLogLine", () => {
  it.each([
    ["stream, all parts", { filterName: "f", rootId: "r", vmId: "v", isStream: true }, "wasm log f r v: hi"],
    ["root, all parts (name not shown)", { filterName: "f", rootId: "r", vmId: "v", isStream: false }, "wasm log r v: hi"],
    ["stream, empty root id", { filterName: "f", rootId: "", vmId: "v", isStream: true }, "wasm log f v: hi"],
    ["stream, only name", { filterName: "f", isStream: true }, "wasm log f: hi"],
    ["root, only vm id", { rootId: "", vmId: "v", isStream: false }, "wasm log v: hi"],
    ["stream, all empty", { filterName: "", rootId: "", vmId: "", isStream: true }, "wasm log: hi"],
    ["root, all absent", { isStream: false }, "wasm log: hi"],
  ])("%s", (_name, parts, expected) => {
    expect(formatLogLine("hi", parts)).toBe(expected);
  });

  it("keeps the message verbatim, including colons and newlines", () => {
    expect(formatLogLine("a: b\nc", { isStream: false })).toBe("wasm log: a: b\nc");
  });
});
