/**
 * The grpc-auth attack suite (issue 10 §5) as one table, run in the proxy-wasm host
 * (attacks.host.test.ts) and end to end through the sidecar with @grpc/grpc-js
 * (attacks.sidecar.test.ts), against the fixture policy (filters/grpc-auth/test/fixture.ts).
 * Every case names the exact grpc-status, the rule that decides, and therefore the counter
 * grpc_auth_decisions_total{auth_rule, auth_decision, grpc_code} that must move by one.
 */
import { createHmac } from "node:crypto";
import { ED, ED_OTHER, ISS, SECRETS } from "../../filters/grpc-auth/test/fixture.ts";
import { b64u, eddsa, hs256, signingInput, tamperPayload, tamperSignature } from "../../filters/grpc-auth/test/tokens.ts";

/** Tokens are valid for ten minutes around the moment the suite runs. */
export const now = () => Math.floor(Date.now() / 1000);

const hsClaims = (extra: Record<string, unknown> = {}) => ({ iss: ISS.hs, aud: "svc", sub: "attacker", exp: now() + 600, ...extra });
const edClaims = (extra: Record<string, unknown> = {}) => ({ iss: ISS.ed, sub: "attacker", exp: now() + 600, ...extra });
const adminHs = () => hs256(SECRETS.hsSecret, hsClaims({ groups: ["admin"] }), { kid: "hs-1" });
const adminEd = () => eddsa(ED, edClaims({ groups: ["admin"] }), { kid: "ed-1" });

export interface AttackCase {
  name: string;
  path: string;
  /** Request headers (names as the client writes them). */
  metadata?: Array<[string, string]>;
  /** A JWT sent as "authorization: Bearer <token>". */
  token?: () => string;
  /** An mTLS client certificate with this SPIFFE ID (host: the peer URI SAN). */
  peer?: string;
  /** Claims of a token Envoy's jwt_authn verifies (host: its payload in the dynamic metadata). */
  mesh?: Record<string, unknown>;
  /** Default application/grpc. */
  contentType?: string;
  /** What decides: grpc-status, rule, and a piece of the grpc-message. */
  expect: { code: number; rule: string; message?: string };
  /**
   * How the case travels end to end: a grpc-js call (default); node:http2 for the paths grpc-js
   * will not send; raw HTTP/2 frames for what node:http2 will not send (a repeated authorization).
   */
  wire?: "grpc" | "h2" | "raw";
}

const key = (k: keyof typeof SECRETS.apiKeys): [string, string] => ["x-api-key", SECRETS.apiKeys[k]];

