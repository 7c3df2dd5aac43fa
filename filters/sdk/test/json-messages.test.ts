/**
 * json/messages.ts keeps the parser's and ConfigReader's message parts as one ASCII byte table
 * indexed by the const enum JsonText, each member's text in its comment: the bytes must be those
 * texts joined by '|' in the enum's order, or a message would show another's text. The parser and
 * reader tests check the composed messages byte for byte.
 */
import { describe, expect, it } from "vitest";
import { expectedBytes, readTextTable, tableBytes } from "./json-text-table.ts";

const SOURCE = new URL("../json/messages.ts", import.meta.url).pathname;

describe("JSON message table (json/messages.ts)", () => {
  it("holds the enum's texts, ASCII, joined by '|', in order", () => {
    const table = readTextTable(SOURCE, "JsonText");
    expect(table.members.length).toBeGreaterThan(40);
    for (const text of table.texts) {
      expect(text).not.toContain("|");
      expect([...text].every((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) < 0x7f)).toBe(true);
    }
    const want = tableBytes(table.texts);
    expect(table.bytes, `paste into memory.data:\n${expectedBytes(table.texts)}`).toEqual(want);
    expect(table.length).toBe(want.length);
  });

  it("has distinct member names and texts", () => {
    const table = readTextTable(SOURCE, "JsonText");
    expect(new Set(table.members).size).toBe(table.members.length);
    expect(new Set(table.texts).size).toBe(table.texts.length);
  });
});
