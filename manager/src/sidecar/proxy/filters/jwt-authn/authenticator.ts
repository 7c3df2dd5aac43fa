/**
 * Verifies the JWTs one requirement extracted, as Envoy's jwt_authn Authenticator does
 * (authenticator.cc), synchronously (the keys are local):
 * - no token: JwtMissed; otherwise the tokens are taken last first; each is parsed, its `iss`
 *   must be allowed at the location it came from (JwtUnknownIssuer), its provider is the
 *   requirement's, or for allow_missing / allow_missing_or_failed the first provider with that
 *   issuer (then one with no issuer); time is checked with the provider's clock skew (60 s by
 *   default), then the audiences (the requirement's override or the provider's; "http://",
 *   "https://" and a trailing "/" ignored on both sides), then the signature;
 * - a good token: forward_payload_header gets the payload's base64url (padded if asked),
 *   claim_to_headers copy string / number / bool claims (objects and lists as base64 JSON),
 *   the token's header is removed unless `forward`, and header_in_metadata / payload_in_metadata
 *   (space_delimited_claims split into lists) are recorded for dynamic metadata;
 * - a failure records failed_status_in_metadata ({code, message}) when configured;
 * - every token must verify, except that allow_missing / allow_missing_or_failed go through
 *   all tokens; the result is then OK for allow_missing_or_failed, OK for allow_missing when
 *   the last status is JwtMissed, else the last status.
 * The JWT cache is not configurable here, so every provider-bound token counts a
 * `jwt_cache_miss`, as in Envoy without jwt_cache_config.
 */
import type { JwtProviderConfig } from "../../../config/model.ts";
import type { HeaderMap } from "../../../http/header-map.ts";
import type { JwtLocation } from "./extractor.ts";
import { claimValue, parseJwt, verifyTimeConstraint, type JsonObject, type Jwt } from "./jwt.ts";
import { verifyJwtSignature, type Jwks } from "./jwks.ts";
import { Status, statusString } from "./status.ts";

export interface ProviderRuntime {
  name: string;
  config: JwtProviderConfig;
  jwks: Jwks;
  audiences: AudienceChecker;
}

/** What a verification leaves behind for the filter. */
export interface VerifyContext {
  headers: HeaderMap;
  /** Dynamic metadata entries under envoy.filters.http.jwt_authn, by name. */
  extracted: Record<string, unknown>;
  clearRouteCache: boolean;
  nowSeconds: number;
  onCacheMiss(): void;
}

/** jwt_verify's CheckAudience. */
export class AudienceChecker {
  private readonly allowed: Set<string>;
  constructor(audiences: readonly string[]) {
    this.allowed = new Set(audiences.map(sanitizeAudience));
  }
  allows(jwtAudiences: readonly string[]): boolean {
    return this.allowed.size === 0 || jwtAudiences.some((a) => this.allowed.has(sanitizeAudience(a)));
  }
}

function sanitizeAudience(aud: string): string {
  if (aud === "") return aud;
  let begin = 0;
  if (aud.startsWith("http://")) begin = 7;
  else if (aud.startsWith("https://")) begin = 8;
  const end = aud.endsWith("/") ? aud.length - 1 : aud.length;
  return aud.slice(begin, Math.max(begin, end));
}

export interface AuthenticatorOptions {
  /** The requirement's provider; undefined for allow_missing / allow_missing_or_failed. */
  provider?: ProviderRuntime;
  /** provider_and_audiences' override. */
  audiences?: AudienceChecker;
  allowFailed: boolean;
  allowMissing: boolean;
  /** Every provider, in configuration order (issuer lookup, single-provider failed status). */
  providers: readonly ProviderRuntime[];
}

function findByIssuer(providers: readonly ProviderRuntime[], iss: string): ProviderRuntime | undefined {
  return providers.find((p) => p.config.issuer === iss) ?? (iss !== "" ? providers.find((p) => p.config.issuer === "") : undefined);
}

/** A claim as claim_to_headers writes it ("" = no header). */
function claimHeaderValue(payload: JsonObject, claim: string): string {
  const f = claimValue(payload, claim);
  if (f.r !== "ok") return "";
  const v = f.v;
  if (typeof v === "string") return v;
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number") {
    // An unsigned integer prints as one; anything else as std::to_string(double) ("%f").
    return v >= 0 && v < 18446744073709551616 && Number.isInteger(v) ? BigInt(v).toString() : v.toFixed(6);
  }
  if (v !== null && typeof v === "object") return Buffer.from(JSON.stringify(v)).toString("base64");
  return "";
}

