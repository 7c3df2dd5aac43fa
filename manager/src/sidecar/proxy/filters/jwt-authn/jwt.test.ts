/**
 * JWT parsing and JWKS verification against jwt_verify's rules: one token per status, the
 * time window with clock skew, key checks per key type, signature verification with every
 * supported algorithm (tokens signed by jose, an independent implementation), kid / alg
 * selection, and property tests: 100,000 hostile tokens and 100,000 hostile key sets never
 * make the parsers throw.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import fc from "fast-check";
import { exportJWK, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { parseJwt, verifyTimeConstraint, type Jwt } from "./jwt.ts";
import { parseJwks, verifyJwtSignature } from "./jwks.ts";
import { Status, statusString } from "./status.ts";

const b64 = (v: unknown) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");
const token = (header: unknown, payload: unknown, sig = "c2ln") => `${b64(header)}.${b64(payload)}.${sig}`;
const H = { alg: "RS256" };

describe("parseJwt", () => {
  const cases: Array<[string, string, Status]> = [
    ["two sections", "a.b", Status.JwtBadFormat],
    ["an empty section", `${b64(H)}..c2ln`, Status.JwtBadFormat],
    ["four sections", `${token(H, {})}.x`, Status.JwtBadFormat],
    ["a header that is not base64url", `a*b.${b64({})}.c2ln`, Status.JwtHeaderParseErrorBadBase64],
    ["a header that is not JSON", `${b64("{x")}.${b64({})}.c2ln`, Status.JwtHeaderParseErrorBadJson],
    ["a header that is a list", token([1], {}), Status.JwtHeaderParseErrorBadJson],
    ["no alg", token({ typ: "JWT" }, {}), Status.JwtHeaderBadAlg],
    ["a numeric alg", token({ alg: 1 }, {}), Status.JwtHeaderBadAlg],
    ["alg none", token({ alg: "none" }, {}), Status.JwtHeaderNotImplementedAlg],
    ["a numeric kid", token({ alg: "ES256", kid: 7 }, {}), Status.JwtHeaderBadKid],
    ["a payload that is not base64url", `${b64(H)}.%%%.c2ln`, Status.JwtPayloadParseErrorBadBase64],
    ["a payload that is not an object", token(H, "\"x\""), Status.JwtPayloadParseErrorBadJson],
    ["a payload that is not UTF-8", `${b64(H)}.${Buffer.from([0x7b, 0xff, 0x7d]).toString("base64url")}.c2ln`, Status.JwtPayloadParseErrorBadJson],
    ["a numeric iss", token(H, { iss: 1 }), Status.JwtPayloadParseErrorIssNotString],
    ["a numeric sub", token(H, { sub: 1 }), Status.JwtPayloadParseErrorSubNotString],
    ["a string iat", token(H, { iat: "1" }), Status.JwtPayloadParseErrorIatNotInteger],
    ["a negative iat", token(H, { iat: -1 }), Status.JwtPayloadParseErrorIatOutOfRange],
    ["an nbf past 2^64", token(H, { nbf: 1e20 }), Status.JwtPayloadParseErrorNbfOutOfRange],
    ["a boolean exp", token(H, { exp: true }), Status.JwtPayloadParseErrorExpNotInteger],
    ["a numeric jti", token(H, { jti: 5 }), Status.JwtPayloadParseErrorJtiNotString],
    ["an aud with a number", token(H, { aud: ["a", 1] }), Status.JwtPayloadParseErrorAudNotString],
    ["a signature that is not base64url", `${b64(H)}.${b64({})}.s!g`, Status.JwtSignatureParseErrorBadBase64],
  ];
  it.each(cases)("%s", (_name, t, status) => {
    expect(parseJwt(t)).toBe(status);
    expect(statusString(status)).not.toBe("");
  });

  it("reads the claims (a trailing dot is ignored, aud as a string or a list, exp truncated)", () => {
    const jwt = parseJwt(`${token({ alg: "ES256", kid: "k" }, { iss: "i", sub: "s", aud: "a", exp: 10.9, nbf: 2, iat: 1 })}.`) as Jwt;
    expect(jwt).toMatchObject({ alg: "ES256", kid: "k", iss: "i", sub: "s", audiences: ["a"], exp: 10, nbf: 2, iat: 1 });
    expect((parseJwt(token(H, { aud: ["x", "y"] })) as Jwt).audiences).toEqual(["x", "y"]);
  });

  it("checks nbf and exp with the clock skew", () => {
    const jwt = parseJwt(token(H, { nbf: 1000, exp: 2000 })) as Jwt;
    expect(verifyTimeConstraint(jwt, 900, 60)).toBe(Status.JwtNotYetValid);
    expect(verifyTimeConstraint(jwt, 940, 60)).toBe(Status.Ok);
    expect(verifyTimeConstraint(jwt, 2060, 60)).toBe(Status.Ok);
    expect(verifyTimeConstraint(jwt, 2061, 60)).toBe(Status.JwtExpired);
    expect(verifyTimeConstraint(parseJwt(token(H, {})) as Jwt, 1e12, 60)).toBe(Status.Ok);
  });

  it("never throws on 100,000 hostile tokens", () => {
    const section = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.jsonValue().map((v) => b64(JSON.stringify(v) ?? "null")),
      fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString("base64url")),
    );
    fc.assert(
      fc.property(fc.array(section, { minLength: 0, maxLength: 5 }), fc.constantFrom(".", "..", "."), (parts, sep) => {
        const r = parseJwt(parts.join(sep));
        expect(typeof r === "number" || typeof r.alg === "string").toBe(true);
      }),
      { numRuns: 100_000 },
    );
  });
});

describe("JWKS", () => {
  it("reports a set without usable keys by its first failure", () => {
    expect(parseJwks("{").status).toBe(Status.JwksParseError);
    expect(parseJwks("[]").status).toBe(Status.JwksParseError);
    expect(parseJwks("{}").status).toBe(Status.JwksNoKeys);
    expect(parseJwks('{"keys":{}}').status).toBe(Status.JwksBadKeys);
    expect(parseJwks('{"keys":[]}').status).toBe(Status.JwksNoValidKeys);
    expect(parseJwks('{"keys":[{"n":"AQAB"}]}').status).toBe(Status.JwksMissingKty);
    expect(parseJwks('{"keys":[{"kty":"RSA","n":"AQAB","e":"BQ"}]}').status).toBe(Status.JwksRsaParseError);
    expect(parseJwks('{"keys":[{"kty":"RSA","alg":"ES256","n":"AQAB","e":"AQAB"}]}').status).toBe(Status.JwksRSAKeyBadAlg);
    expect(parseJwks('{"keys":[{"kty":"EC","alg":"ES256","crv":"P-384","x":"AA","y":"AA"}]}').status).toBe(Status.JwksECKeyAlgNotCompatibleWithCrv);
    expect(parseJwks('{"keys":[{"kty":"EC","crv":"P-256","x":"AQ","y":"AQ"}]}').status).toBe(Status.JwksEcParseError);
    expect(parseJwks('{"keys":[{"kty":"oct"}]}').status).toBe(Status.JwksHMACKeyMissingK);
    expect(parseJwks('{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AQID"}]}').status).toBe(Status.JwksOKPXWrongLength);
    expect(parseJwks('{"keys":[{"kty":"OKP","crv":"X25519","x":"AQID"}]}').status).toBe(Status.JwksOKPKeyCrvUnsupported);
    expect(parseJwks('{"keys":[{"kty":"foo"}]}').status).toBe(Status.JwksNotImplementedKty);
  });

  it("keeps the valid keys of a set that also holds invalid ones", () => {
    const set = parseJwks(JSON.stringify({ keys: [{ kty: "RSA", n: "AQAB", e: "BQ" }, 7, { kty: "oct", k: "c2VjcmV0", kid: "h" }] }));
    expect(set.status).toBe(Status.Ok);
    expect(set.keys.map((k) => k.kid)).toEqual(["h"]);
  });

  it("verifies tokens of every algorithm, signed by jose, and selects keys by kid and alg", async () => {
    const pairs = {
      RS256: generateKeyPairSync("rsa", { modulusLength: 2048 }),
      PS384: generateKeyPairSync("rsa", { modulusLength: 2048 }),
      ES256: generateKeyPairSync("ec", { namedCurve: "P-256" }),
      ES384: generateKeyPairSync("ec", { namedCurve: "P-384" }),
      EdDSA: generateKeyPairSync("ed25519"),
    };
    const secret = randomBytes(32);
    const keys = [
      ...(await Promise.all(Object.entries(pairs).map(async ([alg, p]) => ({ ...(await exportJWK(p.publicKey)), kid: alg, alg })))),
      { kty: "oct", k: secret.toString("base64url"), kid: "HS256", alg: "HS256" },
    ];
    const jwks = parseJwks(JSON.stringify({ keys }));
    expect(jwks.keys).toHaveLength(6);
    const signed = async (alg: string, key: unknown, kid = alg) =>
      parseJwt(await new SignJWT({ sub: "s" }).setProtectedHeader({ alg, kid }).sign(key as Uint8Array)) as Jwt;
    for (const [alg, p] of Object.entries(pairs)) expect(verifyJwtSignature(await signed(alg, p.privateKey), jwks), alg).toBe(Status.Ok);
    expect(verifyJwtSignature(await signed("HS256", secret), jwks)).toBe(Status.Ok);
    // A kid no key has: no key to try. The right kid with another key's signature: fails.
    expect(verifyJwtSignature(await signed("ES256", pairs.ES256.privateKey, "nope"), jwks)).toBe(Status.JwksKidAlgMismatch);
    const other = generateKeyPairSync("ec", { namedCurve: "P-256" });
    expect(verifyJwtSignature(await signed("ES256", other.privateKey), jwks)).toBe(Status.JwtVerificationFail);
    // HS256 "signed" with an RSA public key against RSA keys without alg: never verified as HMAC.
    const rsaOnly = parseJwks(JSON.stringify({ keys: [{ ...(await exportJWK(pairs.RS256.publicKey)) }] }));
    const pem = pairs.RS256.publicKey.export({ type: "spki", format: "pem" });
    expect(verifyJwtSignature(await signed("HS256", Buffer.from(pem as string)), rsaOnly)).toBe(Status.JwtVerificationFail);
    // An Ed25519 signature of the wrong length fails at once.
    const ed = await signed("EdDSA", pairs.EdDSA.privateKey);
    expect(verifyJwtSignature({ ...ed, signature: ed.signature.subarray(1) }, jwks)).toBe(Status.JwtEd25519SignatureWrongLength);
  });

  it("never throws on 100,000 hostile key sets", () => {
    const field = fc.oneof(fc.string({ maxLength: 20 }), fc.uint8Array({ maxLength: 70 }).map((b) => Buffer.from(b).toString("base64url")), fc.integer(), fc.constant(null));
    const key = fc.record(
      {
        kty: fc.constantFrom("RSA", "EC", "oct", "OKP", "x", 1),
        alg: fc.constantFrom("RS256", "PS512", "ES256", "ES384", "ES512", "HS256", "EdDSA", "", 3),
        crv: fc.constantFrom("P-256", "P-384", "P-521", "Ed25519", "X25519", 2),
        kid: field,
        n: field,
        e: fc.constantFrom("AQAB", "Aw", "BQ", "", 9),
        x: field,
        y: field,
        k: field,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.array(key, { maxLength: 4 }).map((keys) => JSON.stringify({ keys })), fc.string({ maxLength: 60 })), (text) => {
        const set = parseJwks(text);
        expect(typeof set.status).toBe("number");
      }),
      { numRuns: 100_000 },
    );
  });
});
