/**
 * envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication -> JwtAuthnFilterConfig:
 * `providers` (issuer, audiences, local_jwks, forward, from_headers, from_params, from_cookies,
 * forward_payload_header, pad_forward_payload_header, payload_in_metadata,
 * normalize_payload_in_metadata, header_in_metadata, failed_status_in_metadata,
 * clock_skew_seconds, claim_to_headers, clear_route_cache), `rules` (a RouteMatch and
 * `requires` or `requirement_name`), `requirement_map`, `bypass_cors_preflight`,
 * `strip_failure_response`. JwtRequirement: provider_name, provider_and_audiences,
 * requires_any / requires_all (at least 2 requirements, as Envoy validates), allow_missing,
 * allow_missing_or_failed. A provider name that is not defined and a requirement_name missing
 * from requirement_map are errors, as in Envoy. local_jwks is read now; a JWKS that does not
 * parse is accepted (Envoy logs a warning and the provider has no keys).
 * remote_jwks (the sidecar has no JWKS fetcher), subjects, require_expiration, max_lifetime,
 * jwt_cache_config, filter_state_rules and the rules' `grpc` match option (which Envoy's
 * jwt_authn matcher ignores) are reported as not supported.
 */
import type { JwtAuthnFilterConfig, JwtProviderConfig, JwtRequirementConfig, RouteMatch } from "./model.ts";
import { Ctx, Message, asMessage, bool, listOfMessages, msg, str, stringList, u32, type At } from "./fields.ts";
import { readDataSourceText } from "./data-source.ts";
import { parseRouteMatch } from "./parse-routes.ts";

export const JWT_AUTHN_TYPE = "envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication";
const P = "envoy.extensions.filters.http.jwt_authn.v3.";

type Named<T> = Array<{ name: string; value: T; at: At }>;

/** A protobuf map<string, Message> field: its entries in document order. */
function mapOfMessages(m: Message, field: string, type: string): Array<{ name: string; msg: Message }> {
  const at = m.get(field);
  if (!at) return [];
  if (at.node.kind !== "map") {
    m.ctx.error(at.path, at.node, "expected object");
    return [];
  }
  const out: Array<{ name: string; msg: Message }> = [];
  for (const e of at.node.entries) {
    const sub = asMessage(m.ctx, { node: e.value, path: `${at.path}.${e.key}` }, type);
    if (sub) out.push({ name: e.key, msg: sub });
  }
  return out;
}

export function parseJwtAuthn(ctx: Ctx, m: Message): Omit<JwtAuthnFilterConfig, "kind" | "name" | "path"> | undefined {
  const before = ctx.issues.length;
  const providers = new Map<string, JwtProviderConfig>();
  for (const { name, msg: p } of mapOfMessages(m, "providers", `${P}JwtProvider`)) {
    const provider = parseProvider(ctx, p);
    if (provider) providers.set(name, provider);
  }
  const requirementMap: Named<JwtRequirementConfig> = [];
  for (const { name, msg: r } of mapOfMessages(m, "requirement_map", `${P}JwtRequirement`)) {
    const req = parseRequirement(ctx, r, providers);
    if (req) requirementMap.push({ name, value: req, at: { node: r.node, path: r.path } });
  }
  const rules: JwtAuthnFilterConfig["rules"] = [];
  for (const r of listOfMessages(m, "rules", `${P}RequirementRule`)) {
    const rule = parseRule(ctx, r, providers, requirementMap);
    if (rule) rules.push(rule);
  }
  const bypassCorsPreflight = bool(m, "bypass_cors_preflight") ?? false;
  const stripFailureResponse = bool(m, "strip_failure_response") ?? false;
  m.unsupported("filter_state_rules");
  m.done();
  if (ctx.issues.length !== before) return undefined;
  return { providers, rules, bypassCorsPreflight, stripFailureResponse };
}

function parseProvider(ctx: Ctx, p: Message): JwtProviderConfig | undefined {
  const before = ctx.issues.length;
  const out: JwtProviderConfig = {
    issuer: str(p, "issuer") ?? "",
    audiences: stringList(p, "audiences").map((a) => a.value),
    localJwks: "",
    forward: bool(p, "forward") ?? false,
    fromHeaders: [],
    fromParams: stringList(p, "from_params").map((v) => v.value),
    fromCookies: stringList(p, "from_cookies").map((v) => v.value),
    forwardPayloadHeader: (str(p, "forward_payload_header") ?? "").toLowerCase(),
    padForwardPayloadHeader: bool(p, "pad_forward_payload_header") ?? false,
    payloadInMetadata: str(p, "payload_in_metadata") ?? "",
    headerInMetadata: str(p, "header_in_metadata") ?? "",
    failedStatusInMetadata: str(p, "failed_status_in_metadata") ?? "",
    spaceDelimitedClaims: [],
    clockSkewSeconds: u32(p, "clock_skew_seconds") ?? 0,
    claimToHeaders: [],
    clearRouteCache: bool(p, "clear_route_cache") ?? false,
  };
  for (const h of listOfMessages(p, "from_headers", `${P}JwtHeader`)) {
    const name = str(h, "name", { required: true, minLen: 1 });
    const valuePrefix = str(h, "value_prefix") ?? "";
    h.done();
    if (name !== undefined) out.fromHeaders.push({ name: name.toLowerCase(), valuePrefix });
  }
  for (const c of listOfMessages(p, "claim_to_headers", `${P}JwtClaimToHeader`)) {
    const headerName = str(c, "header_name", { required: true, minLen: 1 });
    const claimName = str(c, "claim_name", { required: true, minLen: 1 });
    c.done();
    if (headerName !== undefined && claimName !== undefined) out.claimToHeaders.push({ headerName: headerName.toLowerCase(), claimName });
  }
  const normalize = msg(p, "normalize_payload_in_metadata", `${P}JwtProvider.NormalizePayload`);
  if (normalize) {
    out.spaceDelimitedClaims = stringList(normalize, "space_delimited_claims").map((c) => c.value);
    normalize.done();
  }
  const jwks = msg(p, "local_jwks", "envoy.config.core.v3.DataSource");
  p.unsupported("remote_jwks", "the local sidecar does not fetch JWKS; give the keys in local_jwks");
  const hadRemote = p.has("remote_jwks");
  for (const f of ["subjects", "require_expiration", "max_lifetime", "jwt_cache_config"]) p.unsupported(f);
  p.done();
  if (jwks) out.localJwks = readDataSourceText(ctx, jwks) ?? "";
  else if (!hadRemote) p.required("local_jwks", "a JWKS source is required (local_jwks)");
  return ctx.issues.length === before ? out : undefined;
}

