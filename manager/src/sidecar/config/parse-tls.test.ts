/**
 * filter_chains[].transport_socket parsing: a DownstreamTlsContext maps to the model with
 * Envoy's server defaults (TLSv1.2..TLSv1.3, its cipher list, X25519:P-256), files are read
 * relative to the config, RawBuffer is plaintext, and every bad input is one error at its
 * field path and line: unreadable or invalid PEM, a key that does not match its certificate,
 * unknown or TLS 1.3 cipher names, versions out of order, SDS and pinning fields, a missing
 * certificate, an empty ALPN name, unknown fields and other transport sockets.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createTestCa, type TestCertificate } from "../../../../test/support/certs.ts";
import { ConfigError, parseBootstrap } from "./index.ts";
import { ENVOY_DEFAULT_CIPHERS } from "./parse-tls.ts";
import { listenerBootstrap } from "./test-bootstrap.ts";

const TLS_TYPE = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext";
const TS = "static_resources.listeners[0].filter_chains[0].transport_socket";
const TC = `${TS}.typed_config`;
const CTX = `${TC}.common_tls_context`;

let dir: string;
let server: TestCertificate;
let other: TestCertificate;
let caPem: string;

beforeAll(() => {
  const ca = createTestCa();
  server = ca.issue({ commonName: "server", dnsNames: ["localhost"] });
  other = ca.issue({ commonName: "other" });
  caPem = ca.certPem;
  dir = mkdtempSync(join(tmpdir(), "meshwasm-tls-config-"));
  writeFileSync(join(dir, "server.crt"), server.certPem);
  writeFileSync(join(dir, "server.key"), server.keyPem);
  writeFileSync(join(dir, "ca.crt"), caPem);
  writeFileSync(join(dir, "other.key"), other.keyPem);
  writeFileSync(join(dir, "junk.pem"), "not a certificate\n");
}, 30_000);

/** A bootstrap whose listener has `transportSocket` (YAML lines indented for the filter chain). */
function bootstrap(transportSocket: string): string {
  return listenerBootstrap({ transportSocket });
}

/** A DownstreamTlsContext; `common` and `outer` are extra YAML lines. */
function tls(opts: { common?: string; outer?: string; cert?: string; key?: string; noCert?: boolean } = {}): string {
  const certs = opts.noCert
    ? ""
    : `                tls_certificates:
                  - certificate_chain: { ${opts.cert ?? "filename: server.crt"} }
                    private_key: { ${opts.key ?? "filename: server.key"} }
`;
  // `common` lines are written at the indentation of common_tls_context's own fields minus two.
  const common = (opts.common ?? "").replace(/^/gm, "  ");
  return `          transport_socket:
            name: envoy.transport_sockets.tls
            typed_config:
              "@type": ${TLS_TYPE}
${opts.outer ?? ""}              common_tls_context:
${certs}${common}`.replace(/\n$/, "");
}

const parse = (text: string) => parseBootstrap(text, { sourceName: "envoy.yaml", baseDir: dir, env: { CA_PEM: caPem } });

