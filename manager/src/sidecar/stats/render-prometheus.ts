/**
 * `/stats/prometheus` exactly as Envoy's PrometheusStatsFormatter writes it
 * (source/server/admin/prometheus_stats.cc):
 * - counters, then gauges, then histograms; within each, one family per tag-extracted name,
 *   families in stat-name order, each introduced by `# TYPE <name> counter|gauge|histogram`,
 *   its series sorted by full stat name;
 * - family names: `envoy_` + sanitized tag-extracted name for built-in stats; stats in the
 *   `wasmcustom` namespace lose the namespace and get no prefix (envoy#17357), and are dropped
 *   when the result would start with a digit; sanitizing turns [^a-zA-Z0-9_] into `_`;
 * - labels are the extracted tags in extraction order (`name{}` when there are none), names
 *   sanitized, values escaped (`\\`, `\n`, `\"`);
 * - histograms: `_bucket{le="..."}` for the histogram's bounds (stats_config
 *   histogram_bucket_settings, else Envoy's defaults; printed `%.32g`), cumulative, `le="+Inf"`,
 *   `_sum` (`%.32g`) and `_count`, with Envoy's log-linear approximations (store.ts).
 * `usedonly` and `filter` (searched in the full stat name) select stats.
 */
import type { Counter, Gauge, Histogram, StatsStore } from "./types.ts";
import type { Tag, TagExtractors } from "./tag-extractor.ts";
import {
  compareStatNames,
  formatG32,
  shouldShow,
  stripCustomNamespace,
  type StatsParams,
} from "./render-support.ts";

const sanitizeName = (name: string): string => name.replace(/[^a-zA-Z0-9_]/g, "_");

const sanitizeValue = (value: string): string =>
  value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');

/** PrometheusStatsFormatter::metricName; null when Envoy skips the family. */
export function prometheusMetricName(tagExtractedName: string): string | null {
  const custom = stripCustomNamespace(tagExtractedName);
  if (custom !== null) {
    const sanitized = sanitizeName(custom);
    return sanitized === "" || /^[0-9]/.test(sanitized) ? null : sanitized;
  }
  return `envoy_${sanitizeName(tagExtractedName)}`;
}

/** PrometheusStatsFormatter::formattedTags. */
export function formattedTags(tags: readonly Tag[]): string {
  return tags.map((t) => `${sanitizeName(t.name)}="${sanitizeValue(t.value)}"`).join(",");
}

type Stat = Counter | Gauge | Histogram;

function outputStatType<S extends Stat>(
  stats: S[],
  params: StatsParams,
  extractors: TagExtractors,
  type: "counter" | "gauge" | "histogram",
  generate: (stat: S, family: string, tags: Tag[]) => string,
): string {
  const groups = new Map<string, Array<{ stat: S; tags: Tag[] }>>();
  for (const stat of stats) {
    if (!shouldShow(stat, params)) continue;
    const { tagExtractedName, tags } = extractors.extract(stat.name);
    let g = groups.get(tagExtractedName);
    if (!g) groups.set(tagExtractedName, (g = []));
    g.push({ stat, tags });
  }
  let out = "";
  for (const name of [...groups.keys()].sort(compareStatNames)) {
    const family = prometheusMetricName(name);
    if (family === null) continue;
    out += `# TYPE ${family} ${type}\n`;
    const members = groups.get(name)!.sort((a, b) => compareStatNames(a.stat.name, b.stat.name));
    for (const m of members) out += generate(m.stat, family, m.tags);
  }
  return out;
}

function numericOutput(stat: Counter | Gauge, family: string, tags: Tag[]): string {
  return `${family}{${formattedTags(tags)}} ${stat.value()}\n`;
}

function histogramOutput(h: Histogram, family: string, tagList: Tag[]): string {
  const tags = formattedTags(tagList);
  const histTags = tagList.length === 0 ? "" : `${tags},`;
  const snap = h.snapshot();
  let out = "";
  for (let i = 0; i < snap.bounds.length; i++) {
    out += `${family}_bucket{${histTags}le="${formatG32(snap.bounds[i]!)}"} ${snap.cumulative[i]}\n`;
  }
  out += `${family}_bucket{${histTags}le="+Inf"} ${snap.count}\n`;
  out += `${family}_sum{${tags}} ${formatG32(snap.sum)}\n`;
  out += `${family}_count{${tags}} ${snap.count}\n`;
  return out;
}

export function renderPrometheus(store: StatsStore, extractors: TagExtractors, params: StatsParams): string {
  return (
    outputStatType(store.counters(), params, extractors, "counter", numericOutput) +
    outputStatType(store.gauges(), params, extractors, "gauge", numericOutput) +
    outputStatType(store.histograms(), params, extractors, "histogram", histogramOutput)
  );
}
