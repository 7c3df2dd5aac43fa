/**
 * Protobuf binary encoding of google.protobuf.Struct / Value / ListValue. Envoy passes a Wasm
 * `configuration` whose Any holds a Struct as the Any's serialized bytes (Wasm's anyToBytes
 * special-cases only StringValue and BytesValue), so the plugin receives protobuf, not JSON.
 * Map entries are written in document order; protobuf leaves map order unspecified.
 */

class Writer {
  private readonly chunks: number[] = [];
  varint(n: number): void {
    let v = BigInt.asUintN(64, BigInt(Math.trunc(n)));
    while (v >= 0x80n) {
      this.chunks.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.chunks.push(Number(v));
  }
  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }
  bytes(field: number, data: Uint8Array): void {
    this.tag(field, 2);
    this.varint(data.length);
    for (const b of data) this.chunks.push(b);
  }
  double(field: number, v: number): void {
    this.tag(field, 1);
    const buf = new DataView(new ArrayBuffer(8));
    buf.setFloat64(0, v, true);
    for (let i = 0; i < 8; i++) this.chunks.push(buf.getUint8(i));
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}

const utf8 = new TextEncoder();

export function encodeStruct(obj: Record<string, unknown>): Uint8Array {
  const w = new Writer();
  for (const [key, value] of Object.entries(obj)) {
    const entry = new Writer();
    entry.bytes(1, utf8.encode(key));
    entry.bytes(2, encodeValue(value));
    w.bytes(1, entry.finish());
  }
  return w.finish();
}

function encodeValue(value: unknown): Uint8Array {
  const w = new Writer();
  if (value === null || value === undefined) {
    w.tag(1, 0);
    w.varint(0);
  } else if (typeof value === "number") {
    w.double(2, value);
  } else if (typeof value === "string") {
    w.bytes(3, utf8.encode(value));
  } else if (typeof value === "boolean") {
    w.tag(4, 0);
    w.varint(value ? 1 : 0);
  } else if (Array.isArray(value)) {
    const list = new Writer();
    for (const item of value) list.bytes(1, encodeValue(item));
    w.bytes(6, list.finish());
  } else {
    w.bytes(5, encodeStruct(value as Record<string, unknown>));
  }
  return w.finish();
}
