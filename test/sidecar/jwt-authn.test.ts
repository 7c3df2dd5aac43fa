/**
 * envoy.filters.http.jwt_authn through the sidecar (issue 10 §4), end to end with
 * @grpc/grpc-js: a provider with local_jwks holding RS256, ES256 and EdDSA keys made by the
 * test, configured the way istiod generates it for a RequestAuthentication (payload_in_metadata
 * "payload", space_delimited_claims permission and scope, `requires_any {provider, allow_missing}`
 * on prefix "/"), tokens signed with jose; a Wasm filter after it echoes the verified claims
 * from dynamic metadata. Failures are checked as gRPC sees them (a trailers-only
 * UNAUTHENTICATED / PERMISSION_DENIED with the status message and www-authenticate) and as an
 * HTTP/1.1 client sees them (401 / 403, body, header), with the filter's counters.
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import * as http from "node:http";
import * as grpc from "@grpc/grpc-js";
import { exportJWK, SignJWT, type JWK } from "jose";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { echoClient, type EchoClient, type EchoReply } from "../support/grpc-echo.ts";
import { startHarness, type Harness } from "../support/sidecar-harness.ts";
import { wasmFilter } from "../support/envoy-config.ts";
import { echoedString, echoedValue, propertyEchoGuest } from "./tls-property-guest.ts";

const JWT_TYPE = "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication";
const ISSUER = "https://issuer.example";
const AUDIENCE = "echo.shop.svc";
const MD = ["metadata", "filter_metadata", "envoy.filters.http.jwt_authn"];

interface Signer {
  alg: "RS256" | "ES256" | "EdDSA";
  kid: string;
  privateKey: KeyObject;
  jwk: JWK;
}

let signers: Signer[];
let guest: Uint8Array;

beforeAll(async () => {
  const make = async (alg: Signer["alg"], kid: string, pair: { privateKey: KeyObject; publicKey: KeyObject }): Promise<Signer> => ({
    alg,
    kid,
    privateKey: pair.privateKey,
    jwk: { ...(await exportJWK(pair.publicKey)), kid, alg },
  });
  signers = [
    await make("RS256", "rsa-1", generateKeyPairSync("rsa", { modulusLength: 2048 })),
    await make("ES256", "ec-1", generateKeyPairSync("ec", { namedCurve: "P-256" })),
    await make("EdDSA", "ed-1", generateKeyPairSync("ed25519")),
  ];
  guest = await propertyEchoGuest([
    { header: "x-sub", path: [...MD, "payload", "sub"] },
    { header: "x-iss", path: [...MD, "payload", "iss"] },
    { header: "x-scope", path: [...MD, "payload", "scope"] },
    { header: "x-failed", path: [...MD, "failed", "message"] },
  ]).build();
}, 60_000);

function sign(s: Signer, claims: Record<string, unknown> = {}, opts: { expiresIn?: number; issuer?: string; audience?: string } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: "alice", scope: "read write", ...claims })
    .setProtectedHeader({ alg: s.alg, kid: s.kid })
    .setIssuer(opts.issuer ?? ISSUER)
    .setAudience(opts.audience ?? AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + (opts.expiresIn ?? 600))
    .sign(s.privateKey);
}

function provider(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    issuer: ISSUER,
    audiences: [AUDIENCE],
    local_jwks: { inline_string: JSON.stringify({ keys: signers.map((s) => s.jwk) }) },
    payload_in_metadata: "payload",
    failed_status_in_metadata: "failed",
    normalize_payload_in_metadata: { space_delimited_claims: ["permission", "scope"] },
    ...extra,
  };
}

/** The filter as istiod generates it for one RequestAuthentication rule. */
function istioRequirement(): Record<string, unknown> {
  return { requires_any: { requirements: [{ provider_name: "origins-0" }, { allow_missing: {} }] } };
}

let h: Harness | undefined;
const clients: grpc.Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await h?.stop();
  h = undefined;
});

async function start(jwt: Record<string, unknown>): Promise<Harness> {
  return startHarness({
    files: { "echo.wasm": guest },
    config: () => ({
      httpFilters: [
        { name: "envoy.filters.http.jwt_authn", typed_config: { "@type": JWT_TYPE, ...jwt } },
        wasmFilter({ name: "claims", filename: "echo.wasm" }),
      ],
      routes: [
        { match: { prefix: "/plain" }, direct_response: { status: 200, body: { inline_string: "plain ok" } } },
        { match: { prefix: "/" }, route: { cluster: "backend" } },
      ],
    }),
  });
}

