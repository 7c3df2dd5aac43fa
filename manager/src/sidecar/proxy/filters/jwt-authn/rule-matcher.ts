/**
 * jwt_authn `rules[].match` as Envoy's jwt_authn matchers apply a RouteMatch (matcher.cc):
 * `prefix` and `path` against the path without query and fragment (Matchers::PathMatcher),
 * `safe_regex` as a full match of the path without the query, each honouring case_sensitive
 * (not the regex); `headers` as the router's header matchers (values of a repeated header
 * joined with ","; a missing header matches only `present_match: false` or an inverted
 * `present_match: true`). The first rule that matches wins.
 */
import type { HeaderMatcher, RouteMatch } from "../../../config/model.ts";
import type { HeaderMap } from "../../../http/header-map.ts";

function compileRegex(pattern: string): RegExp {
  const source = `^(?:${pattern.replace(/\(\?P</g, "(?<")})$`;
  try {
    return new RegExp(source, "u");
  } catch {
    return new RegExp(source);
  }
}

function headerMatches(h: HeaderMatcher, headers: HeaderMap, regexes: Map<string, RegExp>): boolean {
  const values = headers.getAll(h.name);
  const presentOnly =
    h.present !== undefined && h.exact === undefined && h.prefix === undefined && h.suffix === undefined &&
    h.contains === undefined && h.safeRegex === undefined;
  if (values.length === 0) return presentOnly && h.present === h.invertMatch;
  const value = values.join(",");
  let match: boolean;
  if (h.exact !== undefined) match = value === h.exact;
  else if (h.prefix !== undefined) match = value.startsWith(h.prefix);
  else if (h.suffix !== undefined) match = value.endsWith(h.suffix);
  else if (h.contains !== undefined) match = value.includes(h.contains);
  else if (h.safeRegex !== undefined) match = regexes.get(h.safeRegex)!.test(value);
  else match = h.present ?? true;
  return match !== h.invertMatch;
}

export class RuleMatcher<T> {
  private readonly regexes = new Map<string, RegExp>();

  constructor(private readonly rules: ReadonlyArray<{ match: RouteMatch; value: T }>) {
    for (const { match } of rules) {
      for (const p of [match.safeRegex, ...match.headers.map((h) => h.safeRegex)]) {
        if (p !== undefined && !this.regexes.has(p)) this.regexes.set(p, compileRegex(p));
      }
    }
  }

  /** The first matching rule's value; `{ matched: false }` when none matches. */
  find(headers: HeaderMap): { matched: true; value: T } | { matched: false } {
    const path = headers.get(":path");
    if (path === undefined) return { matched: false };
    const noQuery = path.split("?", 1)[0]!;
    const noQueryOrFragment = noQuery.split("#", 1)[0]!;
    for (const { match: m, value } of this.rules) {
      if (!m.headers.every((h) => headerMatches(h, headers, this.regexes))) continue;
      let ok: boolean;
      if (m.prefix !== undefined) {
        ok = m.caseSensitive ? noQueryOrFragment.startsWith(m.prefix) : noQueryOrFragment.toLowerCase().startsWith(m.prefix.toLowerCase());
      } else if (m.path !== undefined) {
        ok = m.caseSensitive ? noQueryOrFragment === m.path : noQueryOrFragment.toLowerCase() === m.path.toLowerCase();
      } else if (m.safeRegex !== undefined) {
        ok = this.regexes.get(m.safeRegex)!.test(noQuery);
      } else ok = false;
      if (ok) return { matched: true, value };
    }
    return { matched: false };
  }
}
