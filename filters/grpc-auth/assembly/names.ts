/**
 * Tables of names stored as ASCII bytes. Every distinct string literal costs the module about
 * 23 bytes besides its text (AssemblyScript's 20-byte static object header, which binaryen's
 * memory packing stores as two data segments) and two bytes per character (UTF-16), so a list of
 * names — reasons, label values, configuration field names — is one `memory.data` byte table,
 * split once at start: `names(bytes of "a|b|c", 5)` is ["a", "b", "c"]; an empty part is an empty
 * name ("|x" is ["", "x"]). Each table is written
 *
 *     names(memory.data<u8>([ // "a|b|c"
 *       0x61, 0x7c, 0x62, 0x7c, 0x63,
 *     ]), 5)
 *
 * and `test/names.test.ts` checks that every table's bytes and length are its comment's text
 * (printing the bytes to use when they are not).
 */

/** The parts of the `length` ASCII bytes at `table` between '|' separators, in order. */
export function names(table: usize, length: i32): Array<string> {
  const out = new Array<string>();
  let start: usize = 0;
  const n = <usize>length;
  for (let i: usize = 0; i <= n; i++) {
    if (i < n && load<u8>(table + i) != 0x7c) continue;
    out.push(String.UTF8.decodeUnsafe(table + start, i - start));
    start = i + 1;
  }
  return out;
}
