/**
 * Requirement trees and token handling as Envoy's jwt_authn verifiers and authenticator
 * behave: requires_all / requires_any aggregation (which failure wins), allow_missing and
 * allow_missing_or_failed alone and inside requires_any, issuer-bound token locations, several
 * tokens in one request, istiod's multi-provider requirement, and what a good token leaves
 * behind (claim_to_headers with sanitizing, forward_payload_header, removal, metadata,
 * failed_status_in_metadata). Tokens are HS256, signed by jose.
 */
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import type { JwtProviderConfig, JwtRequirementConfig } from "../../../config/model.ts";
import { HeaderMap } from "../../../http/header-map.ts";
import { AudienceChecker, type ProviderRuntime, type VerifyContext } from "./authenticator.ts";
import { parseJwks } from "./jwks.ts";
import { Status } from "./status.ts";
import { createVerifier } from "./verifier.ts";

const NOW = 1_800_000_000;
const secrets = { A: new TextEncoder().encode("secret-of-provider-a-0123456789"), B: new TextEncoder().encode("secret-of-provider-b-0123456789") };

function providerConfig(name: "A" | "B", extra: Partial<JwtProviderConfig> = {}): JwtProviderConfig {
  return {
    issuer: `https://${name.toLowerCase()}.example`,
    audiences: [],
    localJwks: JSON.stringify({ keys: [{ kty: "oct", kid: name, alg: "HS256", k: Buffer.from(secrets[name]).toString("base64url") }] }),
    forward: false,
    fromHeaders: [],
    fromParams: [],
    fromCookies: [],
    forwardPayloadHeader: "",
    padForwardPayloadHeader: false,
    payloadInMetadata: "",
    headerInMetadata: "",
    failedStatusInMetadata: "",
    spaceDelimitedClaims: [],
    clockSkewSeconds: 0,
    claimToHeaders: [],
    clearRouteCache: false,
    ...extra,
  };
}

function providers(configs: Record<string, JwtProviderConfig>): Map<string, ProviderRuntime> {
  return new Map(
    Object.entries(configs).map(([name, config]) => [name, { name, config, jwks: parseJwks(config.localJwks), audiences: new AudienceChecker(config.audiences) }]),
  );
}

function sign(name: "A" | "B", claims: Record<string, unknown> = {}, exp = NOW + 600): Promise<string> {
  return new SignJWT({ sub: `user-of-${name}`, ...claims })
    .setProtectedHeader({ alg: "HS256", kid: name })
    .setIssuer(`https://${name.toLowerCase()}.example`)
    .setExpirationTime(exp)
    .sign(secrets[name]);
}

function run(req: JwtRequirementConfig, ps: Map<string, ProviderRuntime>, headers: HeaderMap): { status: Status; ctx: VerifyContext } {
  const ctx: VerifyContext = { headers, extracted: {}, clearRouteCache: false, nowSeconds: NOW, onCacheMiss: () => {} };
  return { status: createVerifier(req, ps).verify(ctx), ctx };
}

const req = (path: string, extra: Array<[string, string]> = []) => new HeaderMap([[":method", "POST"], [":path", path], ...extra]);
const bearer = (t: string): [string, string] => ["authorization", `Bearer ${t}`];
const A: JwtRequirementConfig = { kind: "provider", providerName: "A" };
const B: JwtRequirementConfig = { kind: "provider", providerName: "B" };

