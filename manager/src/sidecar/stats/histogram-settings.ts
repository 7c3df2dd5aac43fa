/**
 * Which bucket bounds a histogram gets, as Envoy's HistogramSettingsImpl
 * (source/common/stats/histogram_impl.cc) decides it from `stats_config.histogram_bucket_settings`:
 * the rules are tried in order against the histogram's full stat name (before tag extraction,
 * e.g. `wasmcustom.grpc_method=.=Echo;.;grpc_server_handling_seconds`), the first match wins,
 * and with no match the default buckets apply (0.5 … 3,600,000). A histogram keeps the bounds
 * it was created with. Matching follows envoy.type.matcher.v3.StringMatcher: exact, prefix,
 * suffix, contains (each optionally ignoring ASCII case) or safe_regex (a full match).
 */
import type { HistogramBucketSetting, StringMatcherConfig } from "../config/model.ts";
import { DEFAULT_BUCKETS } from "./log-linear-histogram.ts";

/** The bounds for a histogram of the given full name. */
export type BucketsFor = (statName: string) => readonly number[];

type Matcher = (name: string) => boolean;

function compile(m: StringMatcherConfig): Matcher {
  if (m.safeRegex !== undefined) {
    const re = new RegExp(`^(?:${m.safeRegex})$`, "u");
    return (name) => re.test(name);
  }
  const fold = m.ignoreCase ? (s: string) => s.toLowerCase() : (s: string) => s;
  if (m.exact !== undefined) {
    const v = fold(m.exact);
    return (name) => fold(name) === v;
  }
  if (m.prefix !== undefined) {
    const v = fold(m.prefix);
    return (name) => fold(name).startsWith(v);
  }
  if (m.suffix !== undefined) {
    const v = fold(m.suffix);
    return (name) => fold(name).endsWith(v);
  }
  if (m.contains !== undefined) {
    const v = fold(m.contains);
    return (name) => fold(name).includes(v);
  }
  throw new Error("StringMatcher without a pattern");
}

/** Builds the lookup; with no rules every histogram gets Envoy's default buckets. */
export function histogramBuckets(settings: readonly HistogramBucketSetting[] = []): BucketsFor {
  const rules = settings.map((s) => ({
    matches: compile(s.match),
    buckets: Object.freeze([...s.buckets].sort((a, b) => a - b)) as readonly number[],
  }));
  return (statName) => {
    for (const r of rules) if (r.matches(statName)) return r.buckets;
    return DEFAULT_BUCKETS;
  };
}
