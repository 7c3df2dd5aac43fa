/**
 * HPACK header block decoder (RFC 7541 §3, §6), one per connection direction.
 *
 * decode() takes one complete header block (HEADERS + CONTINUATION payloads joined) and returns
 * its fields as a flat [name0, value0, name1, value1, ...] list, in order. It handles every §6
 * representation: indexed (§6.1), literal with incremental indexing (§6.2.1), without indexing
 * (§6.2.2), never indexed (§6.2.3) and dynamic table size updates (§6.3). Strings are latin1,
 * one char per octet, as Node's http2 decodes them.
 *
 * Any malformed block throws HpackError, after which the dynamic table is out of step with the
 * peer's: the connection must be closed with COMPRESSION_ERROR. That covers index 0 or an index
 * past both tables (§2.3.3), truncated input, integers over 2^31-1 (§5.1), bad Huffman strings
 * (§5.2), a size update above our SETTINGS_HEADER_TABLE_SIZE or after a header field (§4.2),
 * and a decoded list whose size (each field's name + value + 32 octets, as
 * SETTINGS_MAX_HEADER_LIST_SIZE counts it) exceeds maxHeaderListBytes (default: no limit).
 */
import { DynamicTable } from "./dynamic-table.ts";
import { HpackError } from "./errors.ts";
import { huffmanDecode } from "./huffman.ts";
import { decodeInteger, type Cursor } from "./integer.ts";
import { STATIC_NAMES, STATIC_TABLE_LENGTH, STATIC_VALUES } from "./static-table.ts";

export { HpackError } from "./errors.ts";

const DEFAULT_TABLE_SIZE = 4096;

interface Latin1Buffer extends Buffer {
  latin1Slice(start: number, end: number): string;
}

export class HpackDecoder {
  private readonly table: DynamicTable;
  private readonly cursor: Cursor = { pos: 0 };

  /**
   * maxTableSize: the SETTINGS_HEADER_TABLE_SIZE we advertise (default 4096), the largest size
   * update accepted. The table starts at the smaller of it and 4096, the protocol's initial
   * size (RFC 9113 §6.5.2), which the peer's encoder assumes until it signals another.
   */
  constructor(private readonly maxTableSize = DEFAULT_TABLE_SIZE) {
    this.table = new DynamicTable(Math.min(maxTableSize, DEFAULT_TABLE_SIZE));
  }

  /** Size of the dynamic table (§4.1), in octets. */
  get tableSize(): number {
    return this.table.size;
  }

  /** The dynamic table's entries, newest first, as a flat [name, value, ...] list. */
  tableEntries(): string[] {
    const out: string[] = [];
    for (let k = 0; k < this.table.length; k++) out.push(this.table.name(k), this.table.value(k));
    return out;
  }

  /**
   * Decodes one complete header block. Returns a flat list [name0, value0, name1, value1, ...].
   * Throws HpackError on any malformed input (see the module comment).
   */
  decode(block: Uint8Array, maxHeaderListBytes = Infinity): string[] {
    const buf = (Buffer.isBuffer(block) ? block : Buffer.from(block.buffer, block.byteOffset, block.byteLength)) as Latin1Buffer;
    const cur = this.cursor;
    const end = buf.length;
    const table = this.table;
    const out: string[] = [];
    let listSize = 0;
    cur.pos = 0;
    while (cur.pos < end) {
      const b = buf[cur.pos];
      let name: string;
      let value: string;
      if (b >= 0x80) {
        // §6.1 indexed header field
        let index = b & 0x7f;
        if (index === 0x7f) index = decodeInteger(buf, cur, end, 7);
        else cur.pos++;
        if (index === 0) throw new HpackError("indexed header field with index 0");
        if (index <= STATIC_TABLE_LENGTH) {
          name = STATIC_NAMES[index];
          value = STATIC_VALUES[index];
        } else {
          const k = this.dynamicPosition(index);
          name = table.name(k);
          value = table.value(k);
        }
      } else if (b >= 0x40) {
        // §6.2.1 literal with incremental indexing
        name = this.literalName(buf, cur, end, 6);
        value = this.string(buf, cur, end);
        table.add(name, value);
      } else if (b >= 0x20) {
        // §6.3 dynamic table size update: only before the first field (§4.2)
        if (out.length > 0) throw new HpackError("dynamic table size update after a header field");
        const size = decodeInteger(buf, cur, end, 5);
        if (size > this.maxTableSize) {
          throw new HpackError(`dynamic table size update to ${size} above the limit ${this.maxTableSize}`);
        }
        table.setMaxSize(size);
        continue;
      } else {
        // §6.2.2 without indexing (0000xxxx), §6.2.3 never indexed (0001xxxx)
        name = this.literalName(buf, cur, end, 4);
        value = this.string(buf, cur, end);
      }
      listSize += name.length + value.length + 32;
      if (listSize > maxHeaderListBytes) {
        throw new HpackError(`header list larger than ${maxHeaderListBytes} bytes`);
      }
      out.push(name, value);
    }
    return out;
  }

  /** Dynamic table position of an HPACK index above the static table (§2.3.3). */
  private dynamicPosition(index: number): number {
    const k = index - STATIC_TABLE_LENGTH - 1;
    if (k >= this.table.length) throw new HpackError(`index ${index} is past the end of the tables`);
    return k;
  }

  /** The name of a literal representation: an indexed name, or (index 0) a string literal. */
  private literalName(buf: Latin1Buffer, cur: Cursor, end: number, prefixBits: number): string {
    const index = decodeInteger(buf, cur, end, prefixBits);
    if (index === 0) return this.string(buf, cur, end);
    if (index <= STATIC_TABLE_LENGTH) return STATIC_NAMES[index];
    return this.table.name(this.dynamicPosition(index));
  }

  /** §5.2 string literal: H bit, 7-bit prefix length, then raw or Huffman octets. */
  private string(buf: Latin1Buffer, cur: Cursor, end: number): string {
    if (cur.pos >= end) throw new HpackError("truncated string literal");
    const huffman = buf[cur.pos] >= 0x80;
    const length = decodeInteger(buf, cur, end, 7);
    const start = cur.pos;
    if (length > end - start) throw new HpackError("truncated string literal");
    cur.pos = start + length;
    return huffman ? huffmanDecode(buf, start, start + length) : buf.latin1Slice(start, start + length);
  }
}