function client(): EchoClient {
  const c = echoClient(h!.port);
  clients.push(c);
  return c;
}

type Outcome = { ok: true; reply: EchoReply; headers: Record<string, string> } | { ok: false; err: grpc.ServiceError };

function call(token?: string, headerName = "authorization", scheme = "Bearer "): Promise<Outcome> {
  const md = new grpc.Metadata();
  if (token !== undefined) md.set(headerName, `${scheme}${token}`);
  return new Promise((resolve) => {
    let headers: Record<string, string> = {};
    const c = client().Unary({ message: "hi" }, md, { deadline: Date.now() + 10_000 }, (err, reply) =>
      resolve(err ? { ok: false, err } : { ok: true, reply: reply!, headers }),
    );
    c.on("metadata", (m: grpc.Metadata) => {
      headers = Object.fromEntries(Object.entries(m.getMap()).map(([k, v]) => [k, String(v)]));
    });
  });
}

const stat = (name: string) => h!.counter(`http.ingress_http.jwt_authn.${name}`);

/** A proxy-wasm list property (pairs with empty values) as strings. */
function pairsList(bytes: Buffer): string[] {
  const n = bytes.readUInt32LE(0);
  const lens = Array.from({ length: n }, (_, i) => bytes.readUInt32LE(4 + i * 8));
  const out: string[] = [];
  let at = 4 + n * 8;
  for (const len of lens) {
    out.push(bytes.subarray(at, at + len).toString());
    at += len + 2;
  }
  return out;
}

async function expectDenied(token: string | undefined, code: grpc.status, message: string, invalidToken = true): Promise<void> {
  const r = await call(token);
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.err.code).toBe(code);
  expect(r.err.details).toBe(message);
  const challenge = `Bearer realm="http://127.0.0.1:${h!.port}/meshtest.Echo/Unary"${invalidToken ? ', error="invalid_token"' : ""}`;
  expect(r.err.metadata.get("www-authenticate")).toEqual([challenge]);
}

describe("jwt_authn as istiod configures it for RequestAuthentication", () => {
  it("accepts RS256, ES256 and EdDSA tokens, removes the token, and hands the claims to the Wasm filter", async () => {
    h = await start({ providers: { "origins-0": provider() }, rules: [{ match: { prefix: "/" }, requires: istioRequirement() }], bypass_cors_preflight: true });
    for (const s of signers) {
      const r = await call(await sign(s, { sub: `user-${s.alg}` }));
      expect(r.ok, s.alg).toBe(true);
      if (!r.ok) continue;
      expect(echoedString(r.headers["x-sub"])).toBe(`user-${s.alg}`);
      expect(echoedString(r.headers["x-iss"])).toBe(ISSUER);
      // space_delimited_claims: "read write" reaches the metadata as a list.
      expect(pairsList(echoedValue(r.headers["x-scope"]).bytes!)).toEqual(["read", "write"]);
      expect(r.reply.headers.authorization).toBeUndefined(); // forward: false
    }
    expect(stat("allowed")).toBe(3n);
    expect(stat("denied")).toBe(0n);
    expect(stat("jwt_cache_miss")).toBe(3n);
  });

  it("lets a request without a token through (allow_missing), with no claims", async () => {
    h = await start({ providers: { "origins-0": provider() }, rules: [{ match: { prefix: "/" }, requires: istioRequirement() }] });
    const r = await call();
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(echoedValue(r.headers["x-sub"]).status).toBe(1);
      // failed_status_in_metadata records the provider's JwtMissed even though the request passes.
      expect(echoedString(r.headers["x-failed"])).toBe("Jwt is missing");
    }
    expect(stat("allowed")).toBe(1n);
  });

  it("rejects an expired token with UNAUTHENTICATED and Envoy's message and challenge", async () => {
    h = await start({ providers: { "origins-0": provider() }, rules: [{ match: { prefix: "/" }, requires: istioRequirement() }] });
    await expectDenied(await sign(signers[0]!, {}, { expiresIn: -120 }), grpc.status.UNAUTHENTICATED, "Jwt is expired");
    expect(stat("denied")).toBe(1n);
    expect(stat("allowed")).toBe(0n);
  });

  it("rejects a wrong issuer, a wrong audience (403: PERMISSION_DENIED), a tampered signature and alg none", async () => {
    h = await start({ providers: { "origins-0": provider() }, rules: [{ match: { prefix: "/" }, requires: istioRequirement() }] });
    await expectDenied(await sign(signers[1]!, {}, { issuer: "https://evil.example" }), grpc.status.UNAUTHENTICATED, "Jwt issuer is not configured");
    await expectDenied(await sign(signers[2]!, {}, { audience: "other.svc" }), grpc.status.PERMISSION_DENIED, "Audiences in Jwt are not allowed");
    const good = await sign(signers[0]!);
    const [head, body] = good.split(".");
    const forged = Buffer.from(JSON.stringify({ sub: "mallory", iss: ISSUER, aud: AUDIENCE })).toString("base64url");
    await expectDenied(`${head}.${forged}.${good.split(".")[2]}`, grpc.status.UNAUTHENTICATED, "Jwt verification fails");
    const none = Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url");
    await expectDenied(`${none}.${body}.sig`, grpc.status.UNAUTHENTICATED, "Jwt header [alg] is not supported");
    await expectDenied("not-a-jwt", grpc.status.UNAUTHENTICATED, "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections");
    expect(stat("denied")).toBe(5n);
  });
});