describe("DownstreamTlsContext", () => {
  it("maps to the model with Envoy's server defaults and reads files relative to the config", () => {
    const b = parse(
      bootstrap(
        tls({
          outer: "              require_client_certificate: true\n",
          common: `              validation_context: { trusted_ca: { filename: ca.crt } }
              alpn_protocols: [h2, http/1.1]`,
        }),
      ),
    );
    const t = b.listeners[0]!.tls!;
    expect(t.certificates).toEqual([{ certificateChain: server.certPem, privateKey: server.keyPem }]);
    expect(t.trustedCa).toBe(caPem);
    expect(t.requireClientCertificate).toBe(true);
    expect(t.alpnProtocols).toEqual(["h2", "http/1.1"]);
    expect([t.minProtocolVersion, t.maxProtocolVersion]).toEqual(["TLSv1.2", "TLSv1.3"]);
    expect(t.cipherSuites).toBe(ENVOY_DEFAULT_CIPHERS);
    expect(t.ecdhCurves).toBe("X25519:P-256");
    expect(t.signatureAlgorithms).toBeUndefined();
    expect(t.subjectAltNameMatchers).toEqual([]);
    expect(t.path).toBe(TS);
  });

  it("reads typed and untyped SAN matchers (an untyped one applies to every SAN type)", () => {
    const b = parse(
      bootstrap(
        tls({
          common: `              validation_context:
                trusted_ca: { filename: ca.crt }
                match_typed_subject_alt_names: [{ san_type: URI, matcher: { prefix: "spiffe://cluster.local/ns/shop/" } }]
                match_subject_alt_names: [{ exact: frontend.shop }]`,
        }),
      ),
    );
    expect(b.listeners[0]!.tls!.subjectAltNameMatchers).toEqual([
      { sanType: "URI", matcher: { prefix: "spiffe://cluster.local/ns/shop/", ignoreCase: false } },
      ...["DNS", "URI", "EMAIL", "IP_ADDRESS"].map((sanType) => ({ sanType, matcher: { exact: "frontend.shop", ignoreCase: false } })),
    ]);
  });

  it("takes tls_params, inline and environment DataSources, and flattens cipher groups", () => {
    const b = parse(
      bootstrap(
        tls({
          cert: `inline_string: ${JSON.stringify(server.certPem)}`,
          key: `inline_bytes: ${Buffer.from(server.keyPem).toString("base64")}`,
          common: `              validation_context: { trusted_ca: { environment_variable: CA_PEM } }
              tls_params:
                tls_minimum_protocol_version: TLSv1_3
                tls_maximum_protocol_version: TLSv1_3
                cipher_suites: ["[ECDHE-RSA-AES128-GCM-SHA256|ECDHE-RSA-CHACHA20-POLY1305]", ECDHE-RSA-AES256-GCM-SHA384]
                ecdh_curves: [P-256]
                signature_algorithms: [rsa_pss_rsae_sha256, ecdsa_secp256r1_sha256]`,
        }),
      ),
    );
    const t = b.listeners[0]!.tls!;
    expect(t.certificates[0]!.privateKey).toBe(server.keyPem);
    expect(t.trustedCa).toBe(caPem);
    expect([t.minProtocolVersion, t.maxProtocolVersion]).toEqual(["TLSv1.3", "TLSv1.3"]);
    expect(t.cipherSuites).toBe("ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES256-GCM-SHA384");
    expect(t.ecdhCurves).toBe("P-256");
    expect(t.signatureAlgorithms).toBe("rsa_pss_rsae_sha256:ecdsa_secp256r1_sha256");
  });

  it("treats a RawBuffer transport socket and no transport socket as plaintext", () => {
    const raw = `          transport_socket:
            name: envoy.transport_sockets.raw_buffer
            typed_config: { "@type": type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer }`;
    expect(parse(bootstrap(raw)).listeners[0]!.tls).toBeUndefined();
    expect(parse(bootstrap("")).listeners[0]!.tls).toBeUndefined();
  });
});

interface Case {
  name: string;
  socket: () => string;
  path: string;
  /** Text on the line the error points at. */
  at: string;
  message: string | RegExp;
}

