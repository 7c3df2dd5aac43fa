/**
 * filter_chains[].transport_socket (envoy.config.core.v3.TransportSocket), selected by its
 * typed_config @type as Envoy does:
 * - envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer: plaintext;
 * - envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext: `common_tls_context
 *   {tls_params {tls_minimum_protocol_version, tls_maximum_protocol_version, cipher_suites,
 *   ecdh_curves, signature_algorithms}, tls_certificates[] {certificate_chain, private_key,
 *   password}, validation_context {trusted_ca, match_typed_subject_alt_names {san_type, matcher},
 *   match_subject_alt_names}, alpn_protocols}` and `require_client_certificate`.
 * Envoy's server defaults: TLSv1.2 to TLSv1.3, its default cipher list (TLS 1.2; TLS 1.3 suites
 * are not configurable, as in BoringSSL), curves X25519 and P-256. Certificates, keys and CAs
 * are DataSources read now and loaded into a TLS context at once, so a bad PEM, a key that
 * does not match its certificate or an unknown cipher is a configuration error at its path.
 * SDS, certificate providers, session tickets, OCSP, SPKI / hash pinning, OTHER_NAME SANs, CRLs
 * and custom validators are not supported (errors naming the field).
 */
import { createSecureContext } from "node:tls";
import type { DownstreamTlsContextConfig, TlsProtocolVersion } from "./model.ts";
import { Ctx, Message, bool, enumOf, listOfMessages, msg, stringList, type At } from "./fields.ts";
import { openTyped, unknownType } from "./typed-config.ts";
import { readDataSourceText } from "./data-source.ts";
import { parseStringMatcher } from "./parse-stats.ts";

export const DOWNSTREAM_TLS_TYPE = "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext";
export const RAW_BUFFER_TYPE = "envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer";

const TLS_PROTOCOLS = ["TLS_AUTO", "TLSv1_0", "TLSv1_1", "TLSv1_2", "TLSv1_3"] as const;
const NODE_VERSION: Record<string, TlsProtocolVersion> = {
  TLSv1_0: "TLSv1",
  TLSv1_1: "TLSv1.1",
  TLSv1_2: "TLSv1.2",
  TLSv1_3: "TLSv1.3",
};
const VERSION_ORDER: TlsProtocolVersion[] = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];

/** Envoy's default server cipher suites (TLS 1.2), equal-preference groups flattened. */
export const ENVOY_DEFAULT_CIPHERS = [
  "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-CHACHA20-POLY1305",
  "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
].join(":");
export const ENVOY_DEFAULT_CURVES = "X25519:P-256";

/** Reads a filter chain's transport_socket; undefined for none, RawBuffer or an error. */
export function parseTransportSocket(ctx: Ctx, chain: Message): DownstreamTlsContextConfig | undefined {
  const ts = msg(chain, "transport_socket", "envoy.config.core.v3.TransportSocket");
  if (!ts) return undefined;
  ts.get("name");
  const tcAt = ts.get("typed_config");
  ts.done();
  if (!tcAt) {
    ts.required("typed_config", "is required (Envoy selects the transport socket by its typed_config @type)");
    return undefined;
  }
  const typed = openTyped(ctx, tcAt);
  if (!typed) return undefined;
  if (typed.type === RAW_BUFFER_TYPE) {
    typed.msg.done();
    return undefined;
  }
  if (typed.type !== DOWNSTREAM_TLS_TYPE) {
    if (typed.type.startsWith("envoy.")) ctx.error(typed.typeAt.path, typed.typeAt.node, `not supported by the local sidecar: transport socket ${typed.type}`);
    else unknownType(ctx, typed, [DOWNSTREAM_TLS_TYPE, RAW_BUFFER_TYPE]);
    return undefined;
  }
  return parseDownstreamTlsContext(ctx, typed.msg, ts.path);
}