describe("jwt_authn requirements and options", () => {
  it("a required provider refuses a missing token (no error= in the challenge)", async () => {
    h = await start({ providers: { p: provider() }, rules: [{ match: { prefix: "/" }, requires: { provider_name: "p" } }] });
    await expectDenied(undefined, grpc.status.UNAUTHENTICATED, "Jwt is missing", false);
  });

  it("forward: true keeps the token for the backend; from_headers reads another header", async () => {
    h = await start({
      providers: { p: provider({ forward: true, from_headers: [{ name: "x-jwt", value_prefix: "Token " }] }) },
      rules: [{ match: { prefix: "/" }, requires: { provider_name: "p" } }],
    });
    const token = await sign(signers[1]!);
    const r = await call(token, "x-jwt", "Token ");
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.reply.headers["x-jwt"]).toBe(`Token ${token}`);
    // The Authorization header is not this provider's location: the token is missing there.
    const other = await call(token);
    expect(other.ok).toBe(false);
  });

  it("rules match by prefix, the first rule wins, and a rule without requires verifies nothing", async () => {
    h = await start({
      providers: { p: provider() },
      rules: [{ match: { prefix: "/meshtest.Echo/Unary" } }, { match: { prefix: "/" }, requires: { provider_name: "p" } }],
    });
    expect((await call()).ok).toBe(true);
    expect(stat("allowed")).toBe(1n);
  });

  it("answers an HTTP/1.1 request with 401, the message and the challenge", async () => {
    h = await start({ providers: { p: provider() }, rules: [{ match: { prefix: "/" }, requires: { provider_name: "p" } }] });
    const expired = await sign(signers[0]!, {}, { expiresIn: -3600 });
    const res = await new Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
      const req = http.get({ host: "127.0.0.1", port: h!.port, path: "/plain?x=1", headers: { authorization: `Bearer ${expired}`, host: "shop.example" } }, (r) => {
        let body = "";
        r.on("data", (d) => (body += d));
        r.on("end", () => resolve({ status: r.statusCode!, body, headers: r.headers }));
      });
      req.on("error", reject);
    });
    expect(res.status).toBe(401);
    expect(res.body).toBe("Jwt is expired");
    expect(res.headers["www-authenticate"]).toBe('Bearer realm="http://shop.example/plain?x=1", error="invalid_token"');
  });

  it("bypasses CORS preflights when asked", async () => {
    h = await start({ providers: { p: provider() }, rules: [{ match: { prefix: "/" }, requires: { provider_name: "p" } }], bypass_cors_preflight: true });
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        { host: "127.0.0.1", port: h!.port, path: "/plain", method: "OPTIONS", headers: { origin: "https://a.example", "access-control-request-method": "POST" } },
        (r) => {
          r.resume();
          resolve(r.statusCode!);
        },
      );
      req.on("error", reject);
      req.end();
    });
    expect(status).toBe(200);
    expect(stat("cors_preflight_bypassed")).toBe(1n);
  });
});
