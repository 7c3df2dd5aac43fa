/**
 * A Name rendered as Envoy renders certificate subjects (Utility::getSubjectFromCertificate:
 * X509_NAME_print_ex with XN_FLAG_RFC2253), following OpenSSL's crypto/asn1/a_strex.c, which
 * BoringSSL shares:
 * - entries in reverse order (XN_FLAG_DN_REV), "," between RDNs and "+" inside a
 *   multi-valued RDN, "=" without spaces, the attribute's short name (CN, O, OU, C, ...) or,
 *   for a type without one, its dotted OID and the value's DER as "#" + upper-case hex
 *   (XN_FLAG_DUMP_UNKNOWN_FIELDS);
 * - string values by type (tag2nbyte): UTF8String bytes one by one; Numeric, Printable, T61,
 *   IA5, Visible strings and UTC/Generalized times as Latin-1 converted to UTF-8; BMPString
 *   (2 bytes) and UniversalString (4 bytes) as code points converted to UTF-8 (a surrogate or a
 *   value past U+10FFFF is dropped); any other type dumped as "#" + hex of its DER;
 * - escaping (ASN1_STRFLGS_RFC2253): `, + " \ < > ;` with a backslash, a leading "#" or space
 *   and a trailing space with a backslash, control characters (0x00-0x1F, 0x7F) and every
 *   byte above 0x7F as "\XX".
 * A BMPString of odd length or a UniversalString whose length is not a multiple of 4 stops
 * the output there, as X509_NAME_print_ex fails mid-way and Envoy keeps what it printed.
 */
import type { ParsedName } from "./x509-fields.ts";
import { toHex } from "./der.ts";

/** OpenSSL's short names (OBJ_nid2sn) for the attribute types certificates use. */
const SHORT_NAMES: Record<string, string> = {
  "2.5.4.3": "CN",
  "2.5.4.4": "SN",
  "2.5.4.5": "serialNumber",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.9": "street",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "2.5.4.12": "title",
  "2.5.4.13": "description",
  "2.5.4.15": "businessCategory",
  "2.5.4.16": "postalAddress",
  "2.5.4.17": "postalCode",
  "2.5.4.18": "postOfficeBox",
  "2.5.4.20": "telephoneNumber",
  "2.5.4.41": "name",
  "2.5.4.42": "GN",
  "2.5.4.43": "initials",
  "2.5.4.44": "generationQualifier",
  "2.5.4.45": "x500UniqueIdentifier",
  "2.5.4.46": "dnQualifier",
  "2.5.4.65": "pseudonym",
  "2.5.4.72": "role",
  "2.5.4.97": "organizationIdentifier",
  "1.2.840.113549.1.9.1": "emailAddress",
  "1.2.840.113549.1.9.2": "unstructuredName",
  "1.2.840.113549.1.9.8": "unstructuredAddress",
  "0.9.2342.19200300.100.1.1": "UID",
  "0.9.2342.19200300.100.1.25": "DC",
  "1.3.6.1.4.1.311.60.2.1.1": "jurisdictionL",
  "1.3.6.1.4.1.311.60.2.1.2": "jurisdictionST",
  "1.3.6.1.4.1.311.60.2.1.3": "jurisdictionC",
};

/** Character width by universal tag (a_strex.c tag2nbyte): 0 UTF-8, 1/2/4 bytes, -1 dump. */
function charWidth(tag: number): number {
  switch (tag) {
    case 12:
      return 0;
    case 18: case 19: case 20: case 22: case 23: case 24: case 26:
      return 1;
    case 28:
      return 4;
    case 30:
      return 2;
    default:
      return -1;
  }
}

const ESCAPE_ALWAYS = new Set([0x22, 0x2b, 0x2c, 0x3b, 0x3c, 0x3e, 0x5c]); // " + , ; < > \
const HEX = "0123456789ABCDEF";

function escapeByte(b: number, first: boolean, last: boolean): string {
  if (b > 0x7f || b < 0x20 || b === 0x7f) return "\\" + HEX[b >> 4]! + HEX[b & 15]!;
  if (ESCAPE_ALWAYS.has(b) || (first && (b === 0x20 || b === 0x23)) || (last && b === 0x20)) {
    return "\\" + String.fromCharCode(b);
  }
  return String.fromCharCode(b);
}

/** UTF8_putc: the UTF-8 bytes of a code point; none for a surrogate or past U+10FFFF. */
function utf8(c: number): number[] {
  if (c < 0x80) return [c];
  if (c < 0x800) return [0xc0 | (c >> 6), 0x80 | (c & 0x3f)];
  if (c < 0x10000) {
    if (c >= 0xd800 && c <= 0xdfff) return [];
    return [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)];
  }
  if (c < 0x110000) return [0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)];
  return [];
}

/** A string value's text, or undefined when its length does not fit its width (an error). */
function renderString(bytes: Uint8Array, width: number): string | undefined {
  if ((width === 2 && bytes.length % 2 !== 0) || (width === 4 && bytes.length % 4 !== 0)) return undefined;
  const step = width === 0 ? 1 : width;
  let out = "";
  for (let i = 0; i < bytes.length; i += step) {
    let c: number;
    if (step === 1) c = bytes[i]!;
    else if (step === 2) c = (bytes[i]! << 8) | bytes[i + 1]!;
    else c = ((bytes[i]! << 24) >>> 0) + (bytes[i + 1]! << 16) + (bytes[i + 2]! << 8) + bytes[i + 3]!;
    // do_buf: the "last" flag replaces the "first" one on a one-character value.
    const last = i + step === bytes.length;
    const first = i === 0 && !last;
    // UTF8String bytes are printed one by one (no double conversion); other types via UTF-8.
    const units = width === 0 ? [c] : utf8(c);
    for (const u of units) out += escapeByte(u, first, last);
  }
  return out;
}

export function formatRfc2253(name: ParsedName): string {
  const { der, entries } = name;
  let out = "";
  let prevSet = -1;
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i]!;
    if (prevSet !== -1) out += e.set === prevSet ? "+" : ",";
    prevSet = e.set;
    const short = SHORT_NAMES[e.oid];
    out += `${short ?? e.oid}=`;
    const v = e.value;
    const width = short !== undefined && v.tagClass === 0 && !v.constructed ? charWidth(v.tagNumber) : -1;
    if (width === -1) {
      out += "#" + toHex(der.subarray(v.start, v.end), true);
      continue;
    }
    const text = renderString(der.subarray(v.contentStart, v.end), width);
    if (text === undefined) return out;
    out += text;
  }
  return out;
}
