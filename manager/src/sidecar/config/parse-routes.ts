/**
 * envoy.config.route.v3.RouteConfiguration (inline in the HCM). Validation follows Envoy's
 * RouteMatcher / RouteEntryImplBase: domains are lower-cased and must be unique across the
 * route configuration, at most one "*" virtual host; a route has exactly one path specifier
 * and one action; a header matcher with no specifier is a presence match; route timeout
 * defaults to 15 s; weighted cluster weights must sum above 0 and equal total_weight if given;
 * ':'-prefixed and host headers may not be added. Every referenced cluster is recorded for the
 * cross-check against static_resources.clusters.
 */
import type { HeaderMatcher, Route, RouteAction, RouteConfiguration, RouteMatch, VirtualHost } from "./model.ts";
import {
  Ctx, Message, asMessage, bool, duration, enumValue, list, listOfMessages, msg, str, stringList, stringValue, u32,
  intValue, NOT_SUPPORTED,
} from "./fields.ts";
import { checkRegex } from "./regex.ts";
import { parseRetryPolicy } from "./parse-retry.ts";
import { decodeBase64 } from "./typed-config.ts";

export function parseRouteConfiguration(ctx: Ctx, m: Message): RouteConfiguration {
  const name = str(m, "name") ?? "";
  const virtualHosts: VirtualHost[] = [];
  const domainsSeen = new Map<string, string>();
  for (const vh of listOfMessages(m, "virtual_hosts", "envoy.config.route.v3.VirtualHost")) {
    const v = parseVirtualHost(ctx, vh, domainsSeen);
    if (v) virtualHosts.push(v);
  }
  m.done();
  return { name, virtualHosts };
}

function parseVirtualHost(ctx: Ctx, m: Message, domainsSeen: Map<string, string>): VirtualHost | undefined {
  const name = str(m, "name", { required: true, minLen: 1 });
  const domainsPresent = m.has("domains");
  const domains: string[] = [];
  for (const { value, at } of stringList(m, "domains")) {
    const lower = value.toLowerCase();
    const prev = domainsSeen.get(lower);
    if (prev !== undefined) {
      ctx.error(
        at.path,
        at.node,
        lower === "*" ? "only a single wildcard domain \"*\" is permitted" : `duplicate domain ${JSON.stringify(value)} (also at ${prev})`,
      );
      continue;
    }
    domainsSeen.set(lower, at.path);
    domains.push(lower);
  }
  if (!domainsPresent) m.required("domains", "is required and must not be empty");
  else if (domains.length === 0 && !ctx.issues.some((i) => i.path.startsWith(m.pathOf("domains")))) {
    ctx.error(m.pathOf("domains"), m.posOf("domains"), "must not be empty");
  }
  const routes: Route[] = [];
  for (const r of listOfMessages(m, "routes", "envoy.config.route.v3.Route")) {
    const route = parseRoute(ctx, r);
    if (route) routes.push(route);
  }
  m.done();
  if (name === undefined) return undefined;
  return { name, domains, routes };
}

function parseRoute(ctx: Ctx, m: Message): Route | undefined {
  const name = str(m, "name") ?? "";
  const matchMsg = msg(m, "match", "envoy.config.route.v3.RouteMatch");
  if (!matchMsg && !m.has("match")) m.required("match");
  const match = matchMsg ? parseRouteMatch(ctx, matchMsg) : undefined;
  const actions = ["route", "direct_response", "redirect", "filter_action", "non_forwarding_action"].filter((a) => m.has(a));
  if (actions.length === 0) m.required("route", "a route action is required (route or direct_response)");
  if (actions.length > 1) ctx.error(m.pathOf(actions[1]!), m.posOf(actions[1]!), `only one of ${actions.join(", ")} may be set`);
  const routeMsg = msg(m, "route", "envoy.config.route.v3.RouteAction");
  const route = routeMsg ? parseRouteAction(ctx, routeMsg) : undefined;
  const drMsg = msg(m, "direct_response", "envoy.config.route.v3.DirectResponseAction");
  const directResponse = drMsg ? parseDirectResponse(ctx, drMsg) : undefined;
  const requestHeadersToAdd = parseHeadersToAdd(ctx, m, "request_headers_to_add");
  const responseHeadersToAdd = parseHeadersToAdd(ctx, m, "response_headers_to_add");
  m.done();
  if (!match || (routeMsg && !route) || (drMsg && !directResponse) || (!route && !directResponse)) return undefined;
  const out: Route = { name, match, requestHeadersToAdd, responseHeadersToAdd };
  if (route) out.route = route;
  if (directResponse) out.directResponse = directResponse;
  return out;
}

