/**
 * The field names of envoy.extensions.filters.http.jwt_authn.v3 (config.proto), consulted by
 * envoyFieldsOf so that an Envoy field the sidecar does not read is "not supported" rather
 * than "unknown".
 */
const P = "envoy.extensions.filters.http.jwt_authn.v3.";

export const JWT_AUTHN_FIELDS: Record<string, readonly string[]> = {
  [`${P}JwtAuthentication`]: [
    "providers", "rules", "filter_state_rules", "bypass_cors_preflight", "requirement_map", "strip_failure_response",
  ],
  [`${P}JwtProvider`]: [
    "issuer", "audiences", "subjects", "require_expiration", "max_lifetime", "remote_jwks", "local_jwks", "forward",
    "from_headers", "from_params", "from_cookies", "forward_payload_header", "pad_forward_payload_header",
    "payload_in_metadata", "normalize_payload_in_metadata", "header_in_metadata", "failed_status_in_metadata",
    "clock_skew_seconds", "jwt_cache_config", "claim_to_headers", "clear_route_cache",
  ],
  [`${P}JwtProvider.NormalizePayload`]: ["space_delimited_claims"],
  [`${P}JwtHeader`]: ["name", "value_prefix"],
  [`${P}JwtClaimToHeader`]: ["header_name", "claim_name"],
  [`${P}RequirementRule`]: ["match", "requires", "requirement_name"],
  [`${P}JwtRequirement`]: [
    "provider_name", "provider_and_audiences", "requires_any", "requires_all", "allow_missing_or_failed", "allow_missing",
  ],
  [`${P}ProviderWithAudiences`]: ["provider_name", "audiences"],
  [`${P}JwtRequirementOrList`]: ["requirements"],
  [`${P}JwtRequirementAndList`]: ["requirements"],
  "google.protobuf.Empty": [],
};
