/**
 * envoy.filters.http.jwt_authn parsing: the istiod-shaped configuration maps to the model,
 * and each invalid or unsupported input is one error at its field path and line (an undefined
 * provider, a requires_any of one requirement, two requirement kinds, remote_jwks, a missing
 * JWKS source, a wrong requirement_name, the ignored grpc match option, an unknown field).
 */
import { describe, expect, it } from "vitest";
import { ConfigError, parseBootstrap } from "./index.ts";
import { listenerBootstrap } from "./test-bootstrap.ts";

const JWT = "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0].typed_config";

function bootstrap(jwtBody: string): string {
  return listenerBootstrap({
    httpFilters: `                  - name: envoy.filters.http.jwt_authn
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication
${jwtBody.replace(/^/gm, "                      ")}`,
  });
}

const PROVIDER = `providers:
  origins-0:
    issuer: https://issuer.example
    audiences: [a.example]
    local_jwks: { inline_string: '{"keys":[]}' }
    payload_in_metadata: payload
    forward: true
    from_headers: [{ name: X-Jwt, value_prefix: "Token " }]
    normalize_payload_in_metadata: { space_delimited_claims: [permission, scope] }
    claim_to_headers: [{ header_name: X-Sub, claim_name: sub }]`;

const parse = (text: string) => parseBootstrap(text, { sourceName: "envoy.yaml", baseDir: "/", env: {} });

describe("JwtAuthentication", () => {
  it("maps istiod's RequestAuthentication shape to the model", () => {
    const b = parse(
      bootstrap(`${PROVIDER}
rules:
  - match: { prefix: /healthz }
  - match: { prefix: / }
    requires: { requires_any: { requirements: [{ provider_name: origins-0 }, { allow_missing: {} }] } }
bypass_cors_preflight: true`),
    );
    const f = b.listeners[0]!.httpConnectionManager.httpFilters[0]!;
    expect(f.kind).toBe("jwt_authn");
    if (f.kind !== "jwt_authn") return;
    const p = f.providers.get("origins-0")!;
    expect(p).toMatchObject({
      issuer: "https://issuer.example",
      audiences: ["a.example"],
      localJwks: '{"keys":[]}',
      payloadInMetadata: "payload",
      forward: true,
      fromHeaders: [{ name: "x-jwt", valuePrefix: "Token " }],
      spaceDelimitedClaims: ["permission", "scope"],
      claimToHeaders: [{ headerName: "x-sub", claimName: "sub" }],
      clockSkewSeconds: 0,
    });
    expect(f.rules[0]!.requires).toBeUndefined();
    expect(f.rules[1]!.requires).toEqual({ kind: "requires_any", requirements: [{ kind: "provider", providerName: "origins-0" }, { kind: "allow_missing" }] });
    expect(f.bypassCorsPreflight).toBe(true);
  });

  it("resolves requirement_name through requirement_map", () => {
    const b = parse(bootstrap(`${PROVIDER}\nrequirement_map: { strict: { provider_name: origins-0 } }\nrules: [{ match: { prefix: / }, requirement_name: strict }]`));
    const f = b.listeners[0]!.httpConnectionManager.httpFilters[0]!;
    expect(f.kind === "jwt_authn" && f.rules[0]!.requires).toEqual({ kind: "provider", providerName: "origins-0" });
  });
});

const cases: Array<{ name: string; body: string; path: string; at: string; message: string }> = [
  {
    name: "an undefined provider",
    body: `${PROVIDER}\nrules: [{ match: { prefix: / }, requires: { provider_name: origins-9 } }]`,
    path: `${JWT}.rules[0].requires.provider_name`,
    at: "origins-9",
    message: 'required provider "origins-9" is not configured in providers',
  },
  {
    name: "requires_any with one requirement",
    body: `${PROVIDER}\nrules: [{ match: { prefix: / }, requires: { requires_any: { requirements: [{ provider_name: origins-0 }] } } }]`,
    path: `${JWT}.rules[0].requires.requires_any.requirements`,
    at: "requires_any",
    message: "needs at least 2 requirements (got 1)",
  },
  {
    name: "two requirement kinds",
    body: `${PROVIDER}\nrules: [{ match: { prefix: / }, requires: { provider_name: origins-0, allow_missing: {} } }]`,
    path: `${JWT}.rules[0].requires.allow_missing`,
    at: "allow_missing",
    message: "only one of provider_name, allow_missing may be set",
  },
  {
    name: "remote_jwks",
    body: `providers:\n  p:\n    issuer: i\n    remote_jwks: { http_uri: { uri: "https://idp/jwks", cluster: idp, timeout: 1s } }`,
    path: `${JWT}.providers.p.remote_jwks`,
    at: "remote_jwks",
    message: "not supported by the local sidecar: the local sidecar does not fetch JWKS; give the keys in local_jwks",
  },
  {
    name: "no JWKS source",
    body: `providers:\n  p:\n    issuer: i`,
    path: `${JWT}.providers.p.local_jwks`,
    at: "issuer: i",
    message: "a JWKS source is required (local_jwks)",
  },
  {
    name: "a wrong requirement_name",
    body: `${PROVIDER}\nrequirement_map: { strict: { provider_name: origins-0 } }\nrules: [{ match: { prefix: / }, requirement_name: lax }]`,
    path: `${JWT}.rules[0].requirement_name`,
    at: "lax",
    message: "Wrong requirement_name: lax. It should be one of [strict]",
  },
  {
    name: "the grpc match option",
    body: `${PROVIDER}\nrules: [{ match: { prefix: /, grpc: {} }, requires: { provider_name: origins-0 } }]`,
    path: `${JWT}.rules[0].match.grpc`,
    at: "grpc: {}",
    message: "Envoy's jwt_authn rules ignore it",
  },
  {
    name: "an unknown provider field",
    body: `${PROVIDER}\n    issuers: [x]`,
    path: `${JWT}.providers.origins-0.issuers`,
    at: "issuers:",
    message: "unknown field",
  },
  {
    name: "an unsupported provider field",
    body: `${PROVIDER}\n    jwt_cache_config: { jwt_cache_size: 10 }`,
    path: `${JWT}.providers.origins-0.jwt_cache_config`,
    at: "jwt_cache_config",
    message: "not supported by the local sidecar",
  },
];

describe("rejected jwt_authn configurations", () => {
  it.each(cases)("$name", ({ body, path, at, message }) => {
    const text = bootstrap(body);
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
    expect(first.message).toContain(message);
  });
});