function parseDownstreamTlsContext(ctx: Ctx, m: Message, path: string): DownstreamTlsContextConfig | undefined {
  const before = ctx.issues.length;
  const requireClientCertificate = bool(m, "require_client_certificate") ?? false;
  for (const f of ["require_sni", "session_ticket_keys", "session_ticket_keys_sds_secret_config", "session_timeout", "ocsp_staple_policy", "full_scan_certs_on_sni_mismatch", "prefer_client_ciphers"]) {
    m.unsupported(f);
  }
  // Resumption switches only make the handshake slower here: accepted, nothing to do.
  bool(m, "disable_stateless_session_resumption");
  bool(m, "disable_stateful_session_resumption");
  const common = msg(m, "common_tls_context", "envoy.extensions.transport_sockets.tls.v3.CommonTlsContext");
  m.done();
  if (!common) {
    m.required("common_tls_context", "is required: the listener needs a certificate");
    return undefined;
  }
  const out: DownstreamTlsContextConfig = {
    path,
    certificates: [],
    subjectAltNameMatchers: [],
    requireClientCertificate,
    alpnProtocols: [],
    minProtocolVersion: "TLSv1.2",
    maxProtocolVersion: "TLSv1.3",
    cipherSuites: ENVOY_DEFAULT_CIPHERS,
    ecdhCurves: ENVOY_DEFAULT_CURVES,
  };
  const params = msg(common, "tls_params", "envoy.extensions.transport_sockets.tls.v3.TlsParameters");
  if (params) parseTlsParams(ctx, params, out);
  const certs = listOfMessages(common, "tls_certificates", "envoy.extensions.transport_sockets.tls.v3.TlsCertificate");
  certs.forEach((c) => parseCertificate(ctx, c, out));
  const validation = msg(common, "validation_context", "envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext");
  if (validation) parseValidationContext(ctx, validation, out);
  for (const { value, at } of stringList(common, "alpn_protocols")) {
    if (value.length === 0 || Buffer.byteLength(value) > 255) ctx.error(at.path, at.node, "an ALPN protocol name is 1 to 255 bytes");
    else out.alpnProtocols.push(value);
  }
  for (const f of [
    "tls_certificate_sds_secret_configs", "tls_certificate_provider_instance", "custom_tls_certificate_selector",
    "tls_certificate_certificate_provider", "tls_certificate_certificate_provider_instance",
    "validation_context_sds_secret_config", "combined_validation_context", "validation_context_certificate_provider",
    "validation_context_certificate_provider_instance", "custom_handshaker", "key_log",
  ]) {
    common.unsupported(f, f.includes("sds") || f.includes("combined") ? "SDS; give tls_certificates and validation_context inline" : undefined);
  }
  if (certs.length === 0) {
    common.required("tls_certificates", "a server certificate is required (tls_certificates with certificate_chain and private_key)");
  }
  common.done();
  return ctx.issues.length === before ? out : undefined;
}

function parseTlsParams(ctx: Ctx, p: Message, out: DownstreamTlsContextConfig): void {
  const min = tlsProtocol(ctx, p, "tls_minimum_protocol_version");
  const max = tlsProtocol(ctx, p, "tls_maximum_protocol_version");
  if (min && min !== "TLS_AUTO") out.minProtocolVersion = NODE_VERSION[min]!;
  if (max && max !== "TLS_AUTO") out.maxProtocolVersion = NODE_VERSION[max]!;
  if (VERSION_ORDER.indexOf(out.minProtocolVersion) > VERSION_ORDER.indexOf(out.maxProtocolVersion)) {
    ctx.error(p.pathOf("tls_maximum_protocol_version"), p.posOf("tls_maximum_protocol_version"), `is below tls_minimum_protocol_version (${out.minProtocolVersion} > ${out.maxProtocolVersion})`);
  }
  const ciphers = stringList(p, "cipher_suites");
  if (ciphers.length > 0) {
    // BoringSSL's equal-preference groups "[A|B]" become A then B; every name must be known
    // (BoringSSL's strict cipher list), each checked alone since OpenSSL skips unknown names.
    const list: string[] = [];
    for (const { value, at } of ciphers) {
      for (const name of value.replace(/^\[|\]$/g, "").split("|")) {
        if (name.startsWith("TLS_")) {
          ctx.error(at.path, at.node, `${JSON.stringify(name)}: TLS 1.3 cipher suites are not configurable (Envoy uses BoringSSL's fixed TLS 1.3 suites)`);
        } else if (checkContext(ctx, at.path, at.node, { ciphers: name, maxVersion: "TLSv1.2" }, `unknown cipher suite ${JSON.stringify(name)}`)) {
          list.push(name);
        }
      }
    }
    out.cipherSuites = list.join(":");
  }
  const curves = stringList(p, "ecdh_curves");
  if (curves.length > 0) {
    const list = curves.map((c) => c.value).join(":");
    if (checkContext(ctx, p.pathOf("ecdh_curves"), p.posOf("ecdh_curves"), { ecdhCurve: list }, "unknown curve")) out.ecdhCurves = list;
  }
  const sigalgs = stringList(p, "signature_algorithms");
  if (sigalgs.length > 0) {
    const list = sigalgs.map((s) => s.value).join(":");
    if (checkContext(ctx, p.pathOf("signature_algorithms"), p.posOf("signature_algorithms"), { sigalgs: list }, "unknown signature algorithm")) {
      out.signatureAlgorithms = list;
    }
  }
  p.unsupported("compliance_policies");
  p.done();
}

/**
 * A TlsProtocol enum value: the exact name ("TLSv1_3"), then its upper-case form as protobuf's
 * case-insensitive parsing tries it, or the number.
 */
function tlsProtocol(ctx: Ctx, m: Message, field: string): (typeof TLS_PROTOCOLS)[number] | undefined {
  const at = m.get(field);
  if (!at) return undefined;
  const n = at.node;
  if (n.kind === "scalar" && typeof n.value === "string") {
    const exact = TLS_PROTOCOLS.find((v) => v === n.value || v.toUpperCase() === (n.value as string).toUpperCase());
    if (exact) return exact;
  }
  return enumOf(ctx, at, TLS_PROTOCOLS);
}

