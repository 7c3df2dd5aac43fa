/**
 * Route matching as Envoy's RouteMatcher / RouteEntryImplBase do it
 * (source/common/router/config_impl.cc, source/common/http/header_utility.cc).
 *
 * Virtual host by `:authority` (lower-cased; the port is NOT stripped, as Envoy without
 * strip_any_host_port / ignore_port_in_host_matching): exact domain first, then suffix
 * wildcards (`*.foo.com`, `*-bar.foo.com`) longest first, then prefix wildcards (`foo.*`)
 * longest first, a wildcard matching at least one character; then the `*` virtual host.
 *
 * Routes in order; the first whose every condition holds wins:
 * - `grpc: {}`: content-type is gRPC (Grpc::Common::isGrpcRequestHeaders);
 * - header matchers: multiple values are joined with ","; a missing header matches only
 *   `present: false` (or `present: true` with invert_match); otherwise the result is
 *   inverted by invert_match;
 * - `prefix`: against the whole `:path` including the query; `path`: the path without query
 *   and fragment; both honour case_sensitive; `safe_regex`: a full match on the path without
 *   query (case_sensitive does not apply).
 * weighted_clusters: `random % total_weight` picks the cluster (Envoy uses a random value per
 * stream); the random source is injectable.
 */
import type { RouteDecision } from "../../http/filter.ts";
import type { HeaderMap } from "../../http/header-map.ts";
import type { HeaderMatcher, Route, RouteConfiguration, RouteMatch, VirtualHost } from "../../config/model.ts";
import { isGrpcRequest } from "./local-reply.ts";

/** The decision filters see, plus the matched configuration the router guard applies. */
export interface MatchedRoute extends RouteDecision {
  route: Route;
  virtualHost: VirtualHost;
}

export interface RouteMatcherOptions {
  /** A uniformly random unsigned integer per call (default Math.random based). */
  random?: () => number;
}

