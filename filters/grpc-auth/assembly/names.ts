/**
 * Tables of names written as one literal. Every distinct string literal costs the module about
 * 23 bytes besides its text (AssemblyScript's 20-byte static object header, which binaryen's
 * memory packing stores as two data segments), so a list of names — reasons, label values,
 * configuration field names — is one literal split once at start: `names("a|b|c")` is
 * ["a", "b", "c"]; an empty part is an empty name ("|x" is ["", "x"]).
 */

/** The parts of `text` between '|' separators, in order. */
export function names(text: string): Array<string> {
  const out = new Array<string>();
  let start = 0;
  for (let i = 0, n = text.length; i <= n; i++) {
    if (i < n && text.charCodeAt(i) != 0x7c) continue;
    out.push(text.substring(start, i));
    start = i + 1;
  }
  return out;
}
