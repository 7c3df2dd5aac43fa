/**
 * A policy that exercises every kind of identity and rule grpc-auth has, with its secrets, for
 * the filter's host tests, the attack suite and the property test. Passwords use 1,000 PBKDF2
 * iterations (the minimum) so that a test's first sight of a password stays cheap.
 */
import { hashApiKey, hashPassword } from "../../../manager/src/policy/index.ts";
import { b64u, edKeyFromJwk, edKeyPair, type EdKeyPair } from "./tokens.ts";

export const SECRETS = {
  apiKeys: { ci: "ci-key-0123456789abcdef", ops: "ops-key-fedcba9876543210" },
  passwords: { alice: "alice-password-1", bob: "bob-password-2" },
  hsSecret: new Uint8Array(Buffer.from("grpc-auth-test-hs256-secret-0123456789")),
  /** A second HS256 secret the policy does not know. */
  otherSecret: new Uint8Array(Buffer.from("some-other-hs256-secret-not-configured")),
};

/** The policy's Ed25519 key and one it does not know. */
export const ED: EdKeyPair = edKeyFromJwk("bRgLCM13w4YqQIAuX1t5p2t9NLdaKIi1id-3IHZ_wBA", "uiNqdrAL6Bua-jaMC3VN_mjcLVltit8afU6L8miSHkw");
export const ED_OTHER: EdKeyPair = edKeyPair();

export const ISS = { hs: "https://hs.example", ed: "https://ed.example", mesh: "https://mesh.example" };
export const FIXED_SALTS = { alice: Buffer.from("fixture-salt-alice"), bob: Buffer.from("fixture-salt-bob") };

export function fixturePolicyYaml(extraSpec = "", auditLog = "all"): string {
  return `apiVersion: meshwasm.io/v1alpha1
kind: GrpcAuthPolicy
metadata:
  name: fixture
spec:
  auditLog: ${auditLog}
${extraSpec}  credentials:
    apiKeys:
      header: x-api-key
      keys:
        - { name: ci, sha256: ${hashApiKey(SECRETS.apiKeys.ci)} }
        - { name: ops, sha256: ${hashApiKey(SECRETS.apiKeys.ops)} }
    passwords:
      users:
        - { name: alice, hash: "${hashPassword(SECRETS.passwords.alice, 1000, FIXED_SALTS.alice)}" }
        - { name: bob, hash: "${hashPassword(SECRETS.passwords.bob, 1000, FIXED_SALTS.bob)}" }
    jwt:
      providers:
        - name: hs
          issuer: ${ISS.hs}
          audiences: [svc]
          jwks: { keys: [{ kty: oct, kid: hs-1, k: ${b64u(SECRETS.hsSecret)} }] }
        - name: ed
          issuer: ${ISS.ed}
          jwks: { keys: [{ kty: OKP, crv: Ed25519, kid: ed-1, x: ${ED.x} }] }
        - name: mesh
          issuer: ${ISS.mesh}
          jwtAuthn: { payloadInMetadata: payload }
  rules:
    - { name: deny-admin-ops-key, action: DENY, methods: ["/test.Admin/*"], from: { apiKeys: [ops] } }
    - { name: health, action: ALLOW, methods: ["/grpc.health.v1.Health/*"] }
    - { name: echo-keys, action: ALLOW, methods: ["/meshtest.Echo/Unary", "/meshtest.Echo/Bidi"], from: { apiKeys: ["*"] } }
    - { name: echo-users, action: ALLOW, methods: ["/meshtest.Echo/ServerStream", "/meshtest.Echo/ClientStream"], from: { users: [alice] } }
    - name: admin-jwt
      action: ALLOW
      methods: ["/test.Admin/*"]
      from: { jwt: { providers: [hs, ed], claims: [{ claim: groups, anyOf: [admin] }] } }
    - { name: scoped, action: ALLOW, methods: ["/test.Store/Read"], from: { jwt: { scopes: [store.read] } } }
    - name: nested
      action: ALLOW
      methods: ["/test.Store/Write"]
      from: { jwt: { claims: [{ path: [realm, roles], allOf: [writer, auditor] }] } }
    - { name: mesh-peers, action: ALLOW, methods: ["/test.Internal/*"], from: { principals: ["spiffe://cluster.local/ns/prod/sa/*"] } }
    - { name: office, action: ALLOW, methods: ["/test.Office/*"], from: { sourceIps: [10.0.0.0/8, "2001:db8::/32"] } }
    - { name: env-header, action: ALLOW, methods: ["/test.Env/*"], when: { headers: [{ name: x-env, values: [prod] }] } }
    - { name: block-debug, action: DENY, methods: ["/meshtest.Echo/*"], when: { headers: [{ name: x-debug, present: true }] } }
    - { name: rollout, action: DENY, dryRun: true, methods: ["/meshtest.Echo/Bidi"] }
    - { name: pkg-wide, action: ALLOW, methods: ["/test.pkg.*"], from: { apiKeys: [ci] } }
    - { name: audit-admin, action: AUDIT, methods: ["/test.Admin/*"] }
`;
}