const PATH_SPECIFIERS = ["prefix", "path", "safe_regex", "path_separated_prefix", "connect_matcher", "path_match_policy"];

export function parseRouteMatch(ctx: Ctx, m: Message): RouteMatch | undefined {
  const given = PATH_SPECIFIERS.filter((p) => m.has(p));
  if (given.length === 0) m.required("prefix", "one of prefix, path or safe_regex is required");
  if (given.length > 1) ctx.error(m.pathOf(given[1]!), m.posOf(given[1]!), `only one of ${given.join(", ")} may be set`);
  const out: RouteMatch = { caseSensitive: true, headers: [], grpc: false };
  const prefix = str(m, "prefix");
  if (prefix !== undefined) out.prefix = prefix;
  const path = str(m, "path");
  if (path !== undefined) out.path = path;
  const re = msg(m, "safe_regex", "envoy.type.matcher.v3.RegexMatcher");
  if (re) {
    const r = parseRegexMatcher(ctx, re);
    if (r === undefined) return undefined;
    out.safeRegex = r;
  }
  m.unsupported("path_separated_prefix");
  m.unsupported("connect_matcher");
  m.unsupported("path_match_policy");
  out.caseSensitive = bool(m, "case_sensitive") ?? true;
  for (const h of listOfMessages(m, "headers", "envoy.config.route.v3.HeaderMatcher")) {
    const hm = parseHeaderMatcher(ctx, h);
    if (hm) out.headers.push(hm);
  }
  const grpc = msg(m, "grpc", "envoy.config.route.v3.RouteMatch.GrpcRouteMatchOptions");
  if (grpc) {
    out.grpc = true;
    grpc.done();
  }
  m.done();
  return given.length === 1 ? out : undefined;
}

export function parseRegexMatcher(ctx: Ctx, m: Message): string | undefined {
  const g = msg(m, "google_re2", "envoy.type.matcher.v3.RegexMatcher.GoogleRE2");
  if (g) {
    u32(g, "max_program_size");
    g.done();
  }
  const regexAt = m.get("regex");
  m.done();
  if (!regexAt) {
    m.required("regex");
    return undefined;
  }
  const pattern = stringValue(ctx, regexAt);
  if (pattern === undefined) return undefined;
  if (pattern === "") {
    ctx.error(regexAt.path, regexAt.node, "must not be empty");
    return undefined;
  }
  return checkRegex(ctx, regexAt, pattern, "re2");
}

const HEADER_SPECIFIERS = [
  "exact_match", "safe_regex_match", "range_match", "present_match", "prefix_match", "suffix_match", "contains_match", "string_match",
];

function parseHeaderMatcher(ctx: Ctx, m: Message): HeaderMatcher | undefined {
  const name = str(m, "name", { required: true, minLen: 1 });
  const given = HEADER_SPECIFIERS.filter((p) => m.has(p));
  if (given.length > 1) ctx.error(m.pathOf(given[1]!), m.posOf(given[1]!), `only one of ${given.join(", ")} may be set`);
  const out: HeaderMatcher = { name: (name ?? "").toLowerCase(), invertMatch: false };
  let ok = name !== undefined && given.length <= 1;
  const exact = str(m, "exact_match");
  if (exact !== undefined) out.exact = exact;
  const prefix = str(m, "prefix_match");
  if (prefix !== undefined) out.prefix = prefix;
  const suffix = str(m, "suffix_match");
  if (suffix !== undefined) out.suffix = suffix;
  const contains = str(m, "contains_match");
  if (contains !== undefined) out.contains = contains;
  const present = bool(m, "present_match");
  if (present !== undefined) out.present = present;
  const re = msg(m, "safe_regex_match", "envoy.type.matcher.v3.RegexMatcher");
  if (re) {
    const r = parseRegexMatcher(ctx, re);
    if (r === undefined) ok = false;
    else out.safeRegex = r;
  }
  m.unsupported("range_match");
  const sm = msg(m, "string_match", "envoy.type.matcher.v3.StringMatcher");
  if (sm && !parseStringMatcher(ctx, sm, out)) ok = false;
  if (given.length === 0) out.present = true; // Envoy: no specifier means "header is present".
  out.invertMatch = bool(m, "invert_match") ?? false;
  m.done();
  return ok ? out : undefined;
}

