/**
 * HPACK header block encoder (RFC 7541 §3, §6), one per connection direction.
 *
 * encode() turns a flat [name, value, ...] list (names already lowercase) into one header
 * block, in order:
 * - a field equal to a static or dynamic entry becomes an indexed field (§6.1);
 * - otherwise a literal, its name given by index when a table has it (the static index first):
 *   - never indexed (§6.2.3) for authorization, proxy-authorization and cookie values shorter
 *     than 20 octets (nghttp2's rule: short secrets are guessable from compression);
 *   - without indexing (§6.2.2) for headers whose values differ from request to request
 *     (nghttp2's list: content-length, age, etag, if-modified-since, if-none-match, location,
 *     set-cookie; and the ids of requests and traces: x-request-id, traceparent, x-b3-*,
 *     x-amzn-trace-id, x-datadog-*; and grpc-timeout) and for values longer than a quarter of
 *     the table, so that they do not evict the entries that repeat;
 *   - with incremental indexing (§6.2.1) for the rest, so headers that repeat across requests
 *     (content-type, te, user-agent, :authority, a gRPC :path) cost one octet from then on.
 * String literals are Huffman-coded (§5.2) when that is shorter; chars are latin1 octets.
 *
 * setMaxTableSize() takes the peer's SETTINGS_HEADER_TABLE_SIZE. The table uses at most that
 * and at most 4096 octets (so a peer offering more does not make us hold more), shrinking at
 * once, and the next block starts with dynamic table size updates (§4.2, §6.3): the smallest
 * size since the previous block when it is below the final one, then the final size.
 *
 * Blocks are built in a reusable scratch buffer and copied into one right-sized Buffer, which
 * stays valid after later encode() calls.
 */
import { DynamicTable } from "./dynamic-table.ts";
import { huffmanEncode, huffmanEncodedLength } from "./huffman.ts";
import { encodeInteger } from "./integer.ts";
import { STATIC_TABLE_LENGTH, staticLookup } from "./static-table.ts";

/** The most dynamic table this encoder keeps, whatever the peer allows. */
const ENCODER_TABLE_LIMIT = 4096;

const UNINDEXED_NAMES: ReadonlySet<string> = new Set([
  "content-length",
  "age",
  "etag",
  "if-modified-since",
  "if-none-match",
  "location",
  "set-cookie",
  "x-request-id",
  "traceparent",
  "x-b3-traceid",
  "x-b3-spanid",
  "x-b3-parentspanid",
  "x-amzn-trace-id",
  "x-datadog-trace-id",
  "x-datadog-parent-id",
  "grpc-timeout",
]);

interface NameEntries {
  /** Id of the newest entry with this name. */
  id: number;
  /** Id of the newest entry with each value. */
  readonly values: Map<string, number>;
}

/** A dynamic table that can find its entries by name and by (name, value). */
class IndexedTable extends DynamicTable {
  private readonly byName = new Map<string, NameEntries>();

  /** HPACK index of the newest entry equal to (name, value), or 0. */
  findExact(name: string, value: string): number {
    const id = this.byName.get(name)?.values.get(value);
    return id === undefined ? 0 : this.indexOf(id);
  }

  /** HPACK index of the newest entry named name, or 0. */
  findName(name: string): number {
    const entries = this.byName.get(name);
    return entries === undefined ? 0 : this.indexOf(entries.id);
  }

  override add(name: string, value: string): boolean {
    if (!super.add(name, value)) return false;
    const id = this.insertCount - 1;
    const entries = this.byName.get(name);
    if (entries === undefined) {
      this.byName.set(name, { id, values: new Map([[value, id]]) });
    } else {
      entries.id = id;
      entries.values.set(value, id);
    }
    return true;
  }

  protected override evicted(name: string, value: string, id: number): void {
    const entries = this.byName.get(name);
    if (entries === undefined) return;
    // Eviction is oldest first: when the newest entry with this name goes, all of them have.
    if (entries.id === id) this.byName.delete(name);
    else if (entries.values.get(value) === id) entries.values.delete(value);
  }

  private indexOf(id: number): number {
    return STATIC_TABLE_LENGTH + this.insertCount - id;
  }
}

