/**
 * Malformed policies: each is rejected with a precise one-line message naming the file, line and
 * column and the field path, and nothing else is reported for it (so no error hides another).
 * The YAML cases are small documents written out in full so each position can be read off the
 * text; the gRFC A43 cases are JSON.
 */
import { describe, expect, it } from "vitest";
import { loadPolicy, PolicyError } from "../../manager/src/policy/index.ts";

const HEAD = `apiVersion: meshwasm.io/v1alpha1
kind: GrpcAuthPolicy
metadata:
  name: p
spec:
`;
const KEY = "a71d167d501fa331fed43360c9a63af9f6552a8060300effd6c0917c50c0e716";
const HASH = "$pbkdf2-sha256$i=20000$bWVzaHdhc20tZGVtby1zYWx0LTE$SjeauIpidw00xnH3th5+ATlOA5Uc94e+EcXpiiasevs";
const ED_X = "uiNqdrAL6Bua-jaMC3VN_mjcLVltit8afU6L8miSHkw";

/** A spec body (indented two spaces) under the common head; lines of the body start at line 6. */
const spec = (body: string) => HEAD + body;
const RULE = `  rules:
    - name: r
      action: ALLOW
      methods: ["*"]
`;

interface Case {
  name: string;
  text: string;
  /** Every issue, in order, as `file:line:col: path: message`. */
  expected: string[];
  file?: string;
}

const F = "policy.yaml";

