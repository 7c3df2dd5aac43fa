/**
 * Subject-alternative-name matching of a validated client certificate, as Envoy's
 * DefaultCertValidator does it (matchSubjectAltName, StringSanMatcher): the certificate passes
 * when some configured matcher matches some SAN of its type; a DNS SAN against an `exact`
 * matcher follows DNS wildcard rules (Utility::dnsNameMatch: a certificate name "*.example.com"
 * matches one label, "*" alone in the first label only); every other case is the
 * StringMatcher (exact, prefix, suffix, contains, each optionally ignoring ASCII case, or a
 * full safe_regex). The deprecated `match_subject_alt_names` matchers apply to DNS, URI,
 * email and IP SANs alike.
 */
import type { SanMatcherConfig, StringMatcherConfig } from "../config/model.ts";
import type { CertificateFields } from "./x509-fields.ts";

type Matcher = (value: string) => boolean;

export function compileStringMatcher(m: StringMatcherConfig): Matcher {
  if (m.safeRegex !== undefined) {
    const re = new RegExp(`^(?:${m.safeRegex.replace(/\(\?P</g, "(?<")})$`, "u");
    return (v) => re.test(v);
  }
  const fold = m.ignoreCase ? (s: string) => s.toLowerCase() : (s: string) => s;
  if (m.exact !== undefined) {
    const x = fold(m.exact);
    return (v) => fold(v) === x;
  }
  if (m.prefix !== undefined) {
    const x = fold(m.prefix);
    return (v) => fold(v).startsWith(x);
  }
  if (m.suffix !== undefined) {
    const x = fold(m.suffix);
    return (v) => fold(v).endsWith(x);
  }
  const x = fold(m.contains ?? "");
  return (v) => fold(v).includes(x);
}

/** Utility::dnsNameMatch(config name, certificate name): a "*." certificate name covers one label. */
export function dnsNameMatch(dnsName: string, pattern: string): boolean {
  const name = dnsName.toLowerCase();
  const p = pattern.toLowerCase();
  if (name === p) return true;
  if (p.length > 1 && p.startsWith("*.")) {
    const dot = name.indexOf(".");
    return dot > 0 && name.slice(dot) === p.slice(1);
  }
  return false;
}

type SanType = SanMatcherConfig["sanType"];

function sansOf(f: CertificateFields, t: SanType): readonly string[] {
  switch (t) {
    case "DNS":
      return f.dnsSans;
    case "URI":
      return f.uriSans;
    case "EMAIL":
      return f.emailSans;
    case "IP_ADDRESS":
      return f.ipSans;
  }
}

export function compileSanMatchers(configs: readonly SanMatcherConfig[]): (f: CertificateFields) => boolean {
  const compiled = configs.map((c) => {
    const match = compileStringMatcher(c.matcher);
    const exactDns = c.sanType === "DNS" && c.matcher.exact !== undefined && c.matcher.safeRegex === undefined;
    return { type: c.sanType, test: exactDns ? (san: string) => dnsNameMatch(c.matcher.exact!, san) : match };
  });
  return (f) => compiled.some((m) => sansOf(f, m.type).some((san) => m.test(san)));
}
