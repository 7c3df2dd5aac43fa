/**
 * Requests for the grpc-auth property test: fast-check arbitraries that combine methods (valid,
 * unknown, and path tricks), every credential in valid, invalid, missing, duplicated and hostile
 * forms (tokens of every failure the README names), mTLS peers, source addresses, jwt_authn
 * payloads, condition headers, content types and clocks, against the fixture policy.
 */
import fc from "fast-check";
import { ED, ED_OTHER, ISS, SECRETS } from "../../filters/grpc-auth/test/fixture.ts";
import { b64u, eddsa, hs256, rawToken, signingInput, tamperPayload, tamperSignature } from "../../filters/grpc-auth/test/tokens.ts";
import type { AuthCall } from "../../manager/src/policy/wasm-runner.ts";
import { createHmac } from "node:crypto";

export const NOW = 1_800_000_000;

export const PATHS = [
  "/meshtest.Echo/Unary", "/meshtest.Echo/Bidi", "/meshtest.Echo/ServerStream", "/meshtest.Echo/ClientStream",
  "/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch", "/test.Admin/Delete", "/test.Admin/List",
  "/test.Store/Read", "/test.Store/Write", "/test.Internal/Sync", "/test.Office/Print", "/test.Env/Get",
  "/test.pkg.Svc/Get", "/test.pkg.v1.Deep/Call", "/test.pkgx.Svc/Get", "/test.Unknown/Call", "/Svc/M",
  "//meshtest.Echo/Unary", "/meshtest.Echo/Unary/extra", "/meshtest.Echo/Unary?", "/meshtest.Echo/%55nary",
  "/MESHTEST.ECHO/UNARY", "/meshtest.Echo/unary", "/meshtest..Echo/Unary", "/meshtest.Echo/", "/", "",
  "/meshtest.Echo/Un\u00e4ry", "/test.Admin/Delete#x", "/.x/M", "/a/b.c",
];

const claims = (iss: string, extra: Record<string, unknown>) => ({ iss, sub: "user-1", exp: NOW + 600, ...extra });
const CLAIM_SETS: Array<Record<string, unknown>> = [
  {}, { groups: ["admin"] }, { groups: "admin" }, { groups: ["dev", "admin"] }, { groups: ["dev"] }, { groups: 7 },
  { scope: "store.read" }, { scope: "store.write  store.read" }, { scope: ["store.read"] }, { scope: "store.readonly" },
  { realm: { roles: ["writer", "auditor"] } }, { realm: { roles: ["writer"] } }, { realm: "writer" },
  { exp: NOW - 30 }, { exp: NOW - 61 }, { exp: NOW - 3600 }, { exp: "soon" }, { exp: undefined }, { nbf: NOW + 30 }, { nbf: NOW + 90 },
  { nbf: "later" }, { sub: 42 }, { aud: ["svc", "x"] }, { aud: "other" }, { aud: ["other"] }, { aud: undefined }, { aud: 5 },
];

