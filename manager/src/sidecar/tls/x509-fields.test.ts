/**
 * The certificate reader: SANs in certificate order (checked against Node's own X.509
 * parser on a certificate from a real CA), the subject, the RFC 5280 structure around them
 * (optional version, unique ids, other extensions, a repeated SAN extension), the DER reader's
 * length and tag forms, and a property test: 120,000 hostile inputs (random bytes and
 * mutations of a real certificate) never make it throw.
 */
import { X509Certificate } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createTestCa, spiffeId } from "../../../../test/support/certs.ts";
import { certificateFields } from "./x509-fields.ts";
import { formatRfc2253 } from "./rfc2253.ts";
import { childrenOf, oidToDotted, readTlv } from "./der.ts";
import { certificate, name, oid, seq, subjectAltNameExtension, tlv, utf8 } from "./testing-der.ts";

const CN = "2.5.4.3";

describe("certificateFields", () => {
  const ca = createTestCa();
  const leaf = ca.issue({
    subject: [{ shortName: "O", value: "shop" }, { shortName: "CN", value: "frontend" }],
    uris: [spiffeId("shop", "frontend"), "urn:example:second"],
    dnsNames: ["frontend.shop.svc", "frontend"],
  });
  const der = new Uint8Array(new X509Certificate(leaf.certPem).raw);

  it("reads the URI and DNS SANs of a real certificate in order, as Node's parser lists them", () => {
    const f = certificateFields(der);
    expect(f.uriSans).toEqual(["spiffe://cluster.local/ns/shop/sa/frontend", "urn:example:second"]);
    expect(f.dnsSans).toEqual(["frontend.shop.svc", "frontend"]);
    const node = new X509Certificate(leaf.certPem).subjectAltName!.split(", ");
    expect(node).toEqual([...f.uriSans.map((u) => `URI:${u}`), ...f.dnsSans.map((d) => `DNS:${d}`)]);
    expect(formatRfc2253(f.subject)).toBe("CN=frontend,O=shop");
  });

  it("keeps the order of mixed SAN types and ignores the other GeneralName kinds", () => {
    const f = certificateFields(
      certificate(name([[[CN, utf8("x")]]]), [
        subjectAltNameExtension([[2, "b.example"], [1, "mail@example"], [6, "spiffe://td/ns/a/sa/b"], [2, "a.example"], [6, "urn:two"]]),
      ]),
    );
    expect(f.dnsSans).toEqual(["b.example", "a.example"]);
    expect(f.uriSans).toEqual(["spiffe://td/ns/a/sa/b", "urn:two"]);
  });

  it("keeps SAN bytes as they are (latin1), and finds the extension among others", () => {
    const basicConstraints = seq(oid("2.5.29.19"), tlv(0x01, Uint8Array.of(0xff)), tlv(0x04, seq()));
    const san = seq(oid("2.5.29.17"), tlv(0x04, seq(tlv(0x86, Uint8Array.of(0x68, 0xe9, 0x00, 0x7a)))));
    const f = certificateFields(certificate(name([]), [basicConstraints, san]));
    expect(f.uriSans).toEqual(["h\u00e9\u0000z"]);
  });

  it("has no SANs when the extension appears twice (X509_get_ext_d2i refuses it)", () => {
    const f = certificateFields(
      certificate(name([[[CN, utf8("x")]]]), [subjectAltNameExtension([[6, "urn:a"]]), subjectAltNameExtension([[6, "urn:b"]])]),
    );
    expect(f.uriSans).toEqual([]);
    expect(formatRfc2253(f.subject)).toBe("CN=x");
  });

  it("reads a v1 certificate (no version field, no extensions)", () => {
    const v3 = certificate(name([[[CN, utf8("v1 subject")]]]));
    // Drop the [0] version: rebuild the TBS without its first element.
    const outer = readTlv(v3, 0)!;
    const [tbs, alg, sig] = childrenOf(v3, outer)!;
    const fields = childrenOf(v3, tbs!)!.slice(1).map((t) => v3.subarray(t.start, t.end));
    const v1 = seq(seq(...fields), v3.subarray(alg!.start, alg!.end), v3.subarray(sig!.start, sig!.end));
    const f = certificateFields(v1);
    expect(formatRfc2253(f.subject)).toBe("CN=v1 subject");
    expect(f.uriSans).toEqual([]);
  });

  it("returns empty fields for truncated or trailing-garbage input", () => {
    const empty = { uriSans: [], dnsSans: [] };
    expect(certificateFields(der.subarray(0, der.length - 1))).toMatchObject(empty);
    expect(certificateFields(Uint8Array.from([...der, 0]))).toMatchObject(empty);
    expect(formatRfc2253(certificateFields(der.subarray(0, 40)).subject)).toBe("");
  });
});

