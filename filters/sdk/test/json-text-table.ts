/**
 * Test helper for text tables (table.ts): reads a table's source, takes each const-enum member's
 * text from its trailing comment (`name, // "text"`, a JSON string) and the bytes of
 * `memory.data<u8>([...])`, and says whether the bytes are the texts joined by '|'. When they are
 * not, `expectedBytes` is the array body to paste (`npx tsx filters/sdk/test/json-text-table.ts <source> <Enum>` prints it).
 */
import { readFileSync } from "node:fs";

export interface TextTable {
  members: string[];
  texts: string[];
  bytes: number[];
  length: number;
}

export function readTextTable(sourcePath: string, enumName: string): TextTable {
  const source = readFileSync(sourcePath, "utf8");
  const body = new RegExp(`export const enum ${enumName} \\{([\\s\\S]*?)\\n\\}`).exec(source);
  if (body === null) throw new Error(`${sourcePath}: no const enum ${enumName}`);
  const members: string[] = [];
  const texts: string[] = [];
  for (const line of body[1]!.split("\n")) {
    if (line.trim().length === 0) continue;
    const m = /^\s*(\w+),\s*\/\/ (".*")\s*$/.exec(line);
    if (m === null) throw new Error(`${sourcePath}: enum ${enumName}: not 'name, // "text"': ${line.trim()}`);
    members.push(m[1]!);
    texts.push(JSON.parse(m[2]!) as string);
  }
  const data = /memory\.data<u8>\(\[([\s\S]*?)\]\)/.exec(source);
  if (data === null) throw new Error(`${sourcePath}: no memory.data<u8>([...]) table`);
  const bytes = data[1]!.split(",").map((s) => s.trim()).filter((s) => s.length > 0).map((s) => Number(s));
  const length = /const TABLE_LENGTH = (\d+);/.exec(source);
  return { members, texts, bytes, length: length === null ? -1 : Number(length[1]) };
}

/** The bytes a table with these texts must hold. */
export function tableBytes(texts: string[]): number[] {
  return [...Buffer.from(texts.join("|"), "latin1")];
}

/** `memory.data` array body for these texts, 24 bytes a line. */
export function expectedBytes(texts: string[]): string {
  const bytes = tableBytes(texts);
  const lines: string[] = [];
  for (let i = 0; i < bytes.length; i += 24) {
    lines.push("  " + bytes.slice(i, i + 24).map((b) => "0x" + b.toString(16).padStart(2, "0")).join(", ") + ",");
  }
  return lines.join("\n") + `\n(TABLE_LENGTH = ${bytes.length})`;
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split("/").pop()!) && process.argv.length === 4) {
  console.log(expectedBytes(readTextTable(process.argv[2]!, process.argv[3]!).texts));
}