function parseRequirements(ctx: Ctx, m: Message, providers: Map<string, JwtProviderConfig>): JwtRequirementConfig[] | undefined {
  const reqs = listOfMessages(m, "requirements", `${P}JwtRequirement`);
  m.done();
  if (reqs.length < 2) {
    ctx.error(m.pathOf("requirements"), m.posOf("requirements"), `needs at least 2 requirements (got ${reqs.length})`);
    return undefined;
  }
  const out: JwtRequirementConfig[] = [];
  for (const r of reqs) {
    const req = parseRequirement(ctx, r, providers);
    if (!req) return undefined;
    out.push(req);
  }
  return out;
}

const REQUIREMENT_KINDS = ["provider_name", "provider_and_audiences", "requires_any", "requires_all", "allow_missing_or_failed", "allow_missing"];

function parseRequirement(ctx: Ctx, m: Message, providers: Map<string, JwtProviderConfig>): JwtRequirementConfig | undefined {
  const given = REQUIREMENT_KINDS.filter((k) => m.has(k));
  if (given.length > 1) {
    ctx.error(m.pathOf(given[1]!), m.posOf(given[1]!), `only one of ${given.join(", ")} may be set`);
    return undefined;
  }
  const known = (name: string, at: At): boolean => {
    if (providers.has(name)) return true;
    ctx.error(at.path, at.node, `required provider ${JSON.stringify(name)} is not configured in providers`);
    return false;
  };
  let out: JwtRequirementConfig | undefined = { kind: "none" };
  const nameAt = m.get("provider_name");
  if (nameAt) {
    const name = nameAt.node.kind === "scalar" && typeof nameAt.node.value === "string" ? nameAt.node.value : undefined;
    if (name === undefined) ctx.error(nameAt.path, nameAt.node, "expected string");
    out = name !== undefined && known(name, nameAt) ? { kind: "provider", providerName: name } : undefined;
  }
  const pa = msg(m, "provider_and_audiences", `${P}ProviderWithAudiences`);
  if (pa) {
    const at = pa.get("provider_name");
    const audiences = stringList(pa, "audiences").map((a) => a.value);
    pa.done();
    const name = at && at.node.kind === "scalar" && typeof at.node.value === "string" ? at.node.value : undefined;
    if (!at) pa.required("provider_name");
    out = name !== undefined && known(name, at!) ? { kind: "provider", providerName: name, audiences } : undefined;
  }
  for (const kind of ["requires_any", "requires_all"] as const) {
    const sub = msg(m, kind, `${P}${kind === "requires_any" ? "JwtRequirementOrList" : "JwtRequirementAndList"}`);
    if (sub) {
      const requirements = parseRequirements(ctx, sub, providers);
      out = requirements ? { kind, requirements } : undefined;
    }
  }
  for (const kind of ["allow_missing", "allow_missing_or_failed"] as const) {
    const e = msg(m, kind, "google.protobuf.Empty");
    if (e) {
      e.done();
      out = { kind };
    }
  }
  m.done();
  return out;
}

function parseRule(
  ctx: Ctx,
  r: Message,
  providers: Map<string, JwtProviderConfig>,
  requirementMap: Named<JwtRequirementConfig>,
): JwtAuthnFilterConfig["rules"][number] | undefined {
  const matchMsg = msg(r, "match", "envoy.config.route.v3.RouteMatch");
  let match: RouteMatch | undefined;
  if (!matchMsg) r.required("match");
  else {
    matchMsg.unsupported("grpc", "Envoy's jwt_authn rules ignore it; remove it or match on content-type in headers");
    match = parseRouteMatch(ctx, matchMsg);
  }
  if (r.has("requires") && r.has("requirement_name")) {
    ctx.error(r.pathOf("requirement_name"), r.posOf("requirement_name"), "only one of requires, requirement_name may be set");
  }
  const reqMsg = msg(r, "requires", `${P}JwtRequirement`);
  let requires: JwtRequirementConfig | undefined;
  let ok = true;
  if (reqMsg) {
    requires = parseRequirement(ctx, reqMsg, providers);
    ok = requires !== undefined;
  }
  const nameAt = r.get("requirement_name");
  if (nameAt) {
    const name = nameAt.node.kind === "scalar" && typeof nameAt.node.value === "string" ? nameAt.node.value : undefined;
    const found = requirementMap.find((e) => e.name === name);
    if (!found) {
      const all = requirementMap.map((e) => e.name).sort().join(",");
      ctx.error(nameAt.path, nameAt.node, `Wrong requirement_name: ${String(name)}. It should be one of [${all}]`);
      ok = false;
    } else requires = found.value;
  }
  r.done();
  if (!match || !ok) return undefined;
  return requires && requires.kind !== "none" ? { match, requires } : { match };
}
