/**
 * assembly/texts.ts keeps the filter's fixed texts as one ASCII byte table indexed by the const
 * enum Text, each member's text in its comment: the bytes must be those texts joined by '|' in the
 * enum's order, or a message, log line or metric name would show another's text. The filter's
 * tests check the composed messages, log lines and metrics byte for byte.
 */
import { describe, expect, it } from "vitest";
import { expectedBytes, readTextTable, tableBytes } from "../../sdk/test/json-text-table.ts";

const SOURCE = new URL("../assembly/texts.ts", import.meta.url).pathname;

describe("text table (assembly/texts.ts)", () => {
  it("holds the enum's texts, ASCII, joined by '|', in order", () => {
    const table = readTextTable(SOURCE, "Text");
    expect(table.members.length).toBeGreaterThan(50);
    for (const text of table.texts) {
      expect(text).not.toContain("|");
      expect([...text].every((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) < 0x7f), text).toBe(true);
    }
    const want = tableBytes(table.texts);
    expect(table.bytes, `paste into memory.data:\n${expectedBytes(table.texts)}`).toEqual(want);
    expect(table.length).toBe(want.length);
  });

  it("keeps the runs indexed by offset in their order", () => {
    const { members } = readTextTable(SOURCE, "Text");
    const run = (names: string[]) => names.map((n) => members.indexOf(n) - members.indexOf(names[0]!));
    // credentials.ts: ABSENT 0, VALID 1, INVALID 2; stats.ts: decisions 0..3, codeSlot 0..2.
    expect(run(["absent", "valid", "invalid"])).toEqual([0, 1, 2]);
    expect(run(["allowed", "denied", "shadowDenied", "audited"])).toEqual([0, 1, 2, 3]);
    expect(run(["codeOk", "codePermissionDenied", "codeUnauthenticated"])).toEqual([0, 1, 2]);
    expect(new Set(members).size).toBe(members.length);
  });
});
