/**
 * `/stats` (text) and `/stats?format=json`, as Envoy's admin renders them
 * (source/server/admin/stats_render.cc, stats_request.cc, histogram_impl.cc):
 * - text: counters and gauges merged and sorted by name, `name: value`, then histograms
 *   sorted by name, `name: P0(interval,cumulative) P25(...) ... P100(...)` or
 *   `name: No recorded values`; quantile values print like fmt's `{}` ("nan" when empty);
 * - json: `{"stats":[{"name","value"}...,{"histograms":{"supported_quantiles":[...],
 *   "computed_quantiles":[{"name","values":[{"interval","cumulative"}...]}]}}]}` with null for
 *   a missing quantile;
 * - stats in the `wasmcustom` namespace are shown without the `wasmcustom.` prefix;
 * - `usedonly` and `filter` (regex searched in the full name) select stats.
 */
import type { Histogram, StatsStore } from "./types.ts";
import { SUPPORTED_QUANTILES, approxQuantiles } from "./log-linear-histogram.ts";
import {
  compareStrings,
  formatShortest,
  histogramBins,
  isUsed,
  shouldShow,
  stripCustomNamespace,
  type StatsParams,
} from "./render-support.ts";

const displayName = (name: string): string => stripCustomNamespace(name) ?? name;

interface Quantiles {
  used: boolean;
  interval: number[];
  cumulative: number[];
}

function quantiles(h: Histogram): Quantiles {
  const bins = histogramBins(h);
  return {
    used: isUsed(h),
    interval: approxQuantiles(bins.interval, SUPPORTED_QUANTILES),
    cumulative: approxQuantiles(bins.cumulative, SUPPORTED_QUANTILES),
  };
}

/** Envoy's quantile labels: P0 P25 P50 P75 P90 P95 P99 P99.5 P99.9 P100. */
const QUANTILE_LABELS = SUPPORTED_QUANTILES.map((q) => `P${formatShortest(Math.round(q * 1000) / 10)}`);

/** ParentHistogramImpl::quantileSummary(). */
export function quantileSummary(h: Histogram): string {
  const q = quantiles(h);
  if (!q.used) return "No recorded values";
  return QUANTILE_LABELS.map(
    (label, i) => `${label}(${formatShortest(q.interval[i]!)},${formatShortest(q.cumulative[i]!)})`,
  ).join(" ");
}

interface Numeric {
  name: string;
  value: bigint;
}

function numericStats(store: StatsStore, params: StatsParams): Numeric[] {
  const out: Numeric[] = [];
  for (const s of [...store.counters(), ...store.gauges()]) {
    if (shouldShow(s, params)) out.push({ name: displayName(s.name), value: s.value() });
  }
  return out.sort((a, b) => compareStrings(a.name, b.name));
}

function histogramStats(store: StatsStore, params: StatsParams): Array<{ name: string; h: Histogram }> {
  return store
    .histograms()
    .filter((h) => shouldShow(h, params))
    .map((h) => ({ name: displayName(h.name), h }))
    .sort((a, b) => compareStrings(a.name, b.name));
}

export function renderStatsText(store: StatsStore, params: StatsParams): string {
  let out = "";
  for (const s of numericStats(store, params)) out += `${s.name}: ${s.value}\n`;
  for (const { name, h } of histogramStats(store, params)) out += `${name}: ${quantileSummary(h)}\n`;
  return out;
}

const jsonNumber = (x: number): number | null => (Number.isFinite(x) ? x : null);

export function renderStatsJson(store: StatsStore, params: StatsParams): string {
  const stats: unknown[] = numericStats(store, params).map((s) => ({
    name: s.name,
    value: s.value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(s.value) : s.value.toString(),
  }));
  const hs = histogramStats(store, params);
  if (hs.length > 0) {
    stats.push({
      histograms: {
        supported_quantiles: SUPPORTED_QUANTILES.map((q) => Math.round(q * 1000) / 10),
        computed_quantiles: hs.map(({ name, h }) => {
          const q = quantiles(h);
          return {
            name,
            values: q.cumulative.map((c, i) => ({
              interval: jsonNumber(q.interval[i]!),
              cumulative: jsonNumber(c),
            })),
          };
        }),
      },
    });
  }
  return JSON.stringify({ stats });
}
