/**
 * Pieces shared by the /stats renderers: query parameters (`filter`, `usedonly`, as in
 * Envoy's source/server/admin/stats_params.cc), the `used` flag, histogram bins, the
 * `wasmcustom` custom stat namespace (source/common/stats/custom_stat_namespaces_impl.cc),
 * Envoy's stat-name order and the two ways Envoy prints doubles (fmt `{}` and `{:.32g}`).
 */
import type { Counter, Gauge, Histogram } from "./types.ts";
import type { Bins } from "./log-linear-histogram.ts";

/** The namespace proxy-wasm custom metrics live in (Envoy's CustomStatNamespace). */
export const WASM_CUSTOM_NAMESPACE = "wasmcustom";

/** A query parameter Envoy would reject with 400 Bad Request. */
export class InvalidStatsParams extends Error {
  override readonly name = "InvalidStatsParams";
}

export interface StatsParams {
  usedOnly: boolean;
  /** `filter=<regex>`, searched (not anchored) in the full stat name. */
  filter: RegExp | null;
}

/** Parses `usedonly` and `filter`; throws InvalidStatsParams for an invalid filter regex. */
export function parseStatsParams(query: URLSearchParams): StatsParams {
  const raw = query.get("filter");
  let filter: RegExp | null = null;
  if (raw !== null && raw !== "") {
    try {
      filter = new RegExp(raw);
    } catch {
      throw new InvalidStatsParams("Invalid re2 regex");
    }
  }
  return { usedOnly: query.has("usedonly"), filter };
}

/** Envoy's Metric::used(): written at least once (falls back to "non-zero" for foreign stats). */
export function isUsed(stat: Counter | Gauge | Histogram): boolean {
  const s = stat as { used?: () => boolean };
  if (typeof s.used === "function") return s.used();
  if ("value" in stat) return stat.value() !== 0n;
  return stat.snapshot().count > 0;
}

export function shouldShow(stat: Counter | Gauge | Histogram, params: StatsParams): boolean {
  if (params.usedOnly && !isUsed(stat)) return false;
  if (params.filter) {
    params.filter.lastIndex = 0;
    if (!params.filter.test(stat.name)) return false;
  }
  return true;
}

/** Cumulative and last-interval bins of a histogram (empty for foreign implementations). */
export function histogramBins(h: Histogram): { cumulative: Bins; interval: Bins } {
  const x = h as { cumulativeBins?: () => Bins; intervalBins?: () => Bins };
  return {
    cumulative: x.cumulativeBins?.() ?? new Map(),
    interval: x.intervalBins?.() ?? new Map(),
  };
}

/** "wasmcustom.foo.bar" -> "foo.bar"; null when the name is not in the custom namespace. */
export function stripCustomNamespace(name: string): string | null {
  const dot = name.indexOf(".");
  return dot >= 0 && name.slice(0, dot) === WASM_CUSTOM_NAMESPACE ? name.slice(dot + 1) : null;
}

/** Envoy's StatNameLessThan: compares dot-separated tokens one by one. */
export function compareStatNames(a: string, b: string): number {
  const ta = a.split(".");
  const tb = b.split(".");
  const n = Math.min(ta.length, tb.length);
  for (let i = 0; i < n; i++) {
    if (ta[i] !== tb[i]) return ta[i]! < tb[i]! ? -1 : 1;
  }
  return ta.length - tb.length;
}

/** Plain byte-wise string order (std::map<std::string, ...>). */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function withExponent(x: number, digits?: number): string {
  const [mant, exp] = x.toExponential(digits).split("e") as [string, string];
  const sign = exp.startsWith("-") ? "-" : "+";
  const abs = exp.replace(/^[+-]/, "");
  return `${mant}e${sign}${abs.padStart(2, "0")}`;
}

/** fmt's `{}` for a double: shortest round-trip, exponent outside [1e-4, 1e16), "nan", "inf". */
export function formatShortest(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return "0";
  const e = Math.floor(Math.log10(Math.abs(x)));
  if (e < -4 || e >= 16) return withExponent(x);
  return String(x);
}

/** printf `%.32g`: 32 significant digits, trailing zeros removed. */
export function formatG32(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return "0";
  const e = Number(x.toExponential(31).split("e")[1]);
  if (e < -4 || e >= 32) {
    const s = withExponent(x, 31);
    return s.replace(/\.?0+e/, "e");
  }
  if (Math.abs(x) >= 1e21) return BigInt(x).toString(); // integral at this magnitude
  const fixed = x.toFixed(Math.max(0, 31 - e));
  return fixed.includes(".") ? fixed.replace(/\.?0+$/, "") : fixed;
}