describe("the DER reader", () => {
  it("reads long-form lengths and high tag numbers, and refuses indefinite or overlong lengths", () => {
    const long = tlv(0x04, new Uint8Array(300));
    expect(readTlv(long, 0)).toMatchObject({ tagNumber: 4, contentStart: 4, end: 304 });
    expect(readTlv(Uint8Array.of(0x9f, 0x81, 0x00, 0x01, 0xaa), 0)).toMatchObject({ tagClass: 2, tagNumber: 128, contentStart: 4, end: 5 });
    expect(readTlv(Uint8Array.of(0x30, 0x80, 0x00, 0x00), 0)).toBeUndefined();
    expect(readTlv(Uint8Array.of(0x04, 0x85, 1, 0, 0, 0, 0), 0)).toBeUndefined();
    expect(readTlv(Uint8Array.of(0x04, 0x02, 0x00), 0)).toBeUndefined();
    expect(readTlv(Uint8Array.of(0x1f), 0)).toBeUndefined();
  });

  it("decodes OIDs, including large arcs, and refuses non-minimal or truncated ones", () => {
    const decode = (b: Uint8Array) => oidToDotted(b, readTlv(b, 0)!);
    expect(decode(oid("1.2.840.113549.1.9.1"))).toBe("1.2.840.113549.1.9.1");
    expect(decode(oid("2.999.18446744073709551617"))).toBe("2.999.18446744073709551617");
    expect(decode(oid("0.9.2342.19200300.100.1.25"))).toBe("0.9.2342.19200300.100.1.25");
    expect(decode(Uint8Array.of(0x06, 0x02, 0x2a, 0x80))).toBeUndefined();
    expect(decode(Uint8Array.of(0x06, 0x02, 0x80, 0x01))).toBeUndefined();
    expect(decode(Uint8Array.of(0x06, 0x00))).toBeUndefined();
  });
});

describe("hostile certificates", () => {
  const ca = createTestCa();
  const real = new Uint8Array(
    new X509Certificate(ca.issue({ commonName: "fuzz", uris: [spiffeId("a", "b")], dnsNames: ["x.y"] }).certPem).raw,
  );

  function exercise(input: Uint8Array): void {
    const f = certificateFields(input);
    const subject = formatRfc2253(f.subject);
    expect(typeof subject).toBe("string");
    for (const s of [...f.uriSans, ...f.dnsSans]) expect(typeof s).toBe("string");
  }

  it("never throws on 60,000 random byte strings", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 1200 }), (b) => exercise(b)), { numRuns: 60_000 });
  });

  it("never throws on 60,000 mutations of a real certificate", () => {
    const mutation = fc.record({
      flips: fc.array(fc.record({ at: fc.nat(real.length - 1), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 8 }),
      cut: fc.option(fc.nat(real.length), { nil: undefined }),
    });
    fc.assert(
      fc.property(mutation, ({ flips, cut }) => {
        const b = real.slice(0, cut ?? real.length);
        for (const { at, value } of flips) if (at < b.length) b[at] = value;
        exercise(b);
      }),
      { numRuns: 60_000 },
    );
  });
});
