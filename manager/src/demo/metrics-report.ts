/**
 * What the grpc-metrics filter counted, as the demo prints it: per gRPC method the RPCs, their
 * rate over the burst, the final codes and the p50 / p99 latency, read from the sidecar's
 * `/stats/prometheus` text (Prometheus exposition format 0.0.4) or from a Prometheus query.
 *
 * Pure. Quantiles follow Prometheus's `histogram_quantile` (promql/quantile.go, bucketQuantile):
 * the rank q·count falls in the first bucket whose cumulative count reaches it, and the value is
 * interpolated linearly inside that bucket (from 0 for the first bucket); a rank in the +Inf
 * bucket gives the highest finite bound.
 */

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Samples of an exposition text (comments skipped; label values unescaped). */
export function parsePrometheusText(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const brace = line.indexOf("{");
    const space = line.lastIndexOf(" ");
    if (space < 0) continue;
    const name = brace >= 0 && brace < space ? line.slice(0, brace) : line.slice(0, space);
    const labels: Record<string, string> = {};
    if (brace >= 0 && brace < space) {
      const body = line.slice(brace + 1, line.lastIndexOf("}"));
      for (const m of body.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
        labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_s, c: string) => (c === "n" ? "\n" : c));
      }
    }
    out.push({ name, labels, value: Number(line.slice(space + 1)) });
  }
  return out;
}

export interface Bucket {
  le: number;
  count: number;
}

/** Prometheus's histogram_quantile over cumulative buckets (+Inf included); NaN without samples. */
export function histogramQuantile(q: number, buckets: Bucket[]): number {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted.at(-1)?.count ?? 0;
  if (sorted.length < 2 || total === 0 || sorted.at(-1)!.le !== Infinity) return NaN;
  const rank = q * total;
  let i = sorted.findIndex((b) => b.count >= rank);
  if (i < 0) i = sorted.length - 1;
  if (sorted[i]!.le === Infinity) return sorted[sorted.length - 2]!.le;
  const lower = i === 0 ? 0 : sorted[i - 1]!.le;
  const below = i === 0 ? 0 : sorted[i - 1]!.count;
  const inBucket = sorted[i]!.count - below;
  return inBucket === 0 ? sorted[i]!.le : lower + ((sorted[i]!.le - lower) * (rank - below)) / inBucket;
}

export interface MethodMetrics {
  service: string;
  method: string;
  rpcs: number;
  byCode: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
}

/** Per-method rows from the filter's `grpc_<side>_handled_total` and latency histogram samples. */
export function methodMetrics(samples: PromSample[], side: "server" | "client" = "server"): MethodMetrics[] {
  const rows = new Map<string, MethodMetrics>();
  const buckets = new Map<string, Map<number, number>>();
  const key = (l: Record<string, string>) => `${l.grpc_service ?? ""}/${l.grpc_method ?? ""}`;
  const row = (l: Record<string, string>) => {
    const k = key(l);
    let r = rows.get(k);
    if (!r) rows.set(k, (r = { service: l.grpc_service ?? "", method: l.grpc_method ?? "", rpcs: 0, byCode: {}, p50Ms: NaN, p99Ms: NaN }));
    return r;
  };
  for (const s of samples) {
    if (s.name === `grpc_${side}_handled_total` && s.value > 0) {
      const r = row(s.labels);
      r.rpcs += s.value;
      const code = s.labels.grpc_code ?? "";
      r.byCode[code] = (r.byCode[code] ?? 0) + s.value;
    } else if (s.name === `grpc_${side}_handling_milliseconds_bucket`) {
      // Summed over grpc_type, as `sum by (grpc_service, grpc_method, le)` would.
      const k = key(s.labels);
      const le = s.labels.le === "+Inf" ? Infinity : Number(s.labels.le);
      const m = buckets.get(k) ?? new Map<number, number>();
      m.set(le, (m.get(le) ?? 0) + s.value);
      buckets.set(k, m);
    }
  }
  for (const [k, m] of buckets) {
    const r = rows.get(k);
    if (!r) continue;
    const list = [...m].map(([le, count]) => ({ le, count }));
    r.p50Ms = histogramQuantile(0.5, list);
    r.p99Ms = histogramQuantile(0.99, list);
  }
  return [...rows.values()].sort((a, b) => b.rpcs - a.rpcs || (a.service + a.method < b.service + b.method ? -1 : 1));
}

const fmt = (n: number, digits = 0) =>
  Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "-";

/** The per-method table; `durationMs` (the burst's) turns counts into rates. */
export function formatMethodMetrics(rows: MethodMetrics[], durationMs: number): string {
  const header = ["method", "RPCs", "RPC/s", "p50 ms", "p99 ms", "codes"];
  const body = rows.map((r) => [
    `${r.service}/${r.method}`,
    fmt(r.rpcs),
    fmt(durationMs > 0 ? (r.rpcs * 1000) / durationMs : NaN, 1),
    fmt(r.p50Ms, 1),
    fmt(r.p99Ms, 1),
    Object.entries(r.byCode)
      .sort((a, b) => b[1] - a[1])
      .map(([c, n]) => `${c} ${fmt(n)}`)
      .join(", "),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd();
  return [line(header), ...body.map(line)].join("\n");
}