function tokenPool(): string[] {
  const out: string[] = [];
  for (const extra of CLAIM_SETS) {
    out.push(hs256(SECRETS.hsSecret, claims(ISS.hs, { aud: "svc", ...extra }), { kid: "hs-1" }));
    out.push(eddsa(ED, claims(ISS.ed, extra), { kid: "ed-1" }));
  }
  const good = hs256(SECRETS.hsSecret, claims(ISS.hs, { aud: "svc", groups: ["admin"] }), { kid: "hs-1" });
  const goodEd = eddsa(ED, claims(ISS.ed, { groups: ["admin"] }));
  out.push(
    goodEd,
    hs256(SECRETS.hsSecret, claims(ISS.hs, { aud: "svc", groups: ["admin"] })), // no kid
    hs256(SECRETS.otherSecret, claims(ISS.hs, { aud: "svc" }), { kid: "hs-1" }), // wrong secret
    eddsa(ED_OTHER, claims(ISS.ed, { groups: ["admin"] }), { kid: "ed-1" }), // wrong key
    eddsa(ED, claims(ISS.ed, {}), { kid: "nowhere" }), // kid pointing nowhere
    eddsa(ED, claims(ISS.hs, { aud: "svc" }), { kid: "hs-1" }), // EdDSA under an HS256 kid
    hs256(Buffer.from(ED.x, "base64url"), claims(ISS.ed, { groups: ["admin"] }), { kid: "ed-1" }), // alg confusion
    hs256(Buffer.from(ED.x, "base64url"), claims(ISS.ed, { groups: ["admin"] })), // alg confusion, no kid
    `${signingInput({ alg: "none" }, claims(ISS.hs, { aud: "svc" }))}.`,
    `${signingInput({ alg: "none" }, claims(ISS.hs, { aud: "svc" }))}.${b64u("x")}`,
    rawToken(b64u(JSON.stringify({ alg: "RS256", kid: "hs-1" })), b64u(JSON.stringify(claims(ISS.hs, { aud: "svc" }))), b64u("sig")),
    tamperSignature(good), tamperSignature(goodEd),
    tamperPayload(good, claims(ISS.hs, { aud: "svc", groups: ["admin", "root"] })),
    tamperPayload(goodEd, claims(ISS.ed, { groups: ["admin"], exp: NOW + 99999 })),
    hs256(SECRETS.hsSecret, claims("https://stranger.example", {}), { kid: "hs-1" }),
    hs256(SECRETS.otherSecret, claims(ISS.mesh, {})), // the jwt_authn provider's issuer
    hs256(SECRETS.hsSecret, claims(ISS.hs, { aud: "svc" }), { kid: "hs-1", crit: ["exp"] }),
    hs256(SECRETS.hsSecret, claims(ISS.hs, { aud: "svc" }), { kid: 7 }),
    hs256(SECRETS.hsSecret, claims(ISS.hs, { aud: "svc" }), { alg: 7 }),
    good.split(".").slice(0, 2).join("."), good + ".x", good.replace(/\./g, ".."), `${good}=`, good.slice(0, -3),
    rawToken("e30", b64u("[1,2]"), b64u("s")), rawToken("bm90IGpzb24", "e30", "c2ln"), "not-a-token", "a.b.c",
    `${b64u("\ufeff{\"alg\":\"HS256\"}")}.${b64u(JSON.stringify(claims(ISS.hs, {})))}.${b64u("s")}`,
  );
  // A token past max_token_bytes, and one well-formed but long.
  out.push(hs256(SECRETS.hsSecret, claims(ISS.hs, { aud: "svc", pad: "p".repeat(9000) }), { kid: "hs-1" }));
  out.push(hs256(SECRETS.hsSecret, claims(ISS.hs, { aud: "svc", groups: ["admin"], pad: "p".repeat(2000) }), { kid: "hs-1" }));
  // HS256 signed over a different signing input (a prefix of the real one).
  const input = signingInput({ alg: "HS256", kid: "hs-1" }, claims(ISS.hs, { aud: "svc" }));
  out.push(`${input}.${b64u(createHmac("sha256", SECRETS.hsSecret).update(input.slice(0, -1)).digest())}`);
  return out;
}

const TOKENS = tokenPool();
const SCHEMES = ["Bearer ", "bearer ", "BEARER\t", "Bearer  ", "Basic ", "", "Bearer"];
const NASTY = ["", "x", "a\r\nb", "a\u0000b", "\u00e9\u00e8", "x".repeat(1025), " spaced ", "\ud800"];

const pick = <T>(items: readonly T[]) => fc.constantFrom(...items);
const maybe = <T>(arb: fc.Arbitrary<T>, freq = 2) => fc.option(arb, { freq, nil: undefined });

