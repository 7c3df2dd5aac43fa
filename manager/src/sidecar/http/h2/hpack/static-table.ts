/**
 * The HPACK static table (RFC 7541 §2.3.1, Appendix A): 61 fixed entries at indices 1..61,
 * before the dynamic table's entries (§2.3.3). STATIC_NAMES/STATIC_VALUES are indexed by the
 * HPACK index (slot 0 is unused); staticLookup() finds, with one map read, a name's smallest
 * index and the index of each of its (name, value) entries, as the encoder needs.
 */

const ENTRIES: ReadonlyArray<readonly [string, string]> = [
  [":authority", ""],
  [":method", "GET"],
  [":method", "POST"],
  [":path", "/"],
  [":path", "/index.html"],
  [":scheme", "http"],
  [":scheme", "https"],
  [":status", "200"],
  [":status", "204"],
  [":status", "206"],
  [":status", "304"],
  [":status", "400"],
  [":status", "404"],
  [":status", "500"],
  ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"],
  ["accept-language", ""],
  ["accept-ranges", ""],
  ["accept", ""],
  ["access-control-allow-origin", ""],
  ["age", ""],
  ["allow", ""],
  ["authorization", ""],
  ["cache-control", ""],
  ["content-disposition", ""],
  ["content-encoding", ""],
  ["content-language", ""],
  ["content-length", ""],
  ["content-location", ""],
  ["content-range", ""],
  ["content-type", ""],
  ["cookie", ""],
  ["date", ""],
  ["etag", ""],
  ["expect", ""],
  ["expires", ""],
  ["from", ""],
  ["host", ""],
  ["if-match", ""],
  ["if-modified-since", ""],
  ["if-none-match", ""],
  ["if-range", ""],
  ["if-unmodified-since", ""],
  ["last-modified", ""],
  ["link", ""],
  ["location", ""],
  ["max-forwards", ""],
  ["proxy-authenticate", ""],
  ["proxy-authorization", ""],
  ["range", ""],
  ["referer", ""],
  ["refresh", ""],
  ["retry-after", ""],
  ["server", ""],
  ["set-cookie", ""],
  ["strict-transport-security", ""],
  ["transfer-encoding", ""],
  ["user-agent", ""],
  ["vary", ""],
  ["via", ""],
  ["www-authenticate", ""],
];

/** Number of static entries; dynamic entries start at index STATIC_TABLE_LENGTH + 1. */
export const STATIC_TABLE_LENGTH = 61;

/** Entry names by HPACK index (1..61); index 0 holds "". */
export const STATIC_NAMES: readonly string[] = ["", ...ENTRIES.map((e) => e[0])];
/** Entry values by HPACK index (1..61); index 0 holds "". */
export const STATIC_VALUES: readonly string[] = ["", ...ENTRIES.map((e) => e[1])];

/** What the static table holds for one name. */
export interface StaticName {
  /** The smallest index with this name. */
  readonly index: number;
  /** Index of each (name, value) entry, by value. */
  readonly values: ReadonlyMap<string, number>;
}

const BY_NAME = new Map<string, { index: number; values: Map<string, number> }>();
for (let i = 1; i <= STATIC_TABLE_LENGTH; i++) {
  const name = STATIC_NAMES[i];
  let slot = BY_NAME.get(name);
  if (slot === undefined) BY_NAME.set(name, (slot = { index: i, values: new Map() }));
  slot.values.set(STATIC_VALUES[i], i);
}

/** The static table's entries for name, or undefined when it has none. */
export function staticLookup(name: string): StaticName | undefined {
  return BY_NAME.get(name);
}

/** The smallest static index with this name, or 0. */
export function staticNameIndex(name: string): number {
  return BY_NAME.get(name)?.index ?? 0;
}

/** The static index of exactly (name, value), or 0. */
export function staticIndex(name: string, value: string): number {
  return BY_NAME.get(name)?.values.get(value) ?? 0;
}
