/**
 * A small DER reader (ITU-T X.690 §8 and §10): one TLV at a time, with its tag class,
 * constructed bit, tag number (low and high tag-number forms) and definite length (short and
 * long forms, up to 2^31 - 1). It reads certificates that the TLS stack has already accepted,
 * but it is written for hostile input: every read is bounds-checked, nothing throws, and
 * anything it cannot read (indefinite length, a length past the end, a truncated tag) is
 * `undefined`.
 */

export interface Tlv {
  /** 0 universal, 1 application, 2 context-specific, 3 private. */
  tagClass: number;
  constructed: boolean;
  tagNumber: number;
  /** Offset of the identifier octet. */
  start: number;
  /** Offset of the first content octet. */
  contentStart: number;
  /** Offset just past the last content octet. */
  end: number;
}

/** Reads the TLV at `pos`; it must end at or before `limit`. */
export function readTlv(buf: Uint8Array, pos: number, limit: number = buf.length): Tlv | undefined {
  if (pos < 0 || limit > buf.length || pos >= limit) return undefined;
  const start = pos;
  const id = buf[pos++]!;
  const tagClass = id >> 6;
  const constructed = (id & 0x20) !== 0;
  let tagNumber = id & 0x1f;
  if (tagNumber === 0x1f) {
    tagNumber = 0;
    for (let n = 0; ; n++) {
      if (pos >= limit || n >= 4) return undefined;
      const b = buf[pos++]!;
      tagNumber = tagNumber * 128 + (b & 0x7f);
      if ((b & 0x80) === 0) break;
    }
  }
  if (pos >= limit) return undefined;
  const first = buf[pos++]!;
  let length: number;
  if (first < 0x80) {
    length = first;
  } else {
    const count = first & 0x7f;
    if (count === 0 || count > 4) return undefined; // indefinite length, or absurdly long
    length = 0;
    for (let i = 0; i < count; i++) {
      if (pos >= limit) return undefined;
      length = length * 256 + buf[pos++]!;
    }
    if (length > 0x7fffffff) return undefined;
  }
  const end = pos + length;
  if (end > limit) return undefined;
  return { tagClass, constructed, tagNumber, start, contentStart: pos, end };
}

/** The TLVs inside a constructed TLV, in order; undefined if any of them is malformed. */
export function childrenOf(buf: Uint8Array, parent: Tlv): Tlv[] | undefined {
  const out: Tlv[] = [];
  let pos = parent.contentStart;
  while (pos < parent.end) {
    const child = readTlv(buf, pos, parent.end);
    if (!child) return undefined;
    out.push(child);
    pos = child.end;
  }
  return out;
}

/** Universal SEQUENCE (constructed, tag 16) / SET (17). */
export function isSequence(t: Tlv | undefined): t is Tlv {
  return t !== undefined && t.tagClass === 0 && t.constructed && t.tagNumber === 16;
}

export function isSet(t: Tlv | undefined): t is Tlv {
  return t !== undefined && t.tagClass === 0 && t.constructed && t.tagNumber === 17;
}

/** An OBJECT IDENTIFIER's content octets in dotted form (X.690 §8.19); undefined if malformed. */
export function oidToDotted(buf: Uint8Array, t: Tlv): string | undefined {
  if (t.tagClass !== 0 || t.constructed || t.tagNumber !== 6 || t.end === t.contentStart) return undefined;
  const arcs: bigint[] = [];
  let value = 0n;
  let inArc = false;
  for (let i = t.contentStart; i < t.end; i++) {
    const b = buf[i]!;
    if (!inArc && b === 0x80) return undefined; // a leading 0x80 is not minimal
    value = (value << 7n) | BigInt(b & 0x7f);
    inArc = (b & 0x80) !== 0;
    if (!inArc) {
      arcs.push(value);
      value = 0n;
    }
  }
  if (inArc) return undefined;
  const first = arcs[0]!;
  const head = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].join(".");
}

export function toHex(bytes: Uint8Array, upper = false): string {
  const s = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
  return upper ? s.toUpperCase() : s;
}
