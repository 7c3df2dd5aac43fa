/**
 * A DER encoder for tests (X.690 §8, definite lengths): builds Names with any attribute types,
 * string types and raw bytes, and whole X.509 certificates around them (with a real public key
 * and a signature of zeros), so the certificate readers can be checked against OpenSSL on
 * inputs a certificate library would refuse to produce.
 */
import { generateKeyPairSync } from "node:crypto";

export function tlv(tag: number, content: Uint8Array): Uint8Array {
  const n = content.length;
  let len: number[];
  if (n < 0x80) len = [n];
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    len = [0x80 | bytes.length, ...bytes];
  }
  const out = new Uint8Array(1 + len.length + n);
  out[0] = tag;
  out.set(len, 1);
  out.set(content, 1 + len.length);
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export const seq = (...parts: Uint8Array[]) => tlv(0x30, concat(...parts));
export const set = (...parts: Uint8Array[]) => tlv(0x31, concat(...parts));

export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split(".").map((a) => BigInt(a));
  const values = [arcs[0]! * 40n + arcs[1]!, ...arcs.slice(2)];
  const bytes: number[] = [];
  for (const v of values) {
    const chunk: number[] = [Number(v & 0x7fn)];
    for (let r = v >> 7n; r > 0n; r >>= 7n) chunk.unshift(Number(r & 0x7fn) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Uint8Array.from(bytes));
}

/** An attribute value: a universal tag and its raw content bytes (or a text as UTF-8). */
export interface RawValue {
  tag: number;
  bytes: Uint8Array | string;
}

export const utf8 = (text: string): RawValue => ({ tag: 12, bytes: text });
export const printable = (text: string): RawValue => ({ tag: 19, bytes: text });

function valueBytes(v: RawValue): Uint8Array {
  return typeof v.bytes === "string" ? new TextEncoder().encode(v.bytes) : v.bytes;
}

/** A Name from RDNs; each RDN is a list of (OID, value) for a multi-valued RDN. */
export function name(rdns: Array<Array<[string, RawValue]>>): Uint8Array {
  return seq(...rdns.map((rdn) => set(...rdn.map(([o, v]) => seq(oid(o), tlv(v.tag, valueBytes(v)))))));
}

/** GeneralNames: [tag, text] with 2 = dNSName, 6 = URI, 1 = rfc822Name. */
export function subjectAltNameExtension(names: Array<[number, string]>): Uint8Array {
  const generalNames = seq(...names.map(([t, text]) => tlv(0x80 | t, new TextEncoder().encode(text))));
  return seq(oid("2.5.29.17"), tlv(0x04, generalNames));
}

let spki: Uint8Array | undefined;

/** A certificate with the given subject and extensions; the signature is zeros (not verifiable). */
export function certificate(subject: Uint8Array, extensions: Uint8Array[] = []): Uint8Array {
  spki ??= new Uint8Array(
    generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "der" }),
  );
  const sigAlg = seq(oid("1.2.840.10045.4.3.2"));
  const time = (s: string) => tlv(0x17, new TextEncoder().encode(s));
  const parts = [
    tlv(0xa0, tlv(0x02, Uint8Array.of(2))),
    tlv(0x02, Uint8Array.of(1)),
    sigAlg,
    name([[["2.5.4.3", utf8("test issuer")]]]),
    seq(time("250101000000Z"), time("350101000000Z")),
    subject,
    spki,
  ];
  if (extensions.length > 0) parts.push(tlv(0xa3, seq(...extensions)));
  return seq(seq(...parts), sigAlg, tlv(0x03, concat(Uint8Array.of(0), new Uint8Array(64))));
}