export class HpackEncoder {
  private readonly table = new IndexedTable(ENCODER_TABLE_LIMIT);
  private scratch = Buffer.allocUnsafe(1024);
  private sizeUpdatePending = false;
  private smallestSizeSinceBlock = 0;

  constructor() {}

  /** Size of the dynamic table (§4.1), in octets. */
  get tableSize(): number {
    return this.table.size;
  }

  /** The peer's SETTINGS_HEADER_TABLE_SIZE: the table shrinks to at most this, and the next block starts with a dynamic table size update (§4.2, §6.3). */
  setMaxTableSize(size: number): void {
    if (!Number.isInteger(size) || size < 0 || size > 0xffffffff) throw new RangeError(`invalid header table size ${size}`);
    const effective = Math.min(size, ENCODER_TABLE_LIMIT);
    this.table.setMaxSize(effective);
    this.smallestSizeSinceBlock = this.sizeUpdatePending ? Math.min(this.smallestSizeSinceBlock, effective) : effective;
    this.sizeUpdatePending = true;
  }

  /** Encodes a flat [name, value, ...] list (names already lowercase) into one header block. */
  encode(headers: readonly string[]): Buffer {
    if ((headers.length & 1) !== 0) throw new TypeError("header list must hold name, value pairs");
    // Upper bound: per field a representation octet, up to 5 for an index and 5 per string length.
    let bound = 12;
    for (let i = 0; i < headers.length; i++) bound += headers[i].length + 8;
    if (bound > this.scratch.length) this.scratch = Buffer.allocUnsafe(Math.max(bound, this.scratch.length * 2));
    const buf = this.scratch;
    let pos = 0;
    if (this.sizeUpdatePending) {
      const size = this.table.maxSize;
      if (this.smallestSizeSinceBlock < size) pos = encodeInteger(buf, pos, this.smallestSizeSinceBlock, 5, 0x20);
      pos = encodeInteger(buf, pos, size, 5, 0x20);
      this.sizeUpdatePending = false;
    }
    for (let i = 0; i < headers.length; i += 2) pos = this.field(buf, pos, headers[i], headers[i + 1]);
    const out = Buffer.allocUnsafe(pos);
    buf.copy(out, 0, 0, pos);
    return out;
  }

  private field(buf: Buffer, pos: number, name: string, value: string): number {
    const table = this.table;
    const statics = staticLookup(name);
    const sensitive =
      name === "authorization" || name === "proxy-authorization" || (name === "cookie" && value.length < 20);
    if (!sensitive) {
      const staticIndex = statics?.values.get(value);
      if (staticIndex !== undefined) {
        buf[pos] = 0x80 | staticIndex; // at most 61: one octet
        return pos + 1;
      }
      const index = table.findExact(name, value);
      if (index !== 0) return encodeInteger(buf, pos, index, 7, 0x80);
    }
    const nameIndex = statics !== undefined ? statics.index : table.findName(name);
    let indexing = false;
    let prefixBits = 4;
    let flags = 0x00; // §6.2.2 without indexing
    if (sensitive) {
      flags = 0x10; // §6.2.3 never indexed
    } else if (!UNINDEXED_NAMES.has(name) && value.length <= table.maxSize >>> 2 && name.length + value.length + 32 <= table.maxSize) {
      indexing = true;
      prefixBits = 6;
      flags = 0x40; // §6.2.1 with incremental indexing
    }
    if (nameIndex !== 0) {
      pos = encodeInteger(buf, pos, nameIndex, prefixBits, flags);
    } else {
      buf[pos++] = flags;
      pos = writeString(buf, pos, name);
    }
    pos = writeString(buf, pos, value);
    // After the name index was written: adding may evict the entry it refers to.
    if (indexing) table.add(name, value);
    return pos;
  }
}

/** §5.2 string literal, Huffman-coded when that is shorter. */
function writeString(buf: Buffer, pos: number, str: string): number {
  const length = str.length;
  const huffmanLength = huffmanEncodedLength(str);
  if (huffmanLength < length) {
    pos = encodeInteger(buf, pos, huffmanLength, 7, 0x80);
    return huffmanEncode(str, buf, pos);
  }
  pos = encodeInteger(buf, pos, length, 7, 0);
  if (length > 64) return pos + buf.write(str, pos, length, "latin1");
  for (let i = 0; i < length; i++) buf[pos + i] = str.charCodeAt(i);
  return pos + length;
}