const cases: Case[] = [
  {
    name: "a certificate file that does not exist",
    socket: () => tls({ cert: "filename: missing.crt" }),
    path: `${CTX}.tls_certificates[0].certificate_chain.filename`,
    at: "missing.crt",
    message: /cannot read .*missing\.crt: no such file/,
  },
  {
    name: "a certificate that is not PEM",
    socket: () => tls({ cert: "filename: junk.pem" }),
    path: `${CTX}.tls_certificates[0]`,
    at: "certificate_chain: { filename: junk.pem }",
    message: "cannot load the certificate chain and private key: no start line",
  },
  {
    name: "a key that does not match the certificate",
    socket: () => tls({ key: "filename: other.key" }),
    path: `${CTX}.tls_certificates[0]`,
    at: "certificate_chain",
    message: "cannot load the certificate chain and private key: key values mismatch",
  },
  {
    name: "no certificate",
    socket: () => tls({ noCert: true, common: "              alpn_protocols: [h2]" }),
    path: `${CTX}.tls_certificates`,
    at: "alpn_protocols",
    message: "a server certificate is required",
  },
  {
    name: "trusted_ca without a certificate in it",
    socket: () => tls({ common: "              validation_context: { trusted_ca: { inline_string: hello } }" }),
    path: `${CTX}.validation_context.trusted_ca`,
    at: "trusted_ca",
    message: "no PEM certificate (-----BEGIN CERTIFICATE-----) in trusted_ca",
  },
  {
    name: "an unknown cipher suite",
    socket: () => tls({ common: "              tls_params: { cipher_suites: [ECDHE-RSA-AES128-GCM-SHA256, NOT-A-CIPHER] }" }),
    path: `${CTX}.tls_params.cipher_suites[1]`,
    at: "NOT-A-CIPHER",
    message: 'unknown cipher suite "NOT-A-CIPHER": no cipher match',
  },
  {
    name: "a TLS 1.3 cipher suite",
    socket: () => tls({ common: "              tls_params: { cipher_suites: [TLS_AES_128_GCM_SHA256] }" }),
    path: `${CTX}.tls_params.cipher_suites[0]`,
    at: "TLS_AES_128_GCM_SHA256",
    message: "TLS 1.3 cipher suites are not configurable",
  },
  {
    name: "a maximum version below the minimum",
    socket: () => tls({ common: "              tls_params: { tls_minimum_protocol_version: TLSv1_3, tls_maximum_protocol_version: TLSv1_2 }" }),
    path: `${CTX}.tls_params.tls_maximum_protocol_version`,
    at: "tls_maximum_protocol_version",
    message: "is below tls_minimum_protocol_version (TLSv1.3 > TLSv1.2)",
  },
  {
    name: "an unknown protocol version",
    socket: () => tls({ common: "              tls_params: { tls_minimum_protocol_version: TLSv2 }" }),
    path: `${CTX}.tls_params.tls_minimum_protocol_version`,
    at: "TLSv2",
    message: 'invalid value "TLSv2"; expected one of TLS_AUTO, TLSv1_0, TLSv1_1, TLSv1_2, TLSv1_3',
  },
  {
    name: "SDS certificates",
    socket: () => tls({ common: "              tls_certificate_sds_secret_configs: [{ name: default }]" }),
    path: `${CTX}.tls_certificate_sds_secret_configs`,
    at: "tls_certificate_sds_secret_configs",
    message: "not supported by the local sidecar: SDS; give tls_certificates and validation_context inline",
  },
  {
    name: "SPKI pinning",
    socket: () => tls({ common: "              validation_context: { trusted_ca: { filename: ca.crt }, verify_certificate_spki: [abc] }" }),
    path: `${CTX}.validation_context.verify_certificate_spki`,
    at: "verify_certificate_spki",
    message: "not supported by the local sidecar",
  },
  {
    name: "SAN matchers without a trusted CA",
    socket: () => tls({ common: "              validation_context: { match_typed_subject_alt_names: [{ san_type: URI, matcher: { prefix: spiffe:// } }] }" }),
    path: `${CTX}.validation_context.trusted_ca`,
    at: "validation_context",
    message: "SAN-based verification of peer certificates without trusted CA is insecure and not allowed",
  },
  {
    name: "a SAN matcher without san_type",
    socket: () => tls({ common: "              validation_context: { trusted_ca: { filename: ca.crt }, match_typed_subject_alt_names: [{ matcher: { exact: a } }] }" }),
    path: `${CTX}.validation_context.match_typed_subject_alt_names[0].san_type`,
    at: "match_typed_subject_alt_names",
    message: "is required (EMAIL, DNS, URI or IP_ADDRESS)",
  },
  {
    name: "an empty ALPN name",
    socket: () => tls({ common: '              alpn_protocols: [h2, ""]' }),
    path: `${CTX}.alpn_protocols[1]`,
    at: "alpn_protocols",
    message: "an ALPN protocol name is 1 to 255 bytes",
  },
  {
    name: "an unknown field",
    socket: () => tls({ outer: "              require_client_cert: true\n" }),
    path: `${TC}.require_client_cert`,
    at: "require_client_cert:",
    message: "unknown field",
  },
  {
    name: "another transport socket",
    socket: () => `          transport_socket:
            name: alts
            typed_config: { "@type": type.googleapis.com/envoy.extensions.transport_sockets.alts.v3.Alts }`,
    path: `${TS}.typed_config.@type`,
    at: "alts.v3.Alts",
    message: "not supported by the local sidecar: transport socket envoy.extensions.transport_sockets.alts.v3.Alts",
  },
  {
    name: "a certificate DataSource with two sources",
    socket: () => tls({ cert: "filename: server.crt, inline_string: x" }),
    path: `${CTX}.tls_certificates[0].certificate_chain.inline_string`,
    at: "inline_string: x",
    message: "only one of filename, inline_string may be set",
  },
  {
    name: "an environment variable that is not set",
    socket: () => tls({ common: "              validation_context: { trusted_ca: { environment_variable: NO_SUCH_VAR } }" }),
    path: `${CTX}.validation_context.trusted_ca.environment_variable`,
    at: "NO_SUCH_VAR",
    message: 'environment variable "NO_SUCH_VAR" is not set',
  },
];

describe("rejected transport sockets", () => {
  it.each(cases)("$name", ({ socket, path, at, message }) => {
    const text = bootstrap(socket());
    let err: unknown;
    try {
      parse(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const first = (err as ConfigError).errors[0]!;
    const line = text.split("\n").findIndex((l) => l.includes(at)) + 1;
    expect({ path: first.path, line: first.line }).toEqual({ path, line });
    if (typeof message === "string") expect(first.message).toContain(message);
    else expect(first.message).toMatch(message);
    expect((err as ConfigError).message).toBe(`envoy.yaml:${first.line}:${first.column}: ${path}: ${first.message}${(err as ConfigError).errors.length > 1 ? ` (and ${(err as ConfigError).errors.length - 1} more)` : ""}`);
  });
});