const STRING_SPECIFIERS = ["exact", "prefix", "suffix", "safe_regex", "contains", "custom"];

function parseStringMatcher(ctx: Ctx, m: Message, out: HeaderMatcher): boolean {
  const given = STRING_SPECIFIERS.filter((p) => m.has(p));
  if (given.length !== 1) {
    if (given.length === 0) m.required("exact", "one of exact, prefix, suffix, contains or safe_regex is required");
    else ctx.error(m.pathOf(given[1]!), m.posOf(given[1]!), `only one of ${given.join(", ")} may be set`);
  }
  let ok = given.length === 1;
  for (const k of ["exact", "prefix", "suffix", "contains"] as const) {
    const v = str(m, k);
    if (v !== undefined) out[k] = v;
  }
  const re = msg(m, "safe_regex", "envoy.type.matcher.v3.RegexMatcher");
  if (re) {
    const r = parseRegexMatcher(ctx, re);
    if (r === undefined) ok = false;
    else out.safeRegex = r;
  }
  m.unsupported("custom");
  if (bool(m, "ignore_case") === true) {
    ctx.error(m.pathOf("ignore_case"), m.posOf("ignore_case"), NOT_SUPPORTED);
    ok = false;
  }
  m.done();
  return ok;
}

const CLUSTER_SPECIFIERS = ["cluster", "weighted_clusters", "cluster_header", "cluster_specifier_plugin", "inline_cluster_specifier_plugin"];

function parseRouteAction(ctx: Ctx, m: Message): RouteAction | undefined {
  const given = CLUSTER_SPECIFIERS.filter((p) => m.has(p));
  if (given.length === 0) m.required("cluster", "one of cluster or weighted_clusters is required");
  if (given.length > 1) ctx.error(m.pathOf(given[1]!), m.posOf(given[1]!), `only one of ${given.join(", ")} may be set`);
  let ok = given.length === 1;
  const out: RouteAction = { timeoutMs: 15_000 };
  const clusterAt = m.has("cluster") ? m.posOf("cluster") : undefined;
  const cluster = str(m, "cluster", { minLen: 1 });
  if (cluster !== undefined) {
    out.cluster = cluster;
    ctx.clusterRefs.push({ name: cluster, path: m.pathOf("cluster"), at: clusterAt! });
  } else if (clusterAt) ok = false;
  const wc = msg(m, "weighted_clusters", "envoy.config.route.v3.WeightedCluster");
  if (wc) {
    const w = parseWeightedClusters(ctx, wc);
    if (w) out.weightedClusters = w;
    else ok = false;
  }
  const timeout = duration(m, "timeout");
  if (timeout !== undefined) out.timeoutMs = timeout;
  const rp = msg(m, "retry_policy", "envoy.config.route.v3.RetryPolicy");
  if (rp) {
    const r = parseRetryPolicy(ctx, rp);
    if (r) out.retryPolicy = r;
    else ok = false;
  }
  const msd = msg(m, "max_stream_duration", "envoy.config.route.v3.RouteAction.MaxStreamDuration");
  if (msd) {
    const max = duration(msd, "max_stream_duration");
    if (max !== undefined) out.maxStreamDurationMs = max;
    const hdrMax = duration(msd, "grpc_timeout_header_max");
    if (hdrMax !== undefined) out.grpcTimeoutHeaderMaxMs = hdrMax;
    msd.done();
  }
  const prefixRewrite = str(m, "prefix_rewrite");
  if (prefixRewrite !== undefined) out.prefixRewrite = prefixRewrite;
  const hostRewrite = str(m, "host_rewrite_literal");
  if (hostRewrite !== undefined) out.hostRewriteLiteral = hostRewrite;
  m.done();
  return ok ? out : undefined;
}

