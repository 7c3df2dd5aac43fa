/**
 * stats_config (envoy.config.metrics.v3.StatsConfig): `stats_tags`, `use_all_default_tags` and
 * `histogram_bucket_settings`, with Envoy's validation (api/envoy/config/metrics/v3/stats.proto):
 * - TagSpecifier: `tag_name` required; at most one of `regex` (std::regex, ECMAScript grammar,
 *   at most 1024 bytes) and `fixed_value`; with neither, the name selects Envoy's default regex.
 * - HistogramBucketSettings: `match` (a StringMatcher on the stat's full name, before tag
 *   extraction) required; `buckets` at least one, each > 0, unique (PGV rules); Envoy sorts
 *   them (source/common/stats/histogram_impl.cc, HistogramSettingsImpl). `stats_matcher` is
 *   not supported.
 */
import type { HistogramBucketSetting, StatsConfig, StringMatcherConfig } from "./model.ts";
import { bool, list, listOfMessages, msg, numberValue, str, stringValue, type Ctx, type Message } from "./fields.ts";
import { checkRegex } from "./regex.ts";
import { parseRegexMatcher } from "./parse-routes.ts";

export function parseStatsConfig(ctx: Ctx, m: Message): StatsConfig {
  const out: StatsConfig = { useAllDefaultTags: true, statsTags: [], histogramBucketSettings: [] };
  const sc = msg(m, "stats_config", "envoy.config.metrics.v3.StatsConfig");
  if (!sc) return out;
  out.useAllDefaultTags = bool(sc, "use_all_default_tags") ?? true;
  for (const t of listOfMessages(sc, "stats_tags", "envoy.config.metrics.v3.TagSpecifier")) {
    const tag = parseTagSpecifier(ctx, t);
    if (tag) out.statsTags.push(tag);
  }
  for (const h of listOfMessages(sc, "histogram_bucket_settings", "envoy.config.metrics.v3.HistogramBucketSettings")) {
    const setting = parseHistogramBucketSettings(ctx, h);
    if (setting) out.histogramBucketSettings!.push(setting);
  }
  sc.done();
  return out;
}

function parseTagSpecifier(ctx: Ctx, t: Message): StatsConfig["statsTags"][number] | undefined {
  const tagName = str(t, "tag_name", { required: true, minLen: 1 });
  const regexAt = t.get("regex");
  const fixedValue = str(t, "fixed_value");
  t.done();
  if (regexAt && fixedValue !== undefined) {
    ctx.error(t.pathOf("fixed_value"), t.posOf("fixed_value"), "only one of regex and fixed_value may be set");
    return undefined;
  }
  if (tagName === undefined) return undefined;
  if (regexAt) {
    const pattern = stringValue(ctx, regexAt);
    if (pattern === undefined) return undefined;
    if (Buffer.byteLength(pattern) > 1024) {
      ctx.error(regexAt.path, regexAt.node, "must be at most 1024 bytes");
      return undefined;
    }
    // Envoy compiles stats_tags regexes with std::regex (ECMAScript grammar).
    if (checkRegex(ctx, regexAt, pattern, "ecmascript") === undefined) return undefined;
    return { tagName, regex: pattern };
  }
  if (fixedValue !== undefined) return { tagName, fixedValue };
  // Envoy: with neither, tag_name must be one of its default tag names (regex taken from the defaults).
  return { tagName };
}

function parseHistogramBucketSettings(ctx: Ctx, h: Message): HistogramBucketSetting | undefined {
  const matchMsg = msg(h, "match", "envoy.type.matcher.v3.StringMatcher");
  if (!matchMsg) h.required("match");
  const match = matchMsg ? parseStringMatcher(ctx, matchMsg) : undefined;
  const bucketsAt = h.get("buckets");
  const items = bucketsAt ? list(h, "buckets") : [];
  h.done();
  const buckets: number[] = [];
  let ok = true;
  for (const at of items) {
    const v = numberValue(ctx, at);
    if (v === undefined) ok = false;
    else if (!(v > 0)) {
      ctx.error(at.path, at.node, `must be greater than 0 (got ${v})`);
      ok = false;
    } else if (buckets.includes(v)) {
      ctx.error(at.path, at.node, `duplicate bucket ${v} (buckets must be unique)`);
      ok = false;
    } else buckets.push(v);
  }
  if (items.length === 0 && (!bucketsAt || bucketsAt.node.kind === "seq")) {
    ctx.error(h.pathOf("buckets"), bucketsAt?.node ?? h.node, "at least one bucket is required");
    ok = false;
  }
  if (!ok || !match) return undefined;
  return { match, buckets: buckets.sort((a, b) => a - b) };
}

const STRING_PATTERNS = ["exact", "prefix", "suffix", "safe_regex", "contains", "custom"];

/** envoy.type.matcher.v3.StringMatcher (`custom` extensions are not supported). */
export function parseStringMatcher(ctx: Ctx, m: Message): StringMatcherConfig | undefined {
  const given = STRING_PATTERNS.filter((p) => m.has(p));
  if (given.length === 0) m.required("exact", "one of exact, prefix, suffix, contains or safe_regex is required");
  if (given.length > 1) ctx.error(m.pathOf(given[1]!), m.posOf(given[1]!), `only one of ${given.join(", ")} may be set`);
  let ok = given.length === 1;
  const out: StringMatcherConfig = { ignoreCase: false };
  for (const k of ["exact", "prefix", "suffix", "contains"] as const) {
    const v = k === "exact" ? str(m, k) : str(m, k, { minLen: 1 });
    if (v !== undefined) out[k] = v;
    else if (m.has(k)) ok = false;
  }
  const re = msg(m, "safe_regex", "envoy.type.matcher.v3.RegexMatcher");
  if (re) {
    const r = parseRegexMatcher(ctx, re);
    if (r === undefined) ok = false;
    else out.safeRegex = r;
  }
  if (m.has("custom")) {
    m.unsupported("custom");
    ok = false;
  }
  out.ignoreCase = bool(m, "ignore_case") ?? false;
  if (out.ignoreCase && out.safeRegex !== undefined) {
    ctx.error(m.pathOf("ignore_case"), m.posOf("ignore_case"), "ignore_case has no effect for safe_regex");
    ok = false;
  }
  m.done();
  return ok ? out : undefined;
}
