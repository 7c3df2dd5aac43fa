/**
 * assembly/names.ts: each names table is a `memory.data` byte table followed by its length, with
 * its text in a comment (`names(memory.data<u8>([ // "a|b"` ... `]), 3)`). The bytes must be the
 * comment's text, ASCII, and the length theirs, or the filter would read other names than the
 * source shows. This reads every assembly source (but names.ts, whose example is no table) and checks every table.
 */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const DIR = new URL("../assembly/", import.meta.url);

/** Every names table of a source text: its comment's text, bytes and stated length. */
export function namesTables(source: string): Array<{ text: string; bytes: number[]; length: number }> {
  const re = /names\(memory\.data<u8>\(\[ \/\/ (".*")\n([\s\S]*?)\]\), (\d+)\)/g;
  return [...source.matchAll(re)].map((m) => ({
    text: JSON.parse(m[1]!) as string,
    bytes: m[2]!.split(",").map((s) => s.trim()).filter((s) => s.length > 0).map((s) => Number(s)),
    length: Number(m[3]),
  }));
}

/** The array body to paste for `text`. */
function bytesFor(text: string): string {
  const b = [...Buffer.from(text, "latin1")];
  const lines: string[] = [];
  for (let i = 0; i < b.length; i += 16) lines.push(b.slice(i, i + 16).map((x) => "0x" + x.toString(16).padStart(2, "0")).join(", ") + ",");
  return lines.join("\n") + `\n]), ${b.length})`;
}

describe("names tables (assembly/names.ts)", () => {
  it("every table's bytes and length are its comment's ASCII text", () => {
    let count = 0;
    for (const file of readdirSync(DIR).filter((f) => f.endsWith(".ts") && f !== "names.ts")) {
      const source = readFileSync(new URL(file, DIR), "utf8");
      const calls = (source.match(/names\(memory\.data/g) ?? []).length;
      const tables = namesTables(source);
      expect({ file, tables: tables.length }).toEqual({ file, tables: calls });
      for (const t of tables) {
        expect([...t.text].every((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) < 0x7f), `${file}: ${t.text}`).toBe(true);
        const want = [...Buffer.from(t.text, "latin1")];
        expect(t.bytes, `${file}: table "${t.text}" should be:\n${bytesFor(t.text)}`).toEqual(want);
        expect(t.length, `${file}: length of "${t.text}"`).toBe(want.length);
        count++;
      }
    }
    expect(count).toBeGreaterThanOrEqual(19);
  });
});
