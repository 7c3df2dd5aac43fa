/**
 * The parts of an X.509 certificate (RFC 5280 §4.1) that Envoy's TLS connection info exposes:
 * the subject Name as its attribute entries (for the RFC 2253 rendering in rfc2253.ts) and
 * the URI, DNS, email and IP entries of the subjectAltName extension (RFC 5280 §4.2.1.6), in
 * the order the certificate lists them, as Envoy's Utility::getSubjectAltNames returns them
 * (the raw IA5String bytes, held here as latin1 strings so every byte survives; IP addresses
 * as text, as Utility::generalNameAsString prints them).
 *
 * Input is the DER a TLS peer sent; the reader never throws: what it cannot read yields an
 * empty subject and no SANs.
 */
import { childrenOf, isSequence, isSet, oidToDotted, readTlv, type Tlv } from "./der.ts";

/** One AttributeTypeAndValue of a Name, with the index of the RDN (SET) it belongs to. */
export interface NameEntry {
  oid: string;
  /** The value's TLV within `der`. */
  value: Tlv;
  /** Index of the RelativeDistinguishedName; entries of one multi-valued RDN share it. */
  set: number;
}

export interface ParsedName {
  der: Uint8Array;
  entries: NameEntry[];
}

export interface CertificateFields {
  subject: ParsedName;
  uriSans: string[];
  dnsSans: string[];
  /** rfc822Name entries. */
  emailSans: string[];
  /** iPAddress entries as Envoy prints them ("10.0.0.1", "2001:db8::1"). */
  ipSans: string[];
}

const SAN_OID = "2.5.29.17";
const EMPTY: CertificateFields = { subject: { der: new Uint8Array(), entries: [] }, uriSans: [], dnsSans: [], emailSans: [], ipSans: [] };

/** Reads a Name (SEQUENCE OF SET OF AttributeTypeAndValue); undefined if malformed. */
export function parseName(der: Uint8Array, name: Tlv): ParsedName | undefined {
  if (!isSequence(name)) return undefined;
  const rdns = childrenOf(der, name);
  if (!rdns) return undefined;
  const entries: NameEntry[] = [];
  for (let set = 0; set < rdns.length; set++) {
    const rdn = rdns[set];
    if (!isSet(rdn)) return undefined;
    const atvs = childrenOf(der, rdn);
    if (!atvs || atvs.length === 0) return undefined;
    for (const atv of atvs) {
      const parts = isSequence(atv) ? childrenOf(der, atv) : undefined;
      if (!parts || parts.length !== 2) return undefined;
      const oid = oidToDotted(der, parts[0]!);
      if (oid === undefined) return undefined;
      entries.push({ oid, value: parts[1]!, set });
    }
  }
  return { der, entries };
}

/** Subject and SANs of a DER certificate; empty fields if it cannot be read. */
export function certificateFields(der: Uint8Array): CertificateFields {
  const cert = readTlv(der, 0);
  if (!isSequence(cert) || cert.end !== der.length) return EMPTY;
  const certParts = childrenOf(der, cert);
  const tbs = certParts?.[0];
  if (!isSequence(tbs)) return EMPTY;
  const fields = childrenOf(der, tbs);
  if (!fields) return EMPTY;
  // [0] EXPLICIT version is optional; then serial, signature, issuer, validity, subject.
  const base = fields[0]?.tagClass === 2 && fields[0].tagNumber === 0 ? 1 : 0;
  const subjectTlv = fields[base + 4];
  const subject = subjectTlv ? parseName(der, subjectTlv) : undefined;
  if (!subject) return EMPTY;
  const out: CertificateFields = { subject, uriSans: [], dnsSans: [], emailSans: [], ipSans: [] };
  // [3] EXPLICIT Extensions, after subjectPublicKeyInfo and the optional unique ids.
  const extsWrapper = fields.slice(base + 6).find((f) => f.tagClass === 2 && f.tagNumber === 3 && f.constructed);
  const extsSeq = extsWrapper ? childrenOf(der, extsWrapper)?.[0] : undefined;
  const exts = isSequence(extsSeq) ? childrenOf(der, extsSeq) : undefined;
  // X509_get_ext_d2i: a certificate with the extension twice has none.
  const sans = (exts ?? [])
    .map((ext) => (isSequence(ext) ? childrenOf(der, ext) : undefined))
    .filter((parts): parts is Tlv[] => parts !== undefined && parts.length >= 2 && oidToDotted(der, parts[0]!) === SAN_OID);
  if (sans.length === 1) {
    const octets = sans[0]![sans[0]!.length - 1]!;
    if (octets.tagClass === 0 && octets.tagNumber === 4 && !octets.constructed) readGeneralNames(der, octets, out);
  }
  return out;
}

/** An iPAddress entry as text: dotted IPv4, IPv6 in its compressed form; undefined for other lengths. */
function ipText(b: Uint8Array): string | undefined {
  if (b.length === 4) return [...b].join(".");
  if (b.length !== 16) return undefined;
  // inet_ntop prints an IPv4-mapped address with its IPv4 part dotted.
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return `::ffff:${[...b.subarray(12)].join(".")}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  return new URL(`http://[${groups.join(":")}]/`).hostname.slice(1, -1);
}

/** GeneralNames inside the extension's OCTET STRING: [1] rfc822Name, [2] dNSName, [6] URI, [7] iPAddress. */
function readGeneralNames(der: Uint8Array, octets: Tlv, out: CertificateFields): void {
  const seq = readTlv(der, octets.contentStart, octets.end);
  if (!isSequence(seq) || seq.end !== octets.end) return;
  const names = childrenOf(der, seq);
  if (!names) return;
  for (const n of names) {
    if (n.tagClass !== 2 || n.constructed) continue;
    const raw = der.subarray(n.contentStart, n.end);
    const text = Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString("latin1");
    if (n.tagNumber === 6) out.uriSans.push(text);
    else if (n.tagNumber === 2) out.dnsSans.push(text);
    else if (n.tagNumber === 1) out.emailSans.push(text);
    else if (n.tagNumber === 7) {
      const ip = ipText(raw);
      if (ip !== undefined) out.ipSans.push(ip);
    }
  }
}