export const ATTACKS: AttackCase[] = [
  // ===== JWT =====
  {
    name: "JWT alg none",
    path: "/test.Admin/List",
    token: () => `${signingInput({ alg: "none", typ: "JWT" }, hsClaims({ groups: ["admin"] }))}.`,
    expect: { code: 16, rule: "_authn", message: "invalid JWT: malformed" },
  },
  {
    name: "JWT alg none with a signature part",
    path: "/test.Admin/List",
    token: () => `${signingInput({ alg: "none", kid: "hs-1" }, hsClaims({ groups: ["admin"] }))}.${b64u("sig")}`,
    expect: { code: 16, rule: "_authn", message: "invalid JWT: unsupported algorithm" },
  },
  {
    name: "algorithm confusion: HS256 signed with the Ed25519 public key, kid of the Ed25519 key",
    path: "/test.Admin/List",
    token: () => hs256(Buffer.from(ED.x, "base64url"), edClaims({ groups: ["admin"] }), { kid: "ed-1" }),
    expect: { code: 16, rule: "_authn", message: "invalid JWT: unknown key" },
  },
  {
    name: "algorithm confusion without a kid",
    path: "/test.Admin/List",
    token: () => hs256(Buffer.from(ED.x, "base64url"), edClaims({ groups: ["admin"] })),
    expect: { code: 16, rule: "_authn", message: "invalid JWT: unknown key" },
  },
  {
    name: "kid pointing nowhere",
    path: "/test.Admin/List",
    token: () => eddsa(ED, edClaims({ groups: ["admin"] }), { kid: "no-such-key" }),
    expect: { code: 16, rule: "_authn", message: "invalid JWT: unknown key" },
  },
  {
    name: "a key the policy does not hold",
    path: "/test.Admin/List",
    token: () => eddsa(ED_OTHER, edClaims({ groups: ["admin"] }), { kid: "ed-1" }),
    expect: { code: 16, rule: "_authn", message: "invalid JWT: bad signature" },
  },
  {
    name: "expired token (past exp + 60 s of skew)",
    path: "/test.Admin/List",
    token: () => hs256(SECRETS.hsSecret, hsClaims({ groups: ["admin"], exp: now() - 120 }), { kid: "hs-1" }),
    expect: { code: 16, rule: "_authn", message: "invalid JWT: expired" },
  },
  {
    name: "not-yet-valid token (nbf beyond the skew)",
    path: "/test.Admin/List",
    token: () => eddsa(ED, edClaims({ groups: ["admin"], nbf: now() + 300 }), { kid: "ed-1" }),
    expect: { code: 16, rule: "_authn", message: "invalid JWT: not yet valid" },
  },
  {
    name: "wrong issuer",
    path: "/test.Admin/List",
    token: () => hs256(SECRETS.hsSecret, hsClaims({ iss: "https://evil.example", groups: ["admin"] }), { kid: "hs-1" }),
    expect: { code: 16, rule: "_authn", message: "invalid JWT: unknown issuer" },
  },
  {
    name: "wrong audience",
    path: "/test.Admin/List",
    token: () => hs256(SECRETS.hsSecret, hsClaims({ aud: ["other-svc"], groups: ["admin"] }), { kid: "hs-1" }),
    expect: { code: 16, rule: "_authn", message: "invalid JWT: audience not allowed" },
  },
  {
    name: "tampered payload (admin added, signature kept)",
    path: "/test.Admin/List",
    token: () => tamperPayload(hs256(SECRETS.hsSecret, hsClaims({ groups: ["dev"] }), { kid: "hs-1" }), hsClaims({ groups: ["admin"] })),
    expect: { code: 16, rule: "_authn", message: "invalid JWT: bad signature" },
  },
  {
    name: "tampered signature",
    path: "/test.Admin/List",
    token: () => tamperSignature(adminEd()),
    expect: { code: 16, rule: "_authn", message: "invalid JWT: bad signature" },
  },
  {
    name: "truncated token",
    path: "/test.Admin/List",
    token: () => adminHs().split(".").slice(0, 2).join("."),
    expect: { code: 16, rule: "_authn", message: "invalid JWT: malformed" },
  },
  {
    name: "truncated signature",
    path: "/test.Admin/List",
    token: () => adminHs().slice(0, -11),
    expect: { code: 16, rule: "_authn", message: "invalid JWT: bad signature" },
  },
  {
    name: "oversized token (over max_token_bytes)",
    path: "/test.Admin/List",
    token: () => hs256(SECRETS.hsSecret, hsClaims({ groups: ["admin"], pad: "x".repeat(9000) }), { kid: "hs-1" }),
    expect: { code: 16, rule: "_authn", message: "invalid JWT: oversized" },
  },
  {
    name: "garbage token",
    path: "/test.Admin/List",
    token: () => "\u00ff\u00fe<script>..%00",
    expect: { code: 16, rule: "_authn", message: "invalid JWT: malformed" },
    wire: "h2",
  },
  {
    name: "padded base64 (not canonical base64url)",
    path: "/test.Admin/List",
    token: () => adminHs() + "=",
    expect: { code: 16, rule: "_authn", message: "invalid JWT: malformed" },
  },
  {
    name: "HS256 over a different signing input",
    path: "/test.Admin/List",
    token: () => {
      const input = signingInput({ alg: "HS256", kid: "hs-1" }, hsClaims({ groups: ["admin"] }));
      return `${input}.${b64u(createHmac("sha256", SECRETS.hsSecret).update(`${input}x`).digest())}`;
    },
    expect: { code: 16, rule: "_authn", message: "invalid JWT: bad signature" },
  },
  {
    name: "crit header the filter does not understand",
    path: "/test.Admin/List",
    token: () => hs256(SECRETS.hsSecret, hsClaims({ groups: ["admin"] }), { kid: "hs-1", crit: ["b64"], b64: false }),
    expect: { code: 16, rule: "_authn", message: "invalid JWT: malformed" },
  },
  {
    name: "two authorization headers (one valid)",
    path: "/test.Admin/List",
    metadata: [["authorization", "Bearer not.a.token"]],
    token: adminHs,
    expect: { code: 16, rule: "_authn", message: "invalid JWT: duplicate header" },
    wire: "raw",
  },
  {
    name: "a valid admin token passes (control)",
    path: "/test.Admin/List",
    token: adminEd,
    expect: { code: 0, rule: "admin-jwt" },
  },
  // ===== API keys and passwords =====
  {
    name: "duplicate API-key headers (one valid)",
    path: "/meshtest.Echo/Unary",
    metadata: [key("ci"), ["x-api-key", "guess"]],
    expect: { code: 16, rule: "_authn", message: "invalid API key" },
  },
  {
    name: "differently-cased API-key headers",
    path: "/meshtest.Echo/Unary",
    metadata: [["X-API-KEY", SECRETS.apiKeys.ci], ["x-api-key", SECRETS.apiKeys.ops]],
    expect: { code: 16, rule: "_authn", message: "invalid API key" },
  },
  {
    name: "upper-case name of a single API-key header (HTTP/2 names are lower-case)",
    path: "/meshtest.Echo/Unary",
    metadata: [["X-Api-Key", SECRETS.apiKeys.ci]],
    expect: { code: 0, rule: "echo-keys" },
  },
  {
    name: "oversized API key (2 KiB)",
    path: "/meshtest.Echo/Unary",
    metadata: [["x-api-key", "k".repeat(2048)]],
    expect: { code: 16, rule: "_authn", message: "invalid API key" },
  },
  {
    name: "a key that differs in case",
    path: "/meshtest.Echo/Unary",
    metadata: [["x-api-key", SECRETS.apiKeys.ci.toUpperCase()]],
    expect: { code: 16, rule: "_authn", message: "invalid API key" },
  },
  {
    name: "username without a password",
    path: "/meshtest.Echo/ServerStream",
    metadata: [["username", "alice"]],
    expect: { code: 16, rule: "_authn", message: "invalid username or password" },
  },
  {
    name: "two passwords for one user",
    path: "/meshtest.Echo/ServerStream",
    metadata: [["username", "alice"], ["password", "wrong"], ["password", SECRETS.passwords.alice]],
    expect: { code: 16, rule: "_authn", message: "invalid username or password" },
  },
  // ===== methods =====
  { name: "double slash", path: "//meshtest.Echo/Unary", metadata: [key("ci")], expect: { code: 7, rule: "_malformed_path" }, wire: "h2" },
  { name: "extra segment", path: "/meshtest.Echo/Unary/extra", metadata: [key("ci")], expect: { code: 7, rule: "_malformed_path" }, wire: "h2" },
  { name: "percent-encoding", path: "/meshtest.Echo/%55nary", metadata: [key("ci")], expect: { code: 7, rule: "_malformed_path" }, wire: "h2" },
  { name: "trailing ?", path: "/meshtest.Echo/Unary?", metadata: [key("ci")], expect: { code: 7, rule: "_malformed_path" }, wire: "h2" },
  { name: "query string", path: "/test.Admin/Delete?x=1", metadata: [key("ci")], expect: { code: 7, rule: "_malformed_path" }, wire: "h2" },
  { name: "dot segment", path: "/meshtest.Echo/../test.Admin/Delete", metadata: [key("ci")], expect: { code: 7, rule: "_malformed_path" }, wire: "h2" },
  {
    name: "different case is a different method (denied by default)",
    path: "/MESHTEST.ECHO/UNARY",
    metadata: [key("ci")],
    expect: { code: 7, rule: "_default", message: "no rule allows this call" },
  },
  { name: "unknown method under default deny", path: "/test.Unknown/Call", metadata: [key("ci")], expect: { code: 7, rule: "_default" } },
  { name: "missing identity", path: "/meshtest.Echo/Unary", expect: { code: 16, rule: "_default", message: "credentials required" } },
  {
    name: "a DENY and an ALLOW on the same method: DENY wins",
    path: "/test.Admin/Delete",
    metadata: [key("ops")],
    token: adminHs,
    expect: { code: 7, rule: "deny-admin-ops-key" },
  },
  {
    name: "DENY on a header the attacker adds",
    path: "/meshtest.Echo/Unary",
    metadata: [key("ci"), ["x-debug", "true"]],
    expect: { code: 7, rule: "block-debug" },
  },
  // ===== peers =====
  { name: "plaintext connection where a principal is required", path: "/test.Internal/Sync", expect: { code: 16, rule: "_default" } },
  { name: "mTLS peer from another namespace", path: "/test.Internal/Sync", peer: "spiffe://cluster.local/ns/dev/sa/worker", expect: { code: 7, rule: "_default" } },
  { name: "mTLS peer of the allowed namespace (control)", path: "/test.Internal/Sync", peer: "spiffe://cluster.local/ns/prod/sa/worker", expect: { code: 0, rule: "mesh-peers" } },
  // ===== jwt_authn =====
  { name: "jwt_authn-verified scope (control)", path: "/test.Store/Read", mesh: { scope: "store.read", sub: "svc" }, expect: { code: 0, rule: "scoped" } },
  { name: "jwt_authn-verified token without the scope", path: "/test.Store/Read", mesh: { scope: "store.write", sub: "svc" }, expect: { code: 7, rule: "_default" } },
];