const CASES: Case[] = [
  {
    name: "bad YAML (unclosed flow sequence)",
    text: spec(`  rules:\n    - name: r\n      methods: ["/a.B/C"\n`),
    expected: [`${F}:9:1: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]`],
  },
  {
    name: "duplicate key",
    text: spec(`  auditLog: all\n  auditLog: none\n${RULE}`),
    expected: [`${F}:7:3: invalid YAML: Map keys must be unique`],
  },
  {
    name: "wrong apiVersion",
    text: HEAD.replace("v1alpha1", "v1") + RULE,
    expected: [`${F}:1:13: apiVersion: expected meshwasm.io/v1alpha1`],
  },
  {
    name: "wrong kind",
    text: HEAD.replace("GrpcAuthPolicy", "AuthorizationPolicy") + RULE,
    expected: [`${F}:2:7: kind: expected GrpcAuthPolicy`],
  },
  {
    name: "missing metadata.name",
    text: HEAD.replace("  name: p\n", "  namespace: default\n") + RULE,
    expected: [`${F}:4:3: metadata.name: missing, expected a string`],
  },
  {
    name: "a label that is not a string",
    text: HEAD.replace("  name: p\n", "  name: p\n  labels: { team: shop, tier: 2 }\n") + RULE,
    expected: [`${F}:5:31: metadata.labels.tier: expected a string, got number`],
  },
  {
    name: "unknown top-level field",
    text: HEAD + RULE + "status: {}\n",
    expected: [`${F}:10:1: status: unknown field (known: apiVersion, kind, metadata, spec)`],
  },
  {
    name: "unknown field in a rule",
    text: spec(`  rules:\n    - name: r\n      action: ALLOW\n      methods: ["*"]\n      paths: ["/a.B/C"]\n`),
    expected: [`${F}:10:7: spec.rules[0].paths: unknown field (known: name, action, methods, dryRun, message, from, when)`],
  },
  {
    name: "wrong type: methods is a string",
    text: spec(`  rules:\n    - name: r\n      action: ALLOW\n      methods: /a.B/C\n`),
    expected: [`${F}:9:16: spec.rules[0].methods: expected a list, got string`],
  },
  {
    name: "wrong type: dryRun is a string",
    text: spec(`  rules:\n    - name: r\n      action: DENY\n      dryRun: "yes"\n      methods: ["*"]\n`),
    expected: [`${F}:9:15: spec.rules[0].dryRun: expected true or false, got string`],
  },
  {
    name: "bad action",
    text: spec(`  rules:\n    - name: r\n      action: REJECT\n      methods: ["*"]\n`),
    expected: [`${F}:8:15: spec.rules[0].action: expected one of ALLOW, DENY, AUDIT`],
  },
  {
    name: "empty rules",
    text: spec(`  rules: []\n`),
    expected: [`${F}:6:10: spec.rules: must not be empty: a policy needs at least one rule`],
  },
  {
    name: "missing rules",
    text: spec(`  auditLog: all\n`),
    expected: [`${F}:6:3: spec.rules: missing, expected a list`],
  },
  {
    name: "duplicate rule names",
    text: spec(`${RULE}    - name: r\n      action: DENY\n      methods: ["/a.B/C"]\n`),
    expected: [`${F}:10:13: spec.rules[1].name: duplicate rule name "r" (first at spec.rules[0])`],
  },
  {
    name: "bad rule name",
    text: spec(`  rules:\n    - name: _default\n      action: ALLOW\n      methods: ["*"]\n`),
    expected: [`${F}:7:13: spec.rules[0].name: expected 1-63 characters of letters, digits, '.', '_' or '-', starting with a letter or digit`],
  },
  {
    name: "method without a leading slash",
    text: spec(`  rules:\n    - name: r\n      action: ALLOW\n      methods: ["pkg.Svc/Get"]\n`),
    expected: [`${F}:9:17: spec.rules[0].methods[0]: expected /package.Service/Method, /package.Service/*, /package.* or * (a pattern starts with "/")`],
  },
  {
    name: "method wildcard inside a segment",
    text: spec(`  rules:\n    - name: r\n      action: ALLOW\n      methods: ["/a.B/C", "/pkg.Svc/Get*"]\n`),
    expected: [`${F}:9:27: spec.rules[0].methods[1]: expected /package.Service/Method, /package.Service/*, /package.* or * (a method wildcard is the whole segment: "/pkg.Svc/*")`],
  },
  {
    name: "method with an extra segment",
    text: spec(`  rules:\n    - name: r\n      action: ALLOW\n      methods: ["/pkg.Svc/Get/extra"]\n`),
    expected: [`${F}:9:17: spec.rules[0].methods[0]: expected /package.Service/Method, /package.Service/*, /package.* or * (more than two "/" segments)`],
  },
  {
    name: "empty methods",
    text: spec(`  rules:\n    - name: r\n      action: ALLOW\n      methods: []\n`),
    expected: [`${F}:9:16: spec.rules[0].methods: must not be empty`],
  },
  {
    name: "bad CIDR (host bits)",
    text: spec(`  rules:\n    - name: r\n      action: ALLOW\n      methods: ["*"]\n      from:\n        sourceIps: ["10.0.0.1/8"]\n`),
    expected: [`${F}:11:21: spec.rules[0].from.sourceIps[0]: host bits are set after /8 (write the network address)`],
  },
  {
    name: "bad CIDR (IPv6 prefix too long)",
    text: spec(`  rules:\n    - name: r\n      action: ALLOW\n      methods: ["*"]\n      from:\n        sourceIps: ["10.0.0.0/8", "2001:db8::/129"]\n`),
    expected: [`${F}:11:35: spec.rules[0].from.sourceIps[1]: the prefix length must be an integer in [0, 128]`],
  },
  {
    name: "bad CIDR (not an address)",
    text: spec(`  rules:\n    - name: r\n      action: ALLOW\n      methods: ["*"]\n      from:\n        sourceIps: ["10.0.0"]\n`),
    expected: [`${F}:11:21: spec.rules[0].from.sourceIps[0]: expected an IPv4 or IPv6 address or CIDR (e.g. 10.0.0.0/8, 2001:db8::/32)`],
  },
  {
    name: "bad principal (partial wildcard)",
    text: spec(`  rules:\n    - name: r\n      action: ALLOW\n      methods: ["*"]\n      from:\n        principals: ["spiffe://cluster.local/ns/prod-*/sa/web"]\n`),
    expected: [`${F}:11:22: spec.rules[0].from.principals[0]: the namespace must be a non-empty SPIFFE path segment or *`],
  },
  {
    name: "bad principal (not a workload identity)",
    text: spec(`  rules:\n    - name: r\n      action: ALLOW\n      methods: ["*"]\n      from:\n        principals: ["spiffe://cluster.local/web"]\n`),
    expected: [`${F}:11:22: spec.rules[0].from.principals[0]: expected "spiffe://<trust domain>/ns/<namespace>/sa/<service account>" (each part literal or *) or *`],
  },
  {
    name: "bad API-key hash",
    text: spec(`  credentials:\n    apiKeys:\n      keys:\n        - name: ci\n          sha256: ${KEY.slice(0, 60)}\n${RULE}`),
    expected: [`${F}:10:19: spec.credentials.apiKeys.keys[0].sha256: expected 64 lower-case hex digits (the key's SHA-256, from \`meshwasm policy hash api-key\`)`],
  },
  {
    name: "plaintext API key",
    text: spec(`  credentials:\n    apiKeys:\n      keys:\n        - name: ci\n          key: s3cret-value\n${RULE}`),
    expected: [`${F}:10:16: spec.credentials.apiKeys.keys[0].key: plaintext API keys are not accepted: store the output of \`meshwasm policy hash api-key\` in sha256`],
  },
  {
    name: "plaintext password",
    text: spec(`  credentials:\n    passwords:\n      users:\n        - name: alice\n          password: hunter2\n${RULE}`),
    expected: [`${F}:10:21: spec.credentials.passwords.users[0].password: plaintext passwords are not accepted: store the output of \`meshwasm policy hash password\` in hash`],
  },
  {
    name: "bad password hash (iterations too low)",
    text: spec(`  credentials:\n    passwords:\n      users:\n        - name: alice\n          hash: ${HASH.replace("i=20000", "i=10")}\n${RULE}`),
    expected: [`${F}:10:17: spec.credentials.passwords.users[0].hash: the iteration count must be in [1000, 10000000]`],
  },
  {
    name: "bad password hash (not PHC)",
    text: spec(`  credentials:\n    passwords:\n      users:\n        - name: alice\n          hash: bcrypt$2b$10$abc\n${RULE}`),
    expected: [`${F}:10:17: spec.credentials.passwords.users[0].hash: expected "$pbkdf2-sha256$i=<iterations>$<salt>$<hash>" (from \`meshwasm policy hash password\`)`],
  },
  {
    name: "duplicate key names",
    text: spec(`  credentials:\n    apiKeys:\n      keys:\n        - name: ci\n          sha256: ${KEY}\n        - name: ci\n          sha256: ${"b".repeat(64)}\n${RULE}`),
    expected: [`${F}:11:17: spec.credentials.apiKeys.keys[1].name: duplicate name "ci" (also at spec.credentials.apiKeys.keys[0])`],
  },
  {
    name: "bad JWK (short HS256 key)",
    text: spec(`  credentials:\n    jwt:\n      providers:\n        - name: idp\n          issuer: https://idp\n          jwks:\n            keys:\n              - { kty: oct, kid: k1, k: c2hvcnQ }\n${RULE}`),
    expected: [`${F}:13:41: spec.credentials.jwt.providers[0].jwks.keys[0].k: an HS256 key must be at least 32 bytes (RFC 7518 §3.2)`],
  },
  {
    name: "bad JWK (Ed25519 x not a point)",
    text: spec(`  credentials:\n    jwt:\n      providers:\n        - name: idp\n          issuer: https://idp\n          jwks:\n            keys:\n              - { kty: OKP, crv: Ed25519, x: ${"_".repeat(42)}w }\n${RULE}`),
    expected: [`${F}:13:46: spec.credentials.jwt.providers[0].jwks.keys[0].x: not the canonical encoding of an Ed25519 public key`],
  },
  {
    name: "bad JWK (RSA key)",
    text: spec(`  credentials:\n    jwt:\n      providers:\n        - name: idp\n          issuer: https://idp\n          jwks:\n            keys:\n              - { kty: RSA, n: AQAB, e: AQAB }\n${RULE}`),
    expected: [`${F}:13:24: spec.credentials.jwt.providers[0].jwks.keys[0].kty: RSA keys are verified by Envoy's jwt_authn (Istio RequestAuthentication): declare the provider with jwtAuthn`],
  },
  {
    name: "bad JWK (private key in the JWKS)",
    text: spec(`  credentials:\n    jwt:\n      providers:\n        - name: idp\n          issuer: https://idp\n          jwks:\n            keys:\n              - { kty: OKP, crv: Ed25519, x: ${ED_X}, d: bRgLCM13w4YqQIAuX1t5p2t9NLdaKIi1id-3IHZ_wBA }\n${RULE}`),
    expected: [`${F}:13:94: spec.credentials.jwt.providers[0].jwks.keys[0].d: private key material in a JWKS: publish only public keys`],
  },
  {
    name: "provider with both jwks and jwtAuthn",
    text: spec(`  credentials:\n    jwt:\n      providers:\n        - name: idp\n          issuer: https://idp\n          jwtAuthn: {}\n          jwks: { keys: [{ kty: OKP, crv: Ed25519, x: ${ED_X} }] }\n${RULE}`),
    expected: [`${F}:9:11: spec.credentials.jwt.providers[0]: expected exactly one of jwks (HS256 / EdDSA keys verified in the filter) and jwtAuthn (verified by Envoy's jwt_authn)`],
  },
  {
    name: "unknown API key in a rule",
    text: spec(`  credentials:\n    apiKeys:\n      keys:\n        - name: ci\n          sha256: ${KEY}\n  rules:\n    - name: r\n      action: ALLOW\n      methods: ["*"]\n      from:\n        apiKeys: [ci, deploy]\n`),
    expected: [`${F}:16:23: spec.rules[0].from.apiKeys[1]: unknown API key "deploy"`],
  },
  {
    name: "users without any declared",
    text: spec(`  rules:\n    - name: r\n      action: ALLOW\n      methods: ["*"]\n      from:\n        users: [alice]\n`),
    expected: [`${F}:11:16: spec.rules[0].from.users: no users are declared (spec.credentials.passwords.users)`],
  },
  {
    name: "jwt condition with an unknown provider",
    text: spec(`  credentials:\n    jwt:\n      providers:\n        - name: idp\n          issuer: https://idp\n          jwtAuthn: {}\n  rules:\n    - name: r\n      action: ALLOW\n      methods: ["*"]\n      from:\n        jwt: { providers: [corp] }\n`),
    expected: [`${F}:17:28: spec.rules[0].from.jwt.providers[0]: unknown JWT provider "corp"`],
  },
  {
    name: "claim condition with both anyOf and allOf",
    text: spec(`  credentials:\n    jwt:\n      providers:\n        - name: idp\n          issuer: https://idp\n          jwtAuthn: {}\n  rules:\n    - name: r\n      action: ALLOW\n      methods: ["*"]\n      from:\n        jwt:\n          claims:\n            - { claim: groups, anyOf: [a], allOf: [b] }\n`),
    expected: [`${F}:19:15: spec.rules[0].from.jwt.claims[0]: expected exactly one of anyOf and allOf`],
  },
  {
    name: "header condition on a credential header",
    text: spec(`  credentials:\n    apiKeys:\n      keys:\n        - name: ci\n          sha256: ${KEY}\n  rules:\n    - name: r\n      action: ALLOW\n      methods: ["*"]\n      when:\n        headers:\n          - name: x-api-key\n            present: true\n`),
    expected: [`${F}:17:19: spec.rules[0].when.headers[0].name: "x-api-key" carries a credential: require the credential in from instead`],
  },
  {
    name: "header condition with an upper-case name",
    text: spec(`  rules:\n    - name: r\n      action: ALLOW\n      methods: ["*"]\n      when:\n        headers:\n          - name: X-Env\n            values: [prod]\n`),
    expected: [`${F}:12:19: spec.rules[0].when.headers[0].name: expected a lower-case HTTP header name`],
  },
  {
    name: "dryRun on an AUDIT rule",
    text: spec(`  rules:\n    - name: r\n      action: AUDIT\n      dryRun: true\n      methods: ["*"]\n`),
    expected: [`${F}:9:15: spec.rules[0].dryRun: AUDIT rules only log: dryRun has no meaning on them`],
  },
  {
    name: "bad auditLog value",
    text: spec(`  auditLog: deny\n${RULE}`),
    expected: [`${F}:6:13: spec.auditLog: expected one of none, denials, allows, all`],
  },
  {
    name: "two credentials on one header",
    text: spec(`  credentials:\n    apiKeys:\n      header: authorization\n      keys:\n        - name: ci\n          sha256: ${KEY}\n    jwt:\n      providers:\n        - name: idp\n          issuer: https://idp\n          jwtAuthn: {}\n${RULE}`),
    expected: [`${F}:8:15: spec.credentials.apiKeys.header: header "authorization" is already the JWT header`],
  },
  {
    name: "several problems at once, in document order",
    text: spec(`  auditLog: loud\n  rules:\n    - name: r\n      action: ALLOW\n      methods: ["/x"]\n      from:\n        sourceIps: ["300.0.0.0/8"]\n`),
    expected: [
      `${F}:6:13: spec.auditLog: expected one of none, denials, allows, all`,
      `${F}:10:17: spec.rules[0].methods[0]: expected /package.Service/Method, /package.Service/*, /package.* or * (no "/" between service and method)`,
      `${F}:12:21: spec.rules[0].from.sourceIps[0]: expected an IPv4 or IPv6 address or CIDR (e.g. 10.0.0.0/8, 2001:db8::/32)`,
    ],
  },
  // ===== accepted but without effect =====
  {
    name: "message on an ALLOW rule",
    text: spec(`  rules:\n    - name: r\n      action: ALLOW\n      methods: ["*"]\n      message: "ask the platform team"\n`),
    expected: [`${F}:10:16: spec.rules[0].message: message is sent only by DENY rules; a call no ALLOW rule admits is denied by _default, whose message cannot be set (spec.denialMessages: generic shortens it): to send this text, deny those calls with a DENY rule that has it`],
  },
  {
    name: "message on an AUDIT rule",
    text: spec(`  rules:\n    - name: r\n      action: AUDIT\n      methods: ["*"]\n      message: "audited"\n`),
    expected: [`${F}:10:16: spec.rules[0].message: message is sent only by DENY rules; an AUDIT rule never denies (it only logs and counts)`],
  },
  {
    name: "message on a DENY rule under denialMessages: generic",
    text: spec(`  denialMessages: generic\n  rules:\n    - name: r\n      action: DENY\n      methods: ["/a.B/C"]\n      message: "closed"\n`),
    expected: [`${F}:11:16: spec.rules[0].message: spec.denialMessages is generic, so a denial sends only "permission denied": this message would never be sent (remove it, or set denialMessages: rule)`],
  },
  {
    name: "audiences on a jwtAuthn provider",
    text: spec(`  credentials:\n    jwt:\n      providers:\n        - name: mesh\n          issuer: https://issuer.example.com\n          audiences: [inventory]\n          jwtAuthn: { payloadInMetadata: payload }\n${RULE}`),
    expected: [`${F}:11:22: spec.credentials.jwt.providers[0].audiences: jwt_authn checks aud for this provider and the filter does not re-check it: list the audiences in the RequestAuthentication (jwt_authn's provider audiences)`],
  },
  {
    name: "clockSkewSeconds on a jwtAuthn provider",
    text: spec(`  credentials:\n    jwt:\n      providers:\n        - name: mesh\n          issuer: https://issuer.example.com\n          clockSkewSeconds: 30\n          jwtAuthn: {}\n${RULE}`),
    expected: [`${F}:11:29: spec.credentials.jwt.providers[0].clockSkewSeconds: jwt_authn checks exp and nbf for this provider, with its own clock_skew_seconds (default 60), and the filter does not re-check them: leave clockSkewSeconds out`],
  },
  {
    name: "requireExpiration on a jwtAuthn provider",
    text: spec(`  credentials:\n    jwt:\n      providers:\n        - name: mesh\n          issuer: https://issuer.example.com\n          requireExpiration: false\n          jwtAuthn: {}\n${RULE}`),
    expected: [`${F}:11:30: spec.credentials.jwt.providers[0].requireExpiration: jwt_authn checks exp for this provider (its require_expiration) and the filter does not re-check it: leave requireExpiration out`],
  },
  {
    name: "empty audiences on an inline provider",
    text: spec(`  credentials:\n    jwt:\n      providers:\n        - name: idp\n          issuer: https://idp\n          audiences: []\n          jwks: { keys: [{ kty: OKP, crv: Ed25519, x: ${ED_X} }] }\n${RULE}`),
    expected: [`${F}:11:22: spec.credentials.jwt.providers[0].audiences: must not be empty: leave audiences out to accept any aud`],
  },
  {
    name: "jwt.cacheSize when every provider is verified by jwt_authn",
    text: spec(`  credentials:\n    jwt:\n      cacheSize: 512\n      providers:\n        - name: mesh\n          issuer: https://issuer.example.com\n          jwtAuthn: {}\n${RULE}`),
    expected: [`${F}:8:18: spec.credentials.jwt.cacheSize: has no effect: only tokens the filter verifies (providers with jwks) are cached, and every provider here is verified by Envoy's jwt_authn`],
  },
  {
    name: "jwt.forward with stripCredentials: false",
    text: spec(`  stripCredentials: false\n  credentials:\n    jwt:\n      forward: true\n      providers:\n        - name: mesh\n          issuer: https://issuer.example.com\n          jwtAuthn: {}\n${RULE}`),
    expected: [`${F}:9:16: spec.credentials.jwt.forward: has no effect: spec.stripCredentials is false, so the JWT header is forwarded whatever forward says`],
  },
  {
    name: "stripCredentials without credentials",
    text: spec(`  stripCredentials: false\n${RULE}`),
    expected: [`${F}:6:21: spec.stripCredentials: has no effect: no credentials are declared (spec.credentials), so the filter strips no header (a header Envoy's jwt_authn reads is governed by its forwardOriginalToken)`],
  },
  {
    name: "empty from",
    text: spec(`  rules:\n    - name: r\n      action: ALLOW\n      methods: ["*"]\n      from: {}\n`),
    expected: [`${F}:10:13: spec.rules[0].from: empty: name at least one identity condition, or leave from out (a rule without from matches every caller)`],
  },
  {
    name: "the same method twice in a rule",
    text: spec(`  rules:\n    - name: r\n      action: ALLOW\n      methods: ["/a.B/C", "/a.B/C"]\n`),
    expected: [`${F}:9:27: spec.rules[0].methods[1]: the same entry as spec.rules[0].methods[0]: a repeated entry has no effect`],
  },
  {
    name: "a method inside a wider pattern of the same rule",
    text: spec(`  rules:\n    - name: r\n      action: ALLOW\n      methods: ["/shop.v1.Cart/Get", "/shop.*"]\n`),
    expected: [`${F}:9:17: spec.rules[0].methods[0]: has no effect: spec.rules[0].methods[1] ("/shop.*") already matches everything this entry matches`],
  },
  {
    name: "a principal inside a wildcard of the same rule",
    text: spec(`  rules:\n    - name: r\n      action: ALLOW\n      methods: ["*"]\n      from:\n        principals: ["cluster.local/ns/shop/sa/*", "spiffe://cluster.local/ns/shop/sa/web"]\n`),
    expected: [`${F}:11:52: spec.rules[0].from.principals[1]: has no effect: spec.rules[0].from.principals[0] ("spiffe://cluster.local/ns/shop/sa/*") already matches everything this entry matches`],
  },
  {
    name: "a CIDR inside a shorter prefix of the same rule",
    text: spec(`  rules:\n    - name: r\n      action: ALLOW\n      methods: ["*"]\n      from:\n        sourceIps: ["10.1.0.0/16", "10.0.0.0/8"]\n`),
    expected: [`${F}:11:21: spec.rules[0].from.sourceIps[0]: has no effect: spec.rules[0].from.sourceIps[1] ("10.0.0.0/8") already matches everything this entry matches`],
  },
  {
    name: "the same API key twice in a rule",
    text: spec(`  credentials:\n    apiKeys:\n      keys:\n        - name: ci\n          sha256: ${KEY}\n  rules:\n    - name: r\n      action: ALLOW\n      methods: ["*"]\n      from:\n        apiKeys: [ci, ci]\n`),
    expected: [`${F}:16:23: spec.rules[0].from.apiKeys[1]: the same entry as spec.rules[0].from.apiKeys[0]: a repeated entry has no effect`],
  },
  {
    name: "the same scope twice",
    text: spec(`  credentials:\n    jwt:\n      providers:\n        - name: idp\n          issuer: https://idp\n          jwtAuthn: {}\n  rules:\n    - name: r\n      action: ALLOW\n      methods: ["*"]\n      from:\n        jwt: { scopes: [orders.read, orders.read] }\n`),
    expected: [`${F}:17:38: spec.rules[0].from.jwt.scopes[1]: the same entry as spec.rules[0].from.jwt.scopes[0]: a repeated entry has no effect`],
  },
  {
    name: "a header value with a line feed",
    text: spec(`  rules:\n    - name: r\n      action: ALLOW\n      methods: ["*"]\n      when:\n        headers:\n          - { name: x-env, values: ["prod\\n"] }\n`),
    expected: [`${F}:12:37: spec.rules[0].when.headers[0].values[0]: a header value cannot contain NUL, CR or LF (RFC 9113 §8.2.1): this condition could never hold`],
  },
  {
    name: "a prefix that extends another of the same condition",
    text: spec(`  rules:\n    - name: r\n      action: ALLOW\n      methods: ["*"]\n      when:\n        headers:\n          - { name: x-tenant, prefixes: [acme-, acme-eu-] }\n`),
    expected: [`${F}:12:49: spec.rules[0].when.headers[0].prefixes[1]: has no effect: spec.rules[0].when.headers[0].prefixes[0] already matches everything this entry matches`],
  },
  {
    name: "a header required absent and present in one rule",
    text: spec(`  rules:\n    - name: r\n      action: ALLOW\n      methods: ["*"]\n      when:\n        headers:\n          - { name: x-env, present: false }\n          - { name: x-env, values: [prod] }\n`),
    expected: [`${F}:13:13: spec.rules[0].when.headers[1]: no request can meet this condition and spec.rules[0].when.headers[0] together (both on header "x-env", and every condition must hold): the rule could never match`],
  },
  {
    name: "two value lists on one header with no value in common",
    text: spec(`  rules:\n    - name: r\n      action: ALLOW\n      methods: ["*"]\n      when:\n        headers:\n          - { name: x-env, values: [prod] }\n          - { name: x-env, values: [staging] }\n`),
    expected: [`${F}:13:13: spec.rules[0].when.headers[1]: no request can meet this condition and spec.rules[0].when.headers[0] together (both on header "x-env", and every condition must hold): the rule could never match`],
  },
  {
    name: "two prefix lists on one header that no value can start with together",
    text: spec(`  rules:\n    - name: r\n      action: ALLOW\n      methods: ["*"]\n      when:\n        headers:\n          - { name: x-tenant, prefixes: [acme-] }\n          - { name: x-tenant, prefixes: [beta-] }\n`),
    expected: [`${F}:13:13: spec.rules[0].when.headers[1]: no request can meet this condition and spec.rules[0].when.headers[0] together (both on header "x-tenant", and every condition must hold): the rule could never match`],
  },
  {
    name: "the same header condition twice",
    text: spec(`  rules:\n    - name: r\n      action: ALLOW\n      methods: ["*"]\n      when:\n        headers:\n          - { name: x-env, values: [prod] }\n          - { name: x-env, values: [prod] }\n`),
    expected: [`${F}:13:13: spec.rules[0].when.headers[1]: the same condition as spec.rules[0].when.headers[0]: a repeated condition has no effect`],
  },
  {
    name: "present: true beside a value condition on the same header",
    text: spec(`  rules:\n    - name: r\n      action: ALLOW\n      methods: ["*"]\n      when:\n        headers:\n          - { name: x-env, present: true }\n          - { name: x-env, prefixes: [prod] }\n`),
    expected: [`${F}:12:13: spec.rules[0].when.headers[0]: has no effect: spec.rules[0].when.headers[1] already requires header "x-env"`],
  },
  {
    name: ":path required absent",
    text: spec(`  rules:\n    - name: r\n      action: DENY\n      methods: ["*"]\n      when:\n        headers:\n          - { name: ":path", present: false }\n`),
    expected: [`${F}:12:39: spec.rules[0].when.headers[0].present: every request the rules see has :path: this condition could never hold`],
  },
  {
    name: "an ALLOW rule's method under an unconditional DENY rule",
    text: spec(`  rules:\n    - name: r\n      action: ALLOW\n      methods: ["/shop.v1.Cart/*", "/other.Svc/Get"]\n    - name: lockdown\n      action: DENY\n      methods: ["/shop.*"]\n`),
    expected: [`${F}:9:17: spec.rules[0].methods[0]: no call to this method reaches rule "r": rule "lockdown" (spec.rules[1]) has no conditions and decides every call to it first (DENY rules are evaluated before ALLOW rules)`],
  },
  {
    name: "an ALLOW rule after an unconditional ALLOW rule on its methods",
    text: spec(`  credentials:\n    apiKeys:\n      keys:\n        - name: ci\n          sha256: ${KEY}\n  rules:\n    - name: health-open\n      action: ALLOW\n      methods: ["*"]\n    - name: ci-only\n      action: ALLOW\n      methods: ["/shop.v1.Cart/Checkout"]\n      from: { apiKeys: [ci] }\n`),
    expected: [`${F}:17:17: spec.rules[1].methods[0]: no call to this method reaches rule "ci-only": rule "health-open" (spec.rules[0]) has no conditions and decides every call to it first (it comes first and ALLOW rules are evaluated in order)`],
  },
  {
    name: "a DENY rule after an unconditional DENY rule on its methods",
    text: spec(`  rules:\n    - name: no-admin\n      action: DENY\n      methods: ["/shop.v1.Admin/*"]\n    - name: no-admin-reset\n      action: DENY\n      methods: ["/shop.v1.Admin/Reset"]\n      message: "reset is disabled"\n`),
    expected: [`${F}:12:17: spec.rules[1].methods[0]: no call to this method reaches rule "no-admin-reset": rule "no-admin" (spec.rules[0]) has no conditions and decides every call to it first (it comes first and DENY rules are evaluated in order)`],
  },
  // ===== gRFC A43 JSON =====
  {
    name: "A43: invalid JSON",
    file: "authz.json",
    text: `{\n  "name": "authz",\n  "allow_rules": [\n    { "name": "a", }\n  ]\n}\n`,
    expected: [`authz.json:4:20: invalid JSON: Expected double-quoted property name`],
  },
  {
    name: "A43: empty allow_rules",
    file: "authz.json",
    text: `{\n  "name": "authz",\n  "allow_rules": []\n}\n`,
    expected: [`authz.json:3:18: allow_rules: must not be empty`],
  },
  {
    name: "A43: suffix path",
    file: "authz.json",
    text: `{\n  "name": "authz",\n  "allow_rules": [\n    { "name": "a", "request": { "paths": ["*/Get"] } }\n  ]\n}\n`,
    expected: [`authz.json:4:43: allow_rules[0].request.paths[0]: suffix matches (*abc) are not supported: list the methods, or use /package.Service/*`],
  },
  {
    name: "A43: empty principal",
    file: "authz.json",
    text: `{\n  "name": "authz",\n  "allow_rules": [\n    { "name": "a", "source": { "principals": [""] } }\n  ]\n}\n`,
    expected: [`authz.json:4:47: allow_rules[0].source.principals[0]: the empty principal (a TLS peer without a certificate) is not supported: the filter sees only a certificate's URI SAN`],
  },
  {
    name: "A43: unknown field",
    file: "authz.json",
    text: `{\n  "name": "authz",\n  "allow_rules": [\n    { "name": "a", "action": "ALLOW" }\n  ]\n}\n`,
    expected: [`authz.json:4:20: allow_rules[0].action: unknown field (known: name, source, request)`],
  },
  {
    name: "A43: same name in deny_rules and allow_rules",
    file: "authz.json",
    text: `{\n  "name": "authz",\n  "deny_rules": [{ "name": "a" }],\n  "allow_rules": [{ "name": "a" }]\n}\n`,
    expected: [`authz.json:4:29: allow_rules[0].name: duplicate rule name "a": names must be unique across deny_rules and allow_rules`],
  },
];

