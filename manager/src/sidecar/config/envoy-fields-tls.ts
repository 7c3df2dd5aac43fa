/**
 * The field names of the TLS transport-socket messages (envoy/extensions/transport_sockets/tls/v3
 * common.proto and tls.proto, envoy/config/core/v3/base.proto TransportSocket), consulted by
 * envoyFieldsOf so that an Envoy field the sidecar does not read is "not supported" rather than
 * "unknown".
 */
export const TLS_FIELDS: Record<string, readonly string[]> = {
  "envoy.config.core.v3.TransportSocket": ["name", "typed_config"],
  "envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer": [],
  "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext": [
    "common_tls_context", "require_client_certificate", "require_sni", "session_ticket_keys",
    "session_ticket_keys_sds_secret_config", "disable_stateless_session_resumption",
    "disable_stateful_session_resumption", "session_timeout", "ocsp_staple_policy",
    "full_scan_certs_on_sni_mismatch", "prefer_client_ciphers",
  ],
  "envoy.extensions.transport_sockets.tls.v3.CommonTlsContext": [
    "tls_params", "tls_certificates", "tls_certificate_sds_secret_configs", "tls_certificate_provider_instance",
    "custom_tls_certificate_selector", "tls_certificate_certificate_provider",
    "tls_certificate_certificate_provider_instance", "validation_context", "validation_context_sds_secret_config",
    "combined_validation_context", "validation_context_certificate_provider",
    "validation_context_certificate_provider_instance", "alpn_protocols", "custom_handshaker", "key_log",
  ],
  "envoy.extensions.transport_sockets.tls.v3.TlsParameters": [
    "tls_minimum_protocol_version", "tls_maximum_protocol_version", "cipher_suites", "ecdh_curves",
    "signature_algorithms", "compliance_policies",
  ],
  "envoy.extensions.transport_sockets.tls.v3.TlsCertificate": [
    "certificate_chain", "private_key", "pkcs12", "watched_directory", "private_key_provider", "password",
    "ocsp_staple", "signed_certificate_timestamp",
  ],
  "envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext": [
    "trusted_ca", "ca_certificate_provider_instance", "system_root_certs", "watched_directory",
    "verify_certificate_spki", "verify_certificate_hash", "match_typed_subject_alt_names", "match_subject_alt_names",
    "require_signed_certificate_timestamp", "crl", "allow_expired_certificate", "trust_chain_verification",
    "custom_validator_config", "only_verify_leaf_cert_crl", "max_verify_depth",
  ],
  "envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher": ["san_type", "matcher", "oid"],
};