describe("requirement trees", () => {
  const ps = providers({ A: providerConfig("A"), B: providerConfig("B", { fromHeaders: [{ name: "x-b", valuePrefix: "" }] }) });

  it("requires_all: every provider must find and verify its token", async () => {
    const all: JwtRequirementConfig = { kind: "requires_all", requirements: [A, B] };
    expect(run(all, ps, req("/", [bearer(await sign("A"))])).status).toBe(Status.JwtMissed);
    expect(run(all, ps, req("/", [bearer(await sign("A")), ["x-b", await sign("B")]])).status).toBe(Status.Ok);
  });

  it("requires_any: the first passing child wins; otherwise a real failure beats unknown issuer beats missing", async () => {
    const psSameLocation = providers({ A: providerConfig("A"), B: providerConfig("B") });
    const any: JwtRequirementConfig = { kind: "requires_any", requirements: [A, B] };
    // B's token in the shared Authorization header: A rejects its issuer, B accepts it.
    expect(run(any, psSameLocation, req("/", [bearer(await sign("B"))])).status).toBe(Status.Ok);
    // An expired A token: A says expired, B says unknown issuer: expired wins.
    expect(run(any, psSameLocation, req("/", [bearer(await sign("A", {}, NOW - 3600))])).status).toBe(Status.JwtExpired);
    // A token of a third issuer: unknown issuer beats nothing found.
    const other = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setIssuer("https://c.example").sign(secrets.A);
    expect(run(any, psSameLocation, req("/", [bearer(other)])).status).toBe(Status.JwtUnknownIssuer);
    expect(run(any, psSameLocation, req("/")).status).toBe(Status.JwtMissed);
  });

  it("allow_missing inside requires_any turns only a missing token into a pass", async () => {
    const optional: JwtRequirementConfig = { kind: "requires_any", requirements: [A, { kind: "allow_missing" }] };
    expect(run(optional, ps, req("/")).status).toBe(Status.Ok);
    expect(run(optional, ps, req("/", [bearer(await sign("A", {}, NOW - 3600))])).status).toBe(Status.JwtExpired);
    const lenient: JwtRequirementConfig = { kind: "requires_any", requirements: [A, { kind: "allow_missing_or_failed" }] };
    expect(run(lenient, ps, req("/", [bearer(await sign("A", {}, NOW - 3600))])).status).toBe(Status.Ok);
  });

  it("allow_missing alone: any provider's issuer, a missing token passes, an unknown issuer fails", async () => {
    const r: JwtRequirementConfig = { kind: "allow_missing" };
    expect(run(r, ps, req("/")).status).toBe(Status.Ok);
    expect(run(r, ps, req("/", [["x-b", await sign("B")]])).status).toBe(Status.Ok);
    const other = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setIssuer("https://c.example").sign(secrets.A);
    expect(run(r, ps, req("/", [bearer(other)])).status).toBe(Status.JwtUnknownIssuer);
    expect(run({ kind: "allow_missing_or_failed" }, ps, req("/", [bearer(other)])).status).toBe(Status.Ok);
  });

  it("istiod's requirement for two providers passes without a token and checks any token given", async () => {
    const optional = (p: JwtRequirementConfig): JwtRequirementConfig => ({ kind: "requires_any", requirements: [p, { kind: "allow_missing" }] });
    const istio: JwtRequirementConfig = { kind: "requires_any", requirements: [A, B, { kind: "requires_all", requirements: [optional(A), optional(B)] }] };
    expect(run(istio, ps, req("/")).status).toBe(Status.Ok);
    expect(run(istio, ps, req("/", [["x-b", await sign("B")]])).status).toBe(Status.Ok);
    expect(run(istio, ps, req("/", [["x-b", await sign("B", {}, NOW - 3600)]])).status).toBe(Status.JwtExpired);
  });

  it("every token a provider finds must verify (header and query parameter)", async () => {
    const good = await sign("A");
    const bad = await sign("A", {}, NOW - 3600);
    expect(run(A, ps, req(`/x?access_token=${good}`, [bearer(good)])).status).toBe(Status.Ok);
    expect(run(A, ps, req(`/x?access_token=${bad}`, [bearer(good)])).status).toBe(Status.JwtExpired);
  });
});

describe("what a verified token leaves behind", () => {
  it("copies claims to headers after removing spoofed ones, forwards the payload, removes the token, records metadata", async () => {
    const ps = providers({
      A: providerConfig("A", {
        claimToHeaders: [
          { headerName: "x-sub", claimName: "sub" },
          { headerName: "x-tier", claimName: "org.tier" },
          { headerName: "x-n", claimName: "n" },
          { headerName: "x-admin", claimName: "admin" },
          { headerName: "x-roles", claimName: "roles" },
        ],
        forwardPayloadHeader: "x-payload",
        padForwardPayloadHeader: true,
        payloadInMetadata: "payload",
        headerInMetadata: "header",
        spaceDelimitedClaims: ["scope"],
        clearRouteCache: true,
      }),
    });
    const token = await sign("A", { org: { tier: "gold" }, n: 42, admin: true, roles: ["a", "b"], scope: " read  write " });
    const headers = req("/", [bearer(token), ["x-sub", "spoofed"], ["x-payload", "spoofed"]]);
    const { status, ctx } = run(A, ps, headers);
    expect(status).toBe(Status.Ok);
    expect(headers.getAll("x-sub")).toEqual(["user-of-A"]);
    expect(headers.get("x-tier")).toBe("gold");
    expect(headers.get("x-n")).toBe("42");
    expect(headers.get("x-admin")).toBe("true");
    expect(Buffer.from(headers.get("x-roles")!, "base64").toString()).toBe('["a","b"]');
    const payload64 = token.split(".")[1]!;
    expect(headers.getAll("x-payload")).toEqual([payload64.padEnd(Math.ceil(payload64.length / 4) * 4, "=")]);
    expect(headers.get("authorization")).toBeUndefined();
    expect(ctx.extracted.payload).toMatchObject({ sub: "user-of-A", scope: ["read", "write"], n: 42 });
    expect(ctx.extracted.header).toEqual({ alg: "HS256", kid: "A" });
    expect(ctx.clearRouteCache).toBe(true);
  });

  it("records the failure in failed_status_in_metadata", async () => {
    const ps = providers({ A: providerConfig("A", { failedStatusInMetadata: "failed" }) });
    const { status, ctx } = run(A, ps, req("/", [bearer(await sign("A", {}, NOW - 3600))]));
    expect(status).toBe(Status.JwtExpired);
    expect(ctx.extracted.failed).toEqual({ code: 3, message: "Jwt is expired" });
  });
});
