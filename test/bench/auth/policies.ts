/**
 * The grpc-auth benchmark's policies and credentials: one policy with every identity kind
 * grpc-auth checks in the filter (API key, username/password, mTLS principal, HS256 and EdDSA
 * JWTs), and two policies that make the same API-key decision among 10 and 1,000 rules. Written as
 * GrpcAuthPolicy YAML and compiled with the manager's own compiler (manager/src/policy), so the
 * filter gets exactly the pluginConfig `meshwasm policy` would produce. Secrets are generated per
 * run; tokens are signed with Node's crypto.
 */
import { createHmac, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import { compilePolicy, hashApiKey, hashPassword, loadPolicy } from "../../../manager/src/policy/index.ts";

export const ISSUERS = { hs: "https://hs.bench.example", ed: "https://ed.bench.example" };
export const AUDIENCE = "bench";
export const PRINCIPAL = "spiffe://cluster.local/ns/bench/sa/client";

/** Methods of the cases (one rule each in the identity policy). */
export const METHODS = {
  apiKey: "/bench.v1.Keys/Call",
  user: "/bench.v1.Users/Call",
  principal: "/bench.v1.Mesh/Call",
  hs256: "/bench.v1.Hs/Call",
  eddsa: "/bench.v1.Ed/Call",
  manyRules: "/bench.v1.Target/Call",
};

export const RULES = {
  apiKey: "api-key",
  user: "user",
  principal: "principal",
  hs256: "jwt-hs256",
  eddsa: "jwt-eddsa",
  manyRules: "target",
};

export interface BenchSecrets {
  apiKey: string;
  username: string;
  password: string;
  hsSecret: Buffer;
  edPrivate: KeyObject;
  /** The Ed25519 public key, base64url (the JWK's x). */
  edX: string;
}

export function newSecrets(): BenchSecrets {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return {
    apiKey: `bench-${randomBytes(12).toString("hex")}`,
    username: "alice",
    password: `pw-${randomBytes(9).toString("base64url")}`,
    hsSecret: randomBytes(32),
    edPrivate: privateKey,
    edX: (publicKey.export({ format: "jwk" }) as { x: string }).x,
  };
}

const b64u = (b: Uint8Array | string) => Buffer.from(b).toString("base64url");

function credentialsYaml(s: BenchSecrets, withUsersAndJwt: boolean): string {
  const keys = `    apiKeys:
      header: x-api-key
      keys:
        - { name: bench, sha256: ${hashApiKey(s.apiKey)} }
        - { name: other, sha256: ${hashApiKey(`${s.apiKey}-other`)} }
`;
  if (!withUsersAndJwt) return `  credentials:\n${keys}`;
  return `  credentials:
${keys}    passwords:
      users:
        - { name: ${s.username}, hash: "${hashPassword(s.password)}" }
    jwt:
      providers:
        - name: hs
          issuer: ${ISSUERS.hs}
          audiences: [${AUDIENCE}]
          jwks: { keys: [{ kty: oct, kid: hs-1, k: ${b64u(s.hsSecret)} }] }
        - name: ed
          issuer: ${ISSUERS.ed}
          audiences: [${AUDIENCE}]
          jwks: { keys: [{ kty: OKP, crv: Ed25519, kid: ed-1, x: ${s.edX} }] }
`;
}

function header(name: string): string {
  return `apiVersion: meshwasm.io/v1alpha1
kind: GrpcAuthPolicy
metadata:
  name: ${name}
spec:
`;
}

/** One ALLOW rule per identity kind, each on its own method (default audit log: denials). */
export function identityPolicyYaml(s: BenchSecrets): string {
  return `${header("bench-identities")}${credentialsYaml(s, true)}  rules:
    - { name: ${RULES.apiKey}, action: ALLOW, methods: ["${METHODS.apiKey}"], from: { apiKeys: [bench] } }
    - { name: ${RULES.user}, action: ALLOW, methods: ["${METHODS.user}"], from: { users: [${s.username}] } }
    - { name: ${RULES.principal}, action: ALLOW, methods: ["${METHODS.principal}"], from: { principals: ["spiffe://cluster.local/ns/bench/sa/*"] } }
    - { name: ${RULES.hs256}, action: ALLOW, methods: ["${METHODS.hs256}"], from: { jwt: { providers: [hs] } } }
    - { name: ${RULES.eddsa}, action: ALLOW, methods: ["${METHODS.eddsa}"], from: { jwt: { providers: [ed] } } }
`;
}

/**
 * `total` rules: the deciding one (API key "bench" on METHODS.manyRules) and total - 1 others on
 * other methods — exact methods, services and packages in turn, with DENY rules among them — so
 * the request's method is looked up among `total` rules and decided by the same rule either way.
 */
export function manyRulesPolicyYaml(s: BenchSecrets, total: number): string {
  const lines: string[] = [];
  for (let i = 0; i < total - 1; i++) {
    const action = i % 4 === 3 ? "DENY" : "ALLOW";
    const from = i % 2 === 0 ? "from: { apiKeys: [bench] }" : "from: { apiKeys: [other] }";
    const method = i % 3 === 0 ? `/bench.p${i}.Svc/Call` : i % 3 === 1 ? `/bench.p${i}.Svc/*` : `/bench.p${i}.*`;
    lines.push(`    - { name: r${i}, action: ${action}, methods: ["${method}"], ${from} }`);
  }
  lines.splice(Math.floor(lines.length / 2), 0,
    `    - { name: ${RULES.manyRules}, action: ALLOW, methods: ["${METHODS.manyRules}"], from: { apiKeys: [bench] } }`);
  return `${header(`bench-${total}-rules`)}${credentialsYaml(s, false)}  rules:\n${lines.join("\n")}\n`;
}

/** The filter's pluginConfig for a policy (the canonical JSON `meshwasm policy` compiles). */
export function pluginConfigOf(yaml: string): string {
  return compilePolicy(loadPolicy(yaml, "bench-policy.yaml").policy);
}

/** A valid token of provider `kind` for the AUDIENCE, valid for an hour from `nowSeconds`; `jti` makes it distinct. */
export function benchToken(s: BenchSecrets, kind: "hs256" | "eddsa", nowSeconds: number, jti: number): string {
  const header = kind === "hs256" ? { alg: "HS256", typ: "JWT", kid: "hs-1" } : { alg: "EdDSA", typ: "JWT", kid: "ed-1" };
  const payload = {
    iss: kind === "hs256" ? ISSUERS.hs : ISSUERS.ed,
    sub: `client-${jti % 97}`,
    aud: AUDIENCE,
    iat: nowSeconds,
    exp: nowSeconds + 3600,
    jti: `bench-${jti}`,
    scope: "bench.read bench.write",
  };
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`;
  const signature = kind === "hs256"
    ? createHmac("sha256", s.hsSecret).update(input).digest()
    : sign(null, Buffer.from(input), s.edPrivate);
  return `${input}.${b64u(signature)}`;
}
