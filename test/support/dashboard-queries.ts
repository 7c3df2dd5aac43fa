/**
 * Runs a generated Grafana dashboard's queries against a real Prometheus (test/support/
 * prometheus.ts), as Grafana would send them: every panel target (rows' nested panels included)
 * and every `label_values(...)` variable query, with the dashboard's variables substituted the
 * way Grafana's Prometheus data source interpolates them (All -> the variable's allValue; one or
 * several values regex-escaped for a PromQL string, several as `(a|b)`) and Grafana's built-ins (`$__rate_interval`,
 * `$__interval`, `$__range`, `$__range_s`) replaced by fixed durations.
 *
 * `checkDashboardQueries` fails (one Error listing every offender) when Prometheus rejects a
 * query or, unless allowed, a query returns no data; it returns what each query returned.
 */
import { PromQueryError, type QueryResult, type TestPrometheus } from "./prometheus.ts";

interface Target {
  expr?: string;
  refId?: string;
  instant?: boolean;
}
interface PanelLike {
  type: string;
  title?: string;
  targets?: Target[];
  panels?: PanelLike[];
}
interface VariableLike {
  name: string;
  type: string;
  query?: unknown;
  allValue?: string;
}
/** Grafana's dashboard JSON model, as far as the queries go (the SDK's Dashboard fits it). */
export interface DashboardLike {
  panels?: readonly unknown[];
  templating: { list?: readonly VariableLike[] };
}

export interface PanelQuery {
  panel: string;
  refId: string;
  expr: string;
  instant: boolean;
}

/** Every query of every panel, rows' nested panels included, in dashboard order. */
export function panelQueries(dashboard: DashboardLike): PanelQuery[] {
  const out: PanelQuery[] = [];
  const visit = (p: PanelLike) => {
    for (const t of p.targets ?? []) {
      if (t.expr) out.push({ panel: p.title ?? p.type, refId: t.refId ?? "", expr: t.expr, instant: t.instant === true });
    }
    for (const child of p.panels ?? []) visit(child);
  };
  for (const p of (dashboard.panels ?? []) as PanelLike[]) visit(p);
  return out;
}

/** A variable's value: "All", one value, or several. */
export type VariableValue = "All" | string | string[];

export interface Interpolation {
  /** Variable name -> value; a variable not named is "All". */
  values?: Record<string, VariableValue>;
  rateInterval?: string;
  interval?: string;
  range?: string;
}

/**
 * Grafana's prometheusRegularEscape: a regex metacharacter gets a backslash, itself escaped for
 * the PromQL string literal it lands in (`a.b` -> `a\\.b` in the query text).
 */
const escapeRegex = (v: string) => v.replace(/\\/g, "\\\\\\\\").replace(/[$^*{}[\]'+?.()|]/g, "\\\\$&");

function durationSeconds(d: string): number {
  const m = /^(\d+)(s|m|h)$/.exec(d);
  if (!m) throw new Error(`unsupported duration ${d}`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as "s" | "m" | "h"];
}

/** Grafana's interpolation of `$name` / `${name}` in a Prometheus query. */
export function interpolate(expr: string, dashboard: DashboardLike, opts: Interpolation = {}): string {
  const range = opts.range ?? "5m";
  const builtins: Record<string, string> = {
    __rate_interval: opts.rateInterval ?? "10s",
    __interval: opts.interval ?? "1s",
    __range: range,
    __range_s: String(durationSeconds(range)),
  };
  const variables = new Map((dashboard.templating.list ?? []).map((v) => [v.name, v]));
  return expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare)!;
    if (name in builtins) return builtins[name]!;
    const variable = variables.get(name);
    if (!variable) return whole;
    const value = opts.values?.[name] ?? "All";
    if (value === "All") return variable.allValue ?? ".*";
    const list = Array.isArray(value) ? value : [value];
    return list.length === 1 ? escapeRegex(list[0]!) : `(${list.map(escapeRegex).join("|")})`;
  });
}

export interface QueryOutcome extends PanelQuery {
  interpolated: string;
  result?: QueryResult;
  error?: string;
  /** Number of series (vector / matrix) or 1 for a scalar. */
  series: number;
}

function seriesCount(r: QueryResult): number {
  if (r.resultType === "vector" || r.resultType === "matrix") return r.result.length;
  return 1;
}

/**
 * Runs every panel query; throws one Error naming each query Prometheus rejected or (unless
 * `allowEmpty` lists its panel) that returned no series.
 */
export async function checkDashboardQueries(
  prom: TestPrometheus,
  dashboard: DashboardLike,
  opts: Interpolation & { allowEmpty?: string[] } = {},
): Promise<QueryOutcome[]> {
  const outcomes: QueryOutcome[] = [];
  for (const q of panelQueries(dashboard)) {
    const interpolated = interpolate(q.expr, dashboard, opts);
    try {
      const result = await prom.query(interpolated);
      outcomes.push({ ...q, interpolated, result, series: seriesCount(result) });
    } catch (e) {
      if (!(e instanceof PromQueryError)) throw e;
      outcomes.push({ ...q, interpolated, error: e.message, series: 0 });
    }
  }
  const bad = outcomes.filter((o) => o.error !== undefined || (o.series === 0 && !(opts.allowEmpty ?? []).includes(o.panel)));
  if (bad.length > 0) {
    throw new Error(
      `dashboard queries failed:\n${bad.map((o) => `  ${o.panel} [${o.refId}]: ${o.error ?? "no data"}: ${o.interpolated}`).join("\n")}`,
    );
  }
  return outcomes;
}

/**
 * Runs every `label_values(<selector>, <label>)` variable query through the series API, with the
 * variables substituted; returns the values each variable would offer, and throws when one
 * offers none.
 */
export async function checkVariableQueries(
  prom: TestPrometheus,
  dashboard: DashboardLike,
  opts: Interpolation = {},
): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const v of dashboard.templating.list ?? []) {
    if (v.type !== "query" || typeof v.query !== "string") continue;
    const m = /^label_values\((.+),\s*(\w+)\)$/.exec(v.query.trim());
    if (!m) throw new Error(`variable ${v.name}: not a label_values query: ${v.query}`);
    const selector = interpolate(m[1]!, dashboard, opts);
    const series = await prom.series(selector);
    const values = [...new Set(series.map((s) => s[m[2]!]).filter((x): x is string => x !== undefined))].sort();
    if (values.length === 0) throw new Error(`variable ${v.name} offers no value: ${selector} has no series with ${m[2]}`);
    out[v.name] = values;
  }
  return out;
}