function parseWeightedClusters(ctx: Ctx, m: Message): Array<{ name: string; weight: number }> | undefined {
  const out: Array<{ name: string; weight: number }> = [];
  let ok = true;
  const clusters = listOfMessages(m, "clusters", "envoy.config.route.v3.WeightedCluster.ClusterWeight");
  if (clusters.length === 0) {
    ctx.error(m.pathOf("clusters"), m.posOf("clusters"), "at least one cluster is required");
    ok = false;
  }
  for (const c of clusters) {
    const namePos = c.posOf("name");
    const name = str(c, "name", { required: true, minLen: 1 });
    const weight = u32(c, "weight") ?? 0;
    c.done();
    if (name === undefined) {
      ok = false;
      continue;
    }
    ctx.clusterRefs.push({ name, path: c.pathOf("name"), at: namePos });
    out.push({ name, weight });
  }
  const totalAt = m.has("total_weight");
  const total = u32(m, "total_weight", { min: 1 });
  m.done();
  if (!ok) return undefined;
  const sum = out.reduce((a, c) => a + c.weight, 0);
  if (sum === 0) {
    ctx.error(m.pathOf("clusters"), m.posOf("clusters"), "the sum of weights must be greater than 0");
    return undefined;
  }
  if (totalAt && total !== undefined && total !== sum) {
    ctx.error(m.pathOf("total_weight"), m.posOf("total_weight"), `the sum of weights (${sum}) must equal total_weight (${total})`);
    return undefined;
  }
  return out;
}

function parseDirectResponse(ctx: Ctx, m: Message): { status: number; body?: string } | undefined {
  const statusAt = m.get("status");
  const status = statusAt ? intValue(ctx, statusAt, { min: 200, max: 599 }) : undefined;
  if (!statusAt) m.required("status");
  let body: string | undefined;
  const b = msg(m, "body", "envoy.config.core.v3.DataSource");
  if (b) {
    const inline = str(b, "inline_string");
    const bytesAt = b.get("inline_bytes");
    if (inline !== undefined) body = inline;
    if (bytesAt) {
      const bytes = decodeBase64(ctx, bytesAt);
      if (bytes) body = new TextDecoder().decode(bytes);
    }
    b.unsupported("filename", "use inline_string");
    b.unsupported("environment_variable", "use inline_string");
    b.done();
  }
  m.done();
  if (status === undefined) return undefined;
  return body === undefined ? { status } : { status, body };
}

const APPEND_ACTIONS = ["APPEND_IF_EXISTS_OR_ADD", "ADD_IF_ABSENT", "OVERWRITE_IF_EXISTS_OR_ADD", "OVERWRITE_IF_EXISTS"] as const;

function parseHeadersToAdd(ctx: Ctx, parent: Message, field: string): Array<{ key: string; value: string; append: boolean }> {
  const out: Array<{ key: string; value: string; append: boolean }> = [];
  for (const at of list(parent, field)) {
    const m = asMessage(ctx, at, "envoy.config.core.v3.HeaderValueOption");
    if (!m) continue;
    const h = msg(m, "header", "envoy.config.core.v3.HeaderValue");
    if (!h && !m.has("header")) m.required("header");
    let key: string | undefined;
    let value: string | undefined;
    if (h) {
      key = str(h, "key", { required: true, minLen: 1 });
      value = str(h, "value") ?? "";
      h.unsupported("raw_value", "use value");
      if (key !== undefined && (key.startsWith(":") || key.toLowerCase() === "host")) {
        ctx.error(h.pathOf("key"), h.posOf("key"), "':'-prefixed or host headers may not be modified");
        key = undefined;
      }
      h.done();
    }
    const appendGiven = m.has("append");
    const append = bool(m, "append");
    const action = enumValue(m, "append_action", APPEND_ACTIONS);
    if (appendGiven && m.has("append_action")) {
      ctx.error(m.pathOf("append_action"), m.posOf("append_action"), "append and append_action may not both be set");
    }
    if (action === "ADD_IF_ABSENT" || action === "OVERWRITE_IF_EXISTS") {
      ctx.error(m.pathOf("append_action"), m.posOf("append_action"), `${NOT_SUPPORTED}: ${action}`);
    }
    m.done();
    if (key === undefined || value === undefined) continue;
    out.push({ key: key.toLowerCase(), value, append: action !== undefined ? action === "APPEND_IF_EXISTS_OR_ADD" : (append ?? true) });
  }
  return out;
}