/** Host-only: values no HTTP/2 peer may send (RFC 9113 §8.2.1: the codec refuses them first). */
export const HOST_ONLY: AttackCase[] = [
  { name: "NUL in an API key", path: "/meshtest.Echo/Unary", metadata: [["x-api-key", `${SECRETS.apiKeys.ci}\u0000`]], expect: { code: 16, rule: "_authn" } },
  { name: "CR LF in an API key", path: "/meshtest.Echo/Unary", metadata: [["x-api-key", `${SECRETS.apiKeys.ci}\r\nx-api-key: y`]], expect: { code: 16, rule: "_authn" } },
  { name: "LF in a token", path: "/test.Admin/List", metadata: [["authorization", `Bearer ${"a.b.c"}\nx`]], expect: { code: 16, rule: "_authn", message: "invalid JWT: malformed" } },
  { name: "NUL in a username", path: "/meshtest.Echo/ServerStream", metadata: [["username", "alice\u0000"], ["password", SECRETS.passwords.alice]], expect: { code: 16, rule: "_authn" } },
  { name: "NUL in a path", path: "/meshtest.Echo/Un\u0000ary", metadata: [key("ci")], expect: { code: 7, rule: "_malformed_path" } },
];

export const GO_CODES = ["OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists",
  "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange", "Unimplemented", "Internal",
  "Unavailable", "DataLoss", "Unauthenticated"];
