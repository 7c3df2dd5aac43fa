/**
 * Text tables: many ASCII texts stored as one '|'-separated byte table (`memory.data`), read one
 * part at a time. AssemblyScript stores every distinct string literal as a UTF-16 static object
 * whose 20-byte header binaryen's memory packing keeps as two data segments: about 23 bytes per
 * literal besides its text, and two bytes per character. Texts needed only when an error is
 * reported (configuration and parse errors) go in one byte table per module instead: one byte per
 * character, one segment in all. `part` finds the text wanted by scanning, O(table length), and
 * builds the string then: a cost paid on the error path only. A part never contains '|'.
 *
 * A table is written as a const enum whose members carry their text in a trailing comment
 * (`name, // "text"`), followed by the bytes of those texts joined by '|'; a test per table
 * (filters/sdk/test/json-text-table.ts) checks that the bytes are the comments' texts, in order,
 * and prints the bytes to use when they are not.
 */

/** The `index`-th '|'-separated part (0-based) of the `length` bytes at `table`; "" past the last. */
export function part(table: usize, length: i32, index: i32): string {
  const end = table + <usize>length;
  let start = table;
  for (let seen = 0; seen < index; start++) {
    if (start >= end) return "";
    if (load<u8>(start) == 0x7c) seen++;
  }
  let stop = start;
  while (stop < end && load<u8>(stop) != 0x7c) stop++;
  return String.UTF8.decodeUnsafe(start, stop - start);
}
