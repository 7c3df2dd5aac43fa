/**
 * Certificate subjects rendered as Envoy renders them, checked against OpenSSL itself:
 * `openssl x509 -nameopt RFC2253 -subject` prints X509_NAME_print_ex(XN_FLAG_RFC2253), the
 * call Envoy makes. Every ASCII byte in the middle, first and last position of a value and
 * alone, every string type (with bytes above 0x7F, surrogates, odd lengths), non-string
 * values, unknown attribute types, multi-valued RDNs and the attribute names of the table
 * are compared character for character. The openssl command is required under CI.
 */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { certificateFields } from "./x509-fields.ts";
import { formatRfc2253 } from "./rfc2253.ts";
import { certificate, name, oid, printable, seq, utf8, type RawValue } from "./testing-der.ts";

function opensslAvailable(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    if (process.env.CI) throw new Error("the openssl command is required for this test (Debian package openssl)");
    return false;
  }
}
const hasOpenssl = opensslAvailable();

/** OpenSSL's rendering of the subject of a DER certificate. */
function opensslSubject(der: Uint8Array): string {
  const out = execFileSync("openssl", ["x509", "-inform", "DER", "-noout", "-subject", "-nameopt", "RFC2253"], { input: der });
  return out.toString("latin1").replace(/\n$/, "").replace(/^subject=/, "");
}

function ours(der: Uint8Array): string {
  return formatRfc2253(certificateFields(der).subject);
}

const CN = "2.5.4.3";
const O = "2.5.4.10";
const bytes = (...b: number[]) => Uint8Array.from(b);
const ascii = Array.from({ length: 128 }, (_, i) => i);

/** One RDN per value, all of type `tag`. */
function subjectOf(values: RawValue[], attr = O): Uint8Array {
  return name(values.map((v) => [[attr, v]]));
}

