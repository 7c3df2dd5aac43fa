/**
 * The validated grpc-auth policy model: what a `GrpcAuthPolicy` YAML file and a gRFC A43 JSON
 * policy both compile to, and what the filter's pluginConfig (compile.ts) and the reference
 * evaluator (evaluate.ts) are made from. filters/grpc-auth/README.md states the semantics.
 *
 * Secrets appear only as hashes (API keys: SHA-256; passwords: PBKDF2-HMAC-SHA256 with salt and
 * iteration count), except HS256 keys, which are symmetric and must be known to verify.
 */

export const API_VERSION = "meshwasm.io/v1alpha1";
export const KIND = "GrpcAuthPolicy";

export type Action = "ALLOW" | "DENY" | "AUDIT";
export type AuditLog = "none" | "denials" | "allows" | "all";
export type DenialMessages = "rule" | "generic";

/** A method pattern: every method, a package (and sub-packages), a service, or one method. */
export type MethodPattern =
  | { kind: "any" }
  | { kind: "package"; pkg: string }
  | { kind: "service"; service: string }
  | { kind: "exact"; service: string; method: string };

/** `spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>`; "*" matches any one segment. */
export interface PrincipalPattern {
  /** true: `*` alone, any peer with a URI SAN. */
  any: boolean;
  trustDomain: string;
  namespace: string;
  serviceAccount: string;
}

export interface Cidr {
  /** 4 or 16 bytes. */
  bytes: Uint8Array;
  prefix: number;
  text: string;
}

export interface ClaimCondition {
  /** Path into the claims: ["groups"], ["realm_access", "roles"]. */
  path: string[];
  match: "anyOf" | "allOf";
  values: string[];
}

export interface JwtCondition {
  /** Provider names; empty = any provider. */
  providers: string[];
  claims: ClaimCondition[];
}

/**
 * A request-header condition on the header's value (every occurrence joined with ","): present
 * (or absent) when `present` is set; otherwise present and equal to one of `values` or starting
 * with one of `prefixes`.
 */
export interface HeaderCondition {
  name: string;
  values: string[];
  prefixes: string[];
  present?: boolean;
}

export interface Rule {
  name: string;
  action: Action;
  dryRun: boolean;
  methods: MethodPattern[];
  /** Method patterns as written (for messages and explain). */
  methodTexts: string[];
  /** Custom grpc-message for denials by this rule. */
  message?: string;
  principals?: PrincipalPattern[];
  jwt?: JwtCondition;
  /** Key names; ["*"] = any valid key. */
  apiKeys?: string[];
  /** User names; ["*"] = any valid user. */
  users?: string[];
  sourceIps?: Cidr[];
  headers: HeaderCondition[];
}

export interface ApiKey {
  name: string;
  /** SHA-256 of the key, 32 bytes. */
  sha256: Uint8Array;
}

export interface PasswordUser {
  name: string;
  iterations: number;
  salt: Uint8Array;
  /** PBKDF2-HMAC-SHA256 derived key, 32 bytes. */
  hash: Uint8Array;
}

export interface JwkKey {
  kid?: string;
  alg: "HS256" | "EdDSA";
  /** HS256: the secret; EdDSA: the 32-byte public key. */
  bytes: Uint8Array;
}

export interface JwtProvider {
  name: string;
  issuer: string;
  audiences: string[];
  clockSkewSeconds: number;
  requireExpiration: boolean;
  spaceDelimitedClaims: string[];
  /** Inline keys (verified in the filter); absent for a jwtAuthn provider. */
  keys?: JwkKey[];
  /** Verified by Envoy's jwt_authn; claims read from its dynamic metadata under this key. */
  jwtAuthn?: { payloadInMetadata: string };
}

export interface Credentials {
  apiKeys?: { header: string; keys: ApiKey[] };
  passwords?: { usernameHeader: string; passwordHeader: string; cacheSize: number; users: PasswordUser[] };
  jwt?: {
    header: string;
    prefix: string;
    forward: boolean;
    maxTokenBytes: number;
    cacheSize: number;
    providers: JwtProvider[];
  };
}

export interface Policy {
  name: string;
  namespace?: string;
  denialMessages: DenialMessages;
  auditLog: AuditLog;
  stripCredentials: boolean;
  filterState: boolean;
  /** Bound of the per-method denial series. */
  maxMethodSeries: number;
  credentials: Credentials;
  rules: Rule[];
}

/** Limits shared by the compiler, the filter and the reference evaluator. */
export const LIMITS = {
  maxApiKeyBytes: 1024,
  maxUsernameBytes: 256,
  maxPasswordBytes: 1024,
  defaultMaxTokenBytes: 8192,
  maxTokenBytesLimit: 65536,
  minIterations: 1000,
  maxIterations: 10_000_000,
  maxRules: 10_000,
  maxNameLength: 63,
} as const;

/** Rule names the filter reports for decisions no user rule made. */
export const PSEUDO_RULES = {
  /** No rule decided: default allow (no ALLOW rule) or default deny (ALLOW rules exist). */
  default: "_default",
  /** A credential was presented and is invalid. */
  authn: "_authn",
  /** :path is not a gRPC method path. */
  malformedPath: "_malformed_path",
} as const;

/** Methods written as in the policy: `/pkg.Svc/Method`, `/pkg.Svc/*`, `/pkg.*`, `*`. */
export function formatMethodPattern(p: MethodPattern): string {
  switch (p.kind) {
    case "any":
      return "*";
    case "package":
      return `/${p.pkg}.*`;
    case "service":
      return `/${p.service}/*`;
    case "exact":
      return `/${p.service}/${p.method}`;
  }
}

export function formatPrincipal(p: PrincipalPattern): string {
  return p.any ? "*" : `spiffe://${p.trustDomain}/ns/${p.namespace}/sa/${p.serviceAccount}`;
}