function parseCertificate(ctx: Ctx, c: Message, out: DownstreamTlsContextConfig): void {
  const chainMsg = msg(c, "certificate_chain", "envoy.config.core.v3.DataSource");
  const keyMsg = msg(c, "private_key", "envoy.config.core.v3.DataSource");
  const passwordMsg = msg(c, "password", "envoy.config.core.v3.DataSource");
  for (const f of ["pkcs12", "watched_directory", "private_key_provider", "ocsp_staple", "signed_certificate_timestamp"]) c.unsupported(f);
  if (!chainMsg) c.required("certificate_chain");
  if (!keyMsg) c.required("private_key");
  c.done();
  const certificateChain = chainMsg ? readDataSourceText(ctx, chainMsg) : undefined;
  const privateKey = keyMsg ? readDataSourceText(ctx, keyMsg) : undefined;
  const password = passwordMsg ? readDataSourceText(ctx, passwordMsg) : undefined;
  if (certificateChain === undefined || privateKey === undefined || (passwordMsg && password === undefined)) return;
  const cert = { certificateChain, privateKey, ...(password !== undefined ? { password } : {}) };
  if (checkContext(ctx, c.path, c.node, { cert: certificateChain, key: privateKey, passphrase: password }, "cannot load the certificate chain and private key")) {
    out.certificates.push(cert);
  }
}

const SAN_TYPES = ["SAN_TYPE_UNSPECIFIED", "EMAIL", "DNS", "URI", "IP_ADDRESS", "OTHER_NAME"] as const;

function parseSanMatchers(ctx: Ctx, v: Message, out: DownstreamTlsContextConfig): void {
  for (const t of listOfMessages(v, "match_typed_subject_alt_names", "envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher")) {
    const typeAt = t.get("san_type");
    const sanType = typeAt ? enumOf(ctx, typeAt, SAN_TYPES) : undefined;
    const m = msg(t, "matcher", "envoy.type.matcher.v3.StringMatcher");
    t.unsupported("oid");
    t.done();
    if (!typeAt || sanType === "SAN_TYPE_UNSPECIFIED") ctx.error(t.pathOf("san_type"), typeAt?.node ?? t.node, "is required (EMAIL, DNS, URI or IP_ADDRESS)");
    else if (sanType === "OTHER_NAME") ctx.error(typeAt.path, typeAt.node, "not supported by the local sidecar: OTHER_NAME");
    if (!m) t.required("matcher");
    const matcher = m ? parseStringMatcher(ctx, m) : undefined;
    if (matcher && sanType && sanType !== "SAN_TYPE_UNSPECIFIED" && sanType !== "OTHER_NAME") out.subjectAltNameMatchers.push({ sanType, matcher });
  }
  // The deprecated untyped matchers apply to every SAN type (Envoy creates one per type).
  for (const m of listOfMessages(v, "match_subject_alt_names", "envoy.type.matcher.v3.StringMatcher")) {
    const matcher = parseStringMatcher(ctx, m);
    if (!matcher) continue;
    for (const sanType of ["DNS", "URI", "EMAIL", "IP_ADDRESS"] as const) out.subjectAltNameMatchers.push({ sanType, matcher });
  }
}

function parseValidationContext(ctx: Ctx, v: Message, out: DownstreamTlsContextConfig): void {
  const caMsg = msg(v, "trusted_ca", "envoy.config.core.v3.DataSource");
  parseSanMatchers(ctx, v, out);
  for (const f of [
    "ca_certificate_provider_instance", "system_root_certs", "watched_directory", "verify_certificate_spki",
    "verify_certificate_hash", "require_signed_certificate_timestamp", "crl", "allow_expired_certificate",
    "trust_chain_verification", "custom_validator_config", "only_verify_leaf_cert_crl", "max_verify_depth",
  ]) {
    v.unsupported(f);
  }
  v.done();
  if (out.subjectAltNameMatchers.length > 0 && !caMsg) {
    ctx.error(v.pathOf("trusted_ca"), v.node, "SAN-based verification of peer certificates without trusted CA is insecure and not allowed");
  }
  if (!caMsg) return;
  const ca = readDataSourceText(ctx, caMsg);
  if (ca === undefined) return;
  if (!/-----BEGIN CERTIFICATE-----/.test(ca)) {
    ctx.error(caMsg.path, caMsg.node, "no PEM certificate (-----BEGIN CERTIFICATE-----) in trusted_ca");
    return;
  }
  if (checkContext(ctx, caMsg.path, caMsg.node, { ca }, "cannot load trusted_ca")) out.trustedCa = ca;
}

/** Loads the options into a throw-away TLS context; reports the TLS library's reason at `path`. */
function checkContext(
  ctx: Ctx,
  path: string,
  at: At["node"] | { line: number; col: number },
  options: Parameters<typeof createSecureContext>[0],
  what: string,
): boolean {
  try {
    createSecureContext(options);
    return true;
  } catch (e) {
    ctx.error(path, at, `${what}: ${tlsReason(e)}`);
    return false;
  }
}

/** The OpenSSL reason without its error-queue prefix ("error:0480006C:PEM routines::no start line" -> "no start line"). */
function tlsReason(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const m = /error:[0-9A-F]+:[^:]*:[^:]*:(.+)$/.exec(message);
  return (m ? m[1]! : message).trim();
}