describe.skipIf(!hasOpenssl)("subjects in RFC 2253 form, as OpenSSL prints them", () => {
  const cases: Array<[string, Uint8Array]> = [
    ["every ASCII byte inside a UTF8String", subjectOf(ascii.map((c) => ({ tag: 12, bytes: bytes(0x61, c, 0x62) })))],
    ["every ASCII byte first", subjectOf(ascii.map((c) => ({ tag: 12, bytes: bytes(c, 0x62) })))],
    ["every ASCII byte last", subjectOf(ascii.map((c) => ({ tag: 12, bytes: bytes(0x61, c) })))],
    ["every ASCII byte alone", subjectOf(ascii.map((c) => ({ tag: 12, bytes: bytes(c) })))],
    ["bytes above 0x7F in a UTF8String", subjectOf([utf8("Ünïcode ✓ 𝄞"), utf8("é")])],
    ["Latin-1 bytes in Printable, T61, IA5 and Numeric strings", subjectOf([19, 20, 22, 18].map((tag) => ({ tag, bytes: bytes(0x41, 0xe9, 0xff, 0x2c, 0x20) })))],
    ["BMPString with ASCII, Latin-1 and CJK", subjectOf([{ tag: 30, bytes: bytes(0, 0x41, 0, 0xe9, 0x4e, 0x2d, 0, 0x2c, 0, 0x20) }])],
    ["UniversalString with a code point past the BMP", subjectOf([{ tag: 28, bytes: bytes(0, 0, 0, 0x41, 0, 1, 0xd1, 0x1e, 0, 0, 0, 0x20) }])],
    ["a BIT STRING value is dumped as DER", subjectOf([{ tag: 3, bytes: bytes(0, 0xff) }])],
    ["empty values", subjectOf([utf8(""), { tag: 20, bytes: bytes() }])],
    ["an unknown attribute type is its OID and a DER dump", name([[["1.2.3.4.5", utf8("x,y")]], [["2.999.1", printable("z")]], [[CN, utf8("known")]]])],
    ["multi-valued RDNs", name([[["2.5.4.6", printable("US")]], [[O, utf8("Org")], [CN, utf8("Name")], ["2.5.4.11", utf8("Unit")]], [[CN, utf8("leaf")]]])],
    [
      "the attribute names of the table",
      name(
        [
          "2.5.4.3", "2.5.4.4", "2.5.4.5", "2.5.4.6", "2.5.4.7", "2.5.4.8", "2.5.4.9", "2.5.4.10", "2.5.4.11",
          "2.5.4.12", "2.5.4.13", "2.5.4.15", "2.5.4.16", "2.5.4.17", "2.5.4.18", "2.5.4.20", "2.5.4.41", "2.5.4.42",
          "2.5.4.43", "2.5.4.44", "2.5.4.45", "2.5.4.46", "2.5.4.65", "2.5.4.72", "2.5.4.97", "1.2.840.113549.1.9.1",
          "1.2.840.113549.1.9.2", "1.2.840.113549.1.9.8", "0.9.2342.19200300.100.1.1", "0.9.2342.19200300.100.1.25",
          "1.3.6.1.4.1.311.60.2.1.1", "1.3.6.1.4.1.311.60.2.1.2", "1.3.6.1.4.1.311.60.2.1.3",
        ].map((o) => [[o, utf8("v")]]),
      ),
    ],
    ["an empty subject", seq()],
    ["a constructed value", name([[[CN, { tag: 0x30, bytes: seq(oid("1.2.3")) }]]])],
  ];

  for (const [title, subject] of cases) {
    it(title, () => {
      const der = certificate(subject);
      expect(ours(der)).toBe(opensslSubject(der));
    });
  }

  // Values X.509 Names may not hold: OpenSSL (like BoringSSL) refuses to load such a
  // certificate, so no TLS peer can present one; the reader still renders them without throwing.
  const refused: Array<[string, RawValue]> = [
    ["invalid UTF-8", { tag: 12, bytes: bytes(0xff, 0x80, 0x20) }],
    ["a VisibleString", { tag: 26, bytes: "A" }],
    ["a UTCTime", { tag: 23, bytes: "250101000000Z" }],
    ["a BMPString with a surrogate", { tag: 30, bytes: bytes(0xd8, 0x34, 0xdd, 0x1e) }],
    ["an odd-length BMPString", { tag: 30, bytes: bytes(0, 0x41, 0) }],
    ["a UniversalString past U+10FFFF", { tag: 28, bytes: bytes(0, 0x11, 0, 0) }],
    ["a UniversalString of 6 bytes", { tag: 28, bytes: bytes(0, 0, 0, 0x41, 0, 0) }],
    ["an INTEGER", { tag: 2, bytes: bytes(1, 0) }],
    ["an OCTET STRING", { tag: 4, bytes: bytes(0xde, 0xad) }],
    ["a BOOLEAN", { tag: 1, bytes: bytes(0xff) }],
    ["a context-specific value", { tag: 0x80, bytes: bytes(0x41) }],
  ];
  for (const [title, value] of refused) {
    it(`OpenSSL refuses a Name holding ${title}; the reader renders it without throwing`, () => {
      const der = certificate(subjectOf([utf8("before"), value]));
      expect(() => opensslSubject(der)).toThrow();
      expect(ours(der)).toMatch(/^O=/);
    });
  }
});

describe("subjects without OpenSSL", () => {
  it("escapes RFC 2253 specials and reverses the RDN order", () => {
    const der = certificate(name([[["2.5.4.6", printable("GB")]], [[O, utf8("Sue, Grabbit and Runn")]], [[CN, utf8(" L. Eagle ")]]]));
    expect(ours(der)).toBe("CN=\\ L. Eagle\\ ,O=Sue\\, Grabbit and Runn,C=GB");
  });

  it("is empty for a certificate it cannot read", () => {
    expect(ours(Uint8Array.of(0x30, 0x03, 0x02, 0x01))).toBe("");
    expect(ours(new Uint8Array())).toBe("");
  });
});