function removeQueryAndFragment(path: string): string {
  const q = path.search(/[?#]/);
  return q < 0 ? path : path.slice(0, q);
}

export class RouteMatcher {
  private readonly exact = new Map<string, VirtualHost>();
  /** length of the literal part -> (literal -> vhost), iterated longest first. */
  private readonly suffixes = new Map<number, Map<string, VirtualHost>>();
  private readonly prefixes = new Map<number, Map<string, VirtualHost>>();
  /** The literal lengths of `suffixes` / `prefixes`, longest first (sorted once, not per request). */
  private readonly suffixLengths: number[];
  private readonly prefixLengths: number[];
  private readonly defaultHost?: VirtualHost;
  private readonly regexes = new Map<string, RegExp>();
  private readonly random: () => number;

  constructor(config: RouteConfiguration, opts: RouteMatcherOptions = {}) {
    this.random = opts.random ?? (() => Math.floor(Math.random() * 0x1_0000_0000));
    let defaultHost: VirtualHost | undefined;
    for (const vh of config.virtualHosts) {
      for (const raw of vh.domains) {
        const d = raw.toLowerCase();
        if (d === "*") defaultHost ??= vh;
        else if (d.startsWith("*")) addWildcard(this.suffixes, d.slice(1), vh);
        else if (d.endsWith("*")) addWildcard(this.prefixes, d.slice(0, -1), vh);
        else if (!this.exact.has(d)) this.exact.set(d, vh);
      }
    }
    this.defaultHost = defaultHost;
    this.suffixLengths = [...this.suffixes.keys()].sort((a, b) => b - a);
    this.prefixLengths = [...this.prefixes.keys()].sort((a, b) => b - a);
  }

  findVirtualHost(authority: string | undefined): VirtualHost | undefined {
    const host = (authority ?? "").toLowerCase();
    const exact = this.exact.get(host);
    if (exact) return exact;
    const suffix = findWildcard(this.suffixes, this.suffixLengths, host, true);
    if (suffix) return suffix;
    const prefix = findWildcard(this.prefixes, this.prefixLengths, host, false);
    if (prefix) return prefix;
    return this.defaultHost;
  }

  match(headers: HeaderMap): MatchedRoute | undefined {
    const vh = this.findVirtualHost(headers.get(":authority") ?? headers.get("host"));
    if (!vh) return undefined;
    const path = headers.get(":path");
    if (path === undefined) return undefined;
    for (const route of vh.routes) {
      if (this.matches(route.match, headers, path)) return this.decide(route, vh);
    }
    return undefined;
  }

  private matches(m: RouteMatch, headers: HeaderMap, path: string): boolean {
    if (m.grpc && !isGrpcRequest(headers)) return false;
    for (const h of m.headers) if (!this.headerMatches(h, headers)) return false;
    if (m.prefix !== undefined) {
      return m.caseSensitive ? path.startsWith(m.prefix) : path.toLowerCase().startsWith(m.prefix.toLowerCase());
    }
    if (m.path !== undefined) {
      const p = removeQueryAndFragment(path);
      return m.caseSensitive ? p === m.path : p.toLowerCase() === m.path.toLowerCase();
    }
    if (m.safeRegex !== undefined) return this.regex(m.safeRegex).test(removeQueryAndFragment(path));
    return false;
  }

  private headerMatches(h: HeaderMatcher, headers: HeaderMap): boolean {
    const values = headers.getAll(h.name);
    const isPresentMatcher = h.present !== undefined && h.exact === undefined && h.prefix === undefined &&
      h.suffix === undefined && h.contains === undefined && h.safeRegex === undefined;
    if (values.length === 0) {
      if (h.invertMatch) return isPresentMatcher && h.present === true;
      return isPresentMatcher && h.present === false;
    }
    const value = values.join(",");
    let match: boolean;
    if (h.exact !== undefined) match = value === h.exact;
    else if (h.prefix !== undefined) match = value.startsWith(h.prefix);
    else if (h.suffix !== undefined) match = value.endsWith(h.suffix);
    else if (h.contains !== undefined) match = value.includes(h.contains);
    else if (h.safeRegex !== undefined) match = this.regex(h.safeRegex).test(value);
    else match = h.present ?? true;
    return match !== h.invertMatch;
  }

  private regex(pattern: string): RegExp {
    let re = this.regexes.get(pattern);
    if (!re) {
      const source = `^(?:${pattern.replace(/\(\?P</g, "(?<")})$`;
      try {
        re = new RegExp(source, "u");
      } catch {
        re = new RegExp(source);
      }
      this.regexes.set(pattern, re);
    }
    return re;
  }

  private decide(route: Route, vh: VirtualHost): MatchedRoute {
    const action = route.route;
    const decision: MatchedRoute = {
      routeName: route.name,
      virtualHostName: vh.name,
      timeoutMs: action?.timeoutMs ?? 15000,
      route,
      virtualHost: vh,
    };
    if (route.directResponse) decision.directResponse = route.directResponse;
    if (action) {
      decision.clusterName = action.cluster ?? this.pickWeighted(action.weightedClusters ?? []);
      if (action.retryPolicy) decision.retryPolicy = action.retryPolicy;
      if (action.grpcTimeoutHeaderMaxMs !== undefined) decision.grpcTimeoutHeaderMaxMs = action.grpcTimeoutHeaderMaxMs;
    }
    return decision;
  }

  /** Envoy WeightedClusterEntry selection: random % total, first cluster whose range holds it. */
  private pickWeighted(clusters: Array<{ name: string; weight: number }>): string | undefined {
    const total = clusters.reduce((n, c) => n + c.weight, 0);
    if (total <= 0) return undefined;
    const selected = this.random() % total;
    let begin = 0;
    for (const c of clusters) {
      const end = begin + c.weight;
      if (selected >= begin && selected < end) return c.name;
      begin = end;
    }
    return clusters.at(-1)?.name;
  }
}

function addWildcard(index: Map<number, Map<string, VirtualHost>>, literal: string, vh: VirtualHost): void {
  let byLiteral = index.get(literal.length);
  if (!byLiteral) index.set(literal.length, (byLiteral = new Map()));
  if (!byLiteral.has(literal)) byLiteral.set(literal, vh);
}

/** The vhost of the longest wildcard literal `host` ends with (`suffix`) or starts with. */
function findWildcard(
  index: Map<number, Map<string, VirtualHost>>,
  lengthsLongestFirst: number[],
  host: string,
  suffix: boolean,
): VirtualHost | undefined {
  for (const len of lengthsLongestFirst) {
    // The wildcard must match at least one character.
    if (host.length <= len) continue;
    const vh = index.get(len)!.get(suffix ? host.slice(host.length - len) : host.slice(0, len));
    if (vh) return vh;
  }
  return undefined;
}
