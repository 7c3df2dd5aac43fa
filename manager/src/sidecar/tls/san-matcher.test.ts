/**
 * SAN matching as Envoy's DefaultCertValidator does it: typed matchers only see SANs of their
 * type, an exact DNS matcher follows DNS wildcard rules, other matchers are StringMatchers;
 * IP SANs are compared in the form Envoy prints them.
 */
import { describe, expect, it } from "vitest";
import type { SanMatcherConfig } from "../config/model.ts";
import { certificateFields } from "./x509-fields.ts";
import { compileSanMatchers, dnsNameMatch } from "./san-matcher.ts";
import { certificate, concat, name, oid, seq, tlv, utf8 } from "./testing-der.ts";

const enc = (s: string) => new TextEncoder().encode(s);

/** A certificate whose SAN extension holds these GeneralNames ([tag, raw bytes]). */
function withSans(names: Array<[number, Uint8Array]>) {
  const generalNames = seq(...names.map(([t, b]) => tlv(0x80 | t, b)));
  return certificateFields(certificate(name([[["2.5.4.3", utf8("x")]]]), [seq(oid("2.5.29.17"), tlv(0x04, generalNames))]));
}

describe("dnsNameMatch", () => {
  it.each([
    ["a.example.com", "a.example.com", true],
    ["A.Example.com", "a.example.COM", true],
    ["a.example.com", "*.example.com", true],
    ["a.b.example.com", "*.example.com", false],
    ["example.com", "*.example.com", false],
    [".example.com", "*.example.com", false],
    ["a.example.com", "*", false],
  ])("%s against certificate name %s: %s", (dns, pattern, expected) => {
    expect(dnsNameMatch(dns, pattern)).toBe(expected);
  });
});

describe("compileSanMatchers", () => {
  const fields = withSans([
    [6, enc("spiffe://cluster.local/ns/shop/sa/frontend")],
    [2, enc("*.shop.svc")],
    [1, enc("ops@example.com")],
    [7, Uint8Array.of(10, 0, 0, 7)],
    [7, concat(new Uint8Array(10), Uint8Array.of(0xff, 0xff, 192, 168, 0, 1))],
    [7, Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1)],
  ]);

  it("reads every SAN kind, IPs as Envoy prints them", () => {
    expect(fields.ipSans).toEqual(["10.0.0.7", "::ffff:192.168.0.1", "2001:db8::1"]);
    expect(fields.emailSans).toEqual(["ops@example.com"]);
  });

  const match = (...m: SanMatcherConfig[]) => compileSanMatchers(m)(fields);
  it("matches by type and StringMatcher", () => {
    expect(match({ sanType: "URI", matcher: { prefix: "spiffe://cluster.local/ns/shop/", ignoreCase: false } })).toBe(true);
    expect(match({ sanType: "URI", matcher: { prefix: "spiffe://cluster.local/ns/evil/", ignoreCase: false } })).toBe(false);
    expect(match({ sanType: "DNS", matcher: { prefix: "spiffe://", ignoreCase: false } })).toBe(false);
    expect(match({ sanType: "DNS", matcher: { exact: "api.shop.svc", ignoreCase: false } })).toBe(true);
    expect(match({ sanType: "DNS", matcher: { suffix: "api.shop.svc", ignoreCase: false } })).toBe(false);
    expect(match({ sanType: "EMAIL", matcher: { exact: "OPS@example.com", ignoreCase: true } })).toBe(true);
    expect(match({ sanType: "IP_ADDRESS", matcher: { exact: "2001:db8::1", ignoreCase: false } })).toBe(true);
    expect(match({ sanType: "URI", matcher: { safeRegex: "spiffe://[^/]+/ns/shop/sa/(frontend|backend)", ignoreCase: false } })).toBe(true);
    expect(match({ sanType: "URI", matcher: { exact: "nope", ignoreCase: false } }, { sanType: "IP_ADDRESS", matcher: { exact: "10.0.0.7", ignoreCase: false } })).toBe(true);
  });
});
