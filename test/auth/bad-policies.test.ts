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

  it("never echoes a secret-bearing value", () => {
    const text = spec(`  credentials:\n    apiKeys:\n      keys:\n        - name: ci\n          key: s3cret-value\n    passwords:\n      users:\n        - name: a\n          password: hunter2-pass\n${RULE}`);
    const lines = issuesOf({ name: "", text, expected: [] }).join("\n");
    expect(lines).not.toContain("s3cret-value");
    expect(lines).not.toContain("hunter2-pass");
  });
});