const apiKey = fc.oneof(pick([SECRETS.apiKeys.ci, SECRETS.apiKeys.ops, SECRETS.apiKeys.ci.toUpperCase(), `${SECRETS.apiKeys.ci} `]), pick(NASTY), fc.string({ maxLength: 30 }));
const usernames = fc.oneof(pick(["alice", "bob", "carol", "Alice", "alice\u0000"]), pick(NASTY));
const passwords = fc.oneof(pick([SECRETS.passwords.alice, SECRETS.passwords.bob, "guess"]), pick(NASTY));
/** Mostly none or one valid credential; sometimes hostile, repeated or lone ones. */
const apiKeys = fc.oneof(
  { weight: 4, arbitrary: fc.constant([] as string[]) },
  { weight: 4, arbitrary: pick([SECRETS.apiKeys.ci, SECRETS.apiKeys.ops]).map((k) => [k]) },
  { weight: 1, arbitrary: fc.array(apiKey, { minLength: 1, maxLength: 2 }) },
);
const credentialsPairs = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ users: [] as string[], passwords: [] as string[] }) },
  { weight: 3, arbitrary: pick(["alice", "bob"] as const).map((u) => ({ users: [u as string], passwords: [SECRETS.passwords[u]] })) },
  { weight: 1, arbitrary: fc.record({ users: fc.array(usernames, { maxLength: 2 }), passwords: fc.array(passwords, { maxLength: 2 }) }) },
);
const token = fc.tuple(pick(SCHEMES), fc.oneof({ weight: 5, arbitrary: pick(TOKENS) }, { weight: 1, arbitrary: fc.string({ maxLength: 40 }) }), pick(["", " ", "\t"]))
  .map(([s, t, tail]) => `${s}${t}${tail}`);

const peer = pick([
  undefined, "", "spiffe://cluster.local/ns/prod/sa/worker", "spiffe://cluster.local/ns/prod/sa/api", "spiffe://cluster.local/ns/dev/sa/worker",
  "spiffe://other.domain/ns/prod/sa/worker", "spiffe://cluster.local/ns/prod/sa/worker/extra", "https://example.com/ns/prod/sa/x",
  "spiffe://cluster.local/ns//sa/worker",
]);
const source = pick([
  "10.20.30.40:5000", "10.0.0.0:1", "11.0.0.1:5000", "127.0.0.1:40000", "[2001:db8::1]:5000", "[2001:db9::1]:5000",
  "[::ffff:10.0.0.1]:5000", "[::1]:7", "9.255.255.255:1", "10.255.255.255:65535",
]);
const meshPayload = pick([
  { iss: ISS.mesh, sub: "svc-a", scope: "store.read" },
  { iss: ISS.mesh, sub: "svc-b", realm: { roles: ["auditor", "writer"] }, groups: ["admin"] },
  { iss: ISS.mesh, scope: ["store.read", "x"] },
  { iss: "https://x.example", scope: "store.read" },
  { iss: ISS.hs, sub: "forged", groups: ["admin"] },
  { sub: "no-iss" },
]);

/** A request against the fixture policy; header order and duplicates are part of it. */
export const authCall: fc.Arbitrary<AuthCall> = fc
  .record({
    path: fc.oneof({ weight: 6, arbitrary: pick(PATHS) }, { weight: 1, arbitrary: fc.string({ maxLength: 24 }).map((s) => `/${s}`) }),
    apiKeys,
    pairs: credentialsPairs,
    tokens: fc.oneof(
      { weight: 4, arbitrary: fc.constant([] as string[]) },
      { weight: 3, arbitrary: token.map((t) => [t]) },
      { weight: 1, arbitrary: fc.array(token, { minLength: 2, maxLength: 2 }) },
    ),
    env: fc.array(pick(["prod", "dev", "prod,dev", ""]), { maxLength: 2 }),
    debug: fc.boolean(),
    peer,
    source,
    jwtAuthn: maybe(meshPayload),
    contentType: pick([undefined, "application/grpc", "application/grpc+proto", "application/json", null]),
    skew: pick([0, 30, 61, -30, -3600, 700]),
  })
  .map((r) => {
    const metadata: Array<[string, string]> = [];
    for (const k of r.apiKeys) metadata.push(["x-api-key", k]);
    for (const u of r.pairs.users) metadata.push(["username", u]);
    for (const p of r.pairs.passwords) metadata.push(["password", p]);
    for (const t of r.tokens) metadata.push(["authorization", t]);
    for (const e of r.env) metadata.push(["x-env", e]);
    if (r.debug) metadata.push(["x-debug", "1"]);
    const call: AuthCall = { path: r.path, metadata, source: r.source, nowSeconds: NOW + r.skew };
    if (r.peer !== undefined) call.peer = r.peer;
    if (r.jwtAuthn !== undefined) call.jwtAuthn = { payload: r.jwtAuthn };
    if (r.contentType !== undefined) call.contentType = r.contentType;
    return call;
  });