function normalizedPayload(p: JwtProviderConfig, payload: JsonObject): JsonObject {
  if (p.spaceDelimitedClaims.length === 0) return payload;
  const out: JsonObject = { ...payload };
  for (const claim of p.spaceDelimitedClaims) {
    const v = payload[claim];
    if (!Object.hasOwn(payload, claim) || typeof v !== "string") continue;
    const parts = v.split(" ").filter((s) => s !== "");
    if (parts.length > 0) out[claim] = parts;
  }
  return out;
}

function handleGoodJwt(jwt: Jwt, location: JwtLocation, provider: ProviderRuntime, ctx: VerifyContext): void {
  const p = provider.config;
  if (p.forwardPayloadHeader) {
    let payload = jwt.payloadBase64url;
    if (p.padForwardPayloadHeader) payload = payload.padEnd(payload.length + ((4 - (payload.length % 4)) % 4), "=");
    ctx.headers.add(p.forwardPayloadHeader, payload);
  }
  let headerAdded = false;
  for (const c of p.claimToHeaders) {
    const value = claimHeaderValue(jwt.payload, c.claimName);
    if (value !== "") {
      ctx.headers.add(c.headerName, value);
      headerAdded = true;
    }
  }
  if (p.clearRouteCache && (headerAdded || p.payloadInMetadata !== "")) ctx.clearRouteCache = true;
  if (!p.forward) location.removeJwt(ctx.headers);
  if (p.headerInMetadata) ctx.extracted[p.headerInMetadata] = jwt.header;
  if (p.payloadInMetadata) ctx.extracted[p.payloadInMetadata] = normalizedPayload(p, jwt.payload);
}

/** Verifies one token; the provider it used (if any) is reported through `used`. */
function verifyToken(location: JwtLocation, opts: AuthenticatorOptions, ctx: VerifyContext, used: { provider?: ProviderRuntime }): Status {
  if (opts.provider) {
    used.provider = opts.provider;
    ctx.onCacheMiss();
  }
  const jwt = parseJwt(location.token);
  if (typeof jwt === "number") return jwt;
  if (!location.isIssuerAllowed(jwt.iss)) return Status.JwtUnknownIssuer;
  const provider = opts.provider ?? findByIssuer(opts.providers, jwt.iss);
  if (!provider) return Status.JwtUnknownIssuer;
  used.provider = provider;
  const skew = provider.config.clockSkewSeconds > 0 ? provider.config.clockSkewSeconds : 60;
  const time = verifyTimeConstraint(jwt, ctx.nowSeconds, skew);
  if (time !== Status.Ok) return time;
  if (!(opts.audiences ?? provider.audiences).allows(jwt.audiences)) return Status.JwtAudienceNotAllowed;
  if (provider.jwks.keys.length === 0) return Status.JwksNoValidKeys;
  const sig = verifyJwtSignature(jwt, provider.jwks);
  if (sig !== Status.Ok) return sig;
  handleGoodJwt(jwt, location, provider, ctx);
  return Status.Ok;
}

export function authenticate(tokens: JwtLocation[], opts: AuthenticatorOptions, ctx: VerifyContext): Status {
  const pending = [...tokens];
  const used: { provider?: ProviderRuntime } = {};
  const recordFailure = (status: Status) => {
    const p = used.provider ?? (opts.providers.length === 1 ? opts.providers[0] : undefined);
    const key = p?.config.failedStatusInMetadata;
    if (key) ctx.extracted[key] = { code: status, message: statusString(status) };
  };
  const finish = (status: Status): Status => {
    if (opts.allowFailed) return Status.Ok;
    if (opts.allowMissing && status === Status.JwtMissed) return Status.Ok;
    return status;
  };
  if (pending.length === 0) {
    recordFailure(Status.JwtMissed);
    return finish(Status.JwtMissed);
  }
  for (;;) {
    const status = verifyToken(pending.pop()!, opts, ctx, used);
    if (status !== Status.Ok) recordFailure(status);
    if ((status !== Status.Ok && !opts.allowFailed && !opts.allowMissing) || pending.length === 0) return finish(status);
  }
}
