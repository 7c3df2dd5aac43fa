/**
 * envoy.filters.http.jwt_authn in the local sidecar, as Envoy's Filter (filter.cc) behaves:
 * - a CORS preflight (OPTIONS with Origin and Access-Control-Request-Method) passes when
 *   bypass_cors_preflight is set (`cors_preflight_bypassed`, then `allowed`);
 * - the first rule whose match fits picks the requirement; no rule, or a rule without
 *   `requires`, lets the request through (counted as `allowed`, as Envoy counts it);
 * - the requirement is verified (verifier.ts); what it extracted (payload_in_metadata,
 *   header_in_metadata, failed_status_in_metadata entries) is merged into the stream's
 *   dynamic metadata under `envoy.filters.http.jwt_authn`, also when verification fails;
 * - on failure: `denied` and a local reply, 403 for "Audiences in Jwt are not allowed", else
 *   401, the status message as body and `www-authenticate: Bearer realm="<x-forwarded-proto>://
 *   <host><path, at most 256 bytes>"` followed by `, error="invalid_token"` unless the JWT was
 *   missing; details `jwt_authn_access_denied{<message with spaces as _>}`; with
 *   strip_failure_response an empty body and no www-authenticate. A gRPC request gets it as a
 *   trailers-only reply (grpc-status 16 for 401, 7 for 403; grpc-message the body), as every
 *   local reply;
 * - on success: `allowed`, the route cache cleared when a provider asked for it, and the
 *   request continues.
 * Stats under `http.<stat_prefix>.jwt_authn.`: allowed, cors_preflight_bypassed, denied,
 * jwks_fetch_success, jwks_fetch_failed, jwt_cache_hit, jwt_cache_miss (all defined up front).
 */
import type { JwtAuthnFilterConfig } from "../../../config/model.ts";
import { HeadersStatus, PassThroughFilter, type StreamFilterFactory } from "../../../http/filter.ts";
import type { HeaderMap } from "../../../http/header-map.ts";
import type { Counter, StatsStore } from "../../../stats/types.ts";
import { AudienceChecker, type ProviderRuntime, type VerifyContext } from "./authenticator.ts";
import { parseJwks } from "./jwks.ts";
import { RuleMatcher } from "./rule-matcher.ts";
import { Status, statusString } from "./status.ts";
import { createVerifier, type Verifier } from "./verifier.ts";

export const JWT_AUTHN_METADATA_NAMESPACE = "envoy.filters.http.jwt_authn";

const COUNTERS = ["allowed", "cors_preflight_bypassed", "denied", "jwks_fetch_success", "jwks_fetch_failed", "jwt_cache_hit", "jwt_cache_miss"] as const;
type JwtAuthnStats = Record<(typeof COUNTERS)[number], Counter>;

const MAX_URI_PATH = 256;

export interface JwtAuthnFilterOptions {
  stats: StatsStore;
  /** The HCM's stat_prefix. */
  statPrefix: string;
  /** Wall clock, seconds since the epoch (default Date.now()). */
  nowSeconds?: () => number;
  /** A local JWKS that does not parse is reported here (Envoy logs it at warn). */
  warn?: (message: string) => void;
}

interface Shared {
  cfg: JwtAuthnFilterConfig;
  stats: JwtAuthnStats;
  rules: RuleMatcher<Verifier | undefined>;
  nowSeconds: () => number;
}

export function jwtAuthnFilterFactory(cfg: JwtAuthnFilterConfig, opts: JwtAuthnFilterOptions): StreamFilterFactory {
  const prefix = `http.${opts.statPrefix}.jwt_authn.`;
  const stats = Object.fromEntries(COUNTERS.map((n) => [n, opts.stats.counter(prefix + n)])) as JwtAuthnStats;
  const providers = new Map<string, ProviderRuntime>();
  for (const [name, config] of cfg.providers) {
    const jwks = parseJwks(config.localJwks);
    if (jwks.status !== Status.Ok) opts.warn?.(`Invalid inline jwks for issuer: ${config.issuer}: ${statusString(jwks.status)}`);
    providers.set(name, { name, config, jwks, audiences: new AudienceChecker(config.audiences) });
  }
  const rules = new RuleMatcher(cfg.rules.map((r) => ({ match: r.match, value: r.requires ? createVerifier(r.requires, providers) : undefined })));
  const shared: Shared = { cfg, stats, rules, nowSeconds: opts.nowSeconds ?? (() => Math.floor(Date.now() / 1000)) };
  return () => new JwtAuthnFilter(shared);
}

function isCorsPreflight(h: HeaderMap): boolean {
  return h.get(":method") === "OPTIONS" && !!h.get("origin") && !!h.get("access-control-request-method");
}

/** Http::Utility::buildOriginalUri with a 256-byte path limit. */
function originalUri(h: HeaderMap): string {
  const path = h.get("x-envoy-original-path") ?? h.get(":path");
  if (path === undefined) return "";
  return `${h.get("x-forwarded-proto") ?? ""}://${h.get(":authority") ?? ""}${path.slice(0, MAX_URI_PATH)}`;
}

class JwtAuthnFilter extends PassThroughFilter {
  constructor(private readonly s: Shared) {
    super();
  }

  override decodeHeaders(headers: HeaderMap, _endStream: boolean): HeadersStatus {
    const { stats, cfg } = this.s;
    if (cfg.bypassCorsPreflight && isCorsPreflight(headers)) {
      stats.cors_preflight_bypassed.inc();
      stats.allowed.inc();
      return HeadersStatus.Continue;
    }
    const rule = this.s.rules.find(headers);
    const verifier = rule.matched ? rule.value : undefined;
    if (!verifier) {
      stats.allowed.inc();
      return HeadersStatus.Continue;
    }
    const uri = originalUri(headers);
    const ctx: VerifyContext = {
      headers,
      extracted: {},
      clearRouteCache: false,
      nowSeconds: this.s.nowSeconds(),
      onCacheMiss: () => stats.jwt_cache_miss.inc(),
    };
    const status = verifier.verify(ctx);
    if (Object.keys(ctx.extracted).length > 0) {
      const md = this.decoderCallbacks.streamInfo.dynamicMetadata;
      md.set(JWT_AUTHN_METADATA_NAMESPACE, { ...(md.get(JWT_AUTHN_METADATA_NAMESPACE) ?? {}), ...ctx.extracted });
    }
    if (status !== Status.Ok) {
      stats.denied.inc();
      this.deny(status, uri);
      return HeadersStatus.StopIteration;
    }
    stats.allowed.inc();
    if (ctx.clearRouteCache) this.decoderCallbacks.clearRouteCache();
    return HeadersStatus.Continue;
  }

  private deny(status: Status, uri: string): void {
    const message = statusString(status);
    const details = `jwt_authn_access_denied{${message.replace(/\s/g, "_")}}`;
    const code = status === Status.JwtAudienceNotAllowed ? 403 : 401;
    if (this.s.cfg.stripFailureResponse) {
      this.decoderCallbacks.sendLocalReply({ status: code, body: "", details });
      return;
    }
    const challenge = `Bearer realm="${uri}"${status === Status.JwtMissed ? "" : ', error="invalid_token"'}`;
    this.decoderCallbacks.sendLocalReply({ status: code, body: message, headers: [["www-authenticate", challenge]], details });
  }
}