function issuesOf(c: Case): string[] {
  try {
    loadPolicy(c.text, c.file ?? F);
  } catch (e) {
    if (e instanceof PolicyError) return e.lines();
    throw e;
  }
  return [];
}

describe("bad policies", () => {
  it("has at least 30 cases", () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30);
  });

  for (const c of CASES) {
    it(c.name, () => {
      expect(issuesOf(c)).toEqual(c.expected);
    });
  }

  it("puts the first issue and the count on one line in the error message", () => {
    const c = CASES.find((x) => x.expected.length > 1)!;
    try {
      loadPolicy(c.text, F);
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toBe(`${c.expected[0]} (and ${c.expected.length - 1} more)`);
      expect((e as Error).message).not.toContain("\n");
    }
  });

  it("accepts what has an effect in the combinations next to those refused", () => {
    const text = spec(`  stripCredentials: false
  credentials:
    apiKeys:
      keys:
        - name: ci
          sha256: ${KEY}
    jwt:
      cacheSize: 64
      providers:
        - name: idp
          issuer: https://idp
          audiences: [svc]
          jwks: { keys: [{ kty: OKP, crv: Ed25519, x: ${ED_X} }] }
        - name: mesh
          issuer: https://mesh
          spaceDelimitedClaims: [scp]
          jwtAuthn: {}
  rules:
    - name: staged-deny
      action: DENY
      dryRun: true
      methods: ["/shop.v1.Admin/*"]
      message: "admin is closed"
    - name: admin-from-ci
      action: DENY
      methods: ["/shop.v1.Admin/*"]
      from: { apiKeys: [ci] }
    - name: admin-reset
      action: DENY
      methods: ["/shop.v1.Admin/Reset"]
    - name: no-export
      action: DENY
      methods: ["/shop.v1.Cart/Export"]
    - name: open-later
      action: ALLOW
      dryRun: true
      methods: ["*"]
    - name: cart-acme
      action: ALLOW
      methods: ["/shop.v1.Cart/*"]
      when:
        headers:
          - { name: x-tenant, prefixes: [acme-] }
          - { name: x-tenant, values: [acme-eu, beta] }
          - { name: x-debug, present: false }
    - name: audit-export
      action: AUDIT
      methods: ["/shop.v1.Cart/Export"]
`);
    const { policy } = loadPolicy(text, F);
    expect(policy.rules.map((r) => r.name)).toEqual(["staged-deny", "admin-from-ci", "admin-reset", "no-export", "open-later", "cart-acme", "audit-export"]);
    expect(policy.rules[0]!.message).toBe("admin is closed");
    expect(policy.stripCredentials).toBe(false);
    expect(policy.credentials.jwt?.cacheSize).toBe(64);
  });

  it("never echoes a secret-bearing value", () => {
    const text = spec(`  credentials:\n    apiKeys:\n      keys:\n        - name: ci\n          key: s3cret-value\n    passwords:\n      users:\n        - name: a\n          password: hunter2-pass\n${RULE}`);
    const lines = issuesOf({ name: "", text, expected: [] }).join("\n");
    expect(lines).not.toContain("s3cret-value");
    expect(lines).not.toContain("hunter2-pass");
  });
});
