/**
 * The panel builders every row of the "meshwasm / gRPC" dashboard shares: Prometheus targets on
 * the dashboard's `datasource` variable, classic-model timeseries panels (rate-style, from 0, legend
 * at the bottom, multi-series tooltip) and instant "top N" tables. Pure: each call returns a new
 * builder of @grafana/grafana-foundation-sdk.
 */
import * as prometheus from "@grafana/grafana-foundation-sdk/prometheus";
import * as timeseries from "@grafana/grafana-foundation-sdk/timeseries";
import * as table from "@grafana/grafana-foundation-sdk/table";
import * as common from "@grafana/grafana-foundation-sdk/common";

/** The dashboard's `datasource` variable (any Prometheus). */
export const DATASOURCE: common.DataSourceRef = { type: "prometheus", uid: "${datasource}" };

/** A range query drawn as one series per legend value. */
export function target(expr: string, legend: string, refId = "A"): prometheus.DataqueryBuilder {
  return new prometheus.DataqueryBuilder().expr(expr).legendFormat(legend).refId(refId).datasource(DATASOURCE);
}

/** An instant query in table form (one row per series). */
export function instantTable(expr: string, refId = "A"): prometheus.DataqueryBuilder {
  return new prometheus.DataqueryBuilder()
    .expr(expr)
    .instant()
    .format(prometheus.PromQueryFormat.Table)
    .legendFormat("__auto")
    .refId(refId)
    .datasource(DATASOURCE);
}

/** A timeseries panel of `width` grid columns (24 is the full width), 8 rows high. */
export function graph(title: string, unit: string, description: string, targets: prometheus.DataqueryBuilder[], width = 12): timeseries.PanelBuilder {
  const p = new timeseries.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(DATASOURCE)
    .unit(unit)
    .min(0)
    .fillOpacity(10)
    .span(width)
    .height(8)
    .legend(new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom))
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending));
  for (const t of targets) p.withTarget(t);
  return p;
}

/** A half-width table of an instant query, without the time column, its value column named `valueName`. */
export function topTable(title: string, description: string, expr: string, valueName = "value"): table.PanelBuilder {
  return new table.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(DATASOURCE)
    .span(12)
    .height(8)
    .withTarget(instantTable(expr))
    .withTransformation({ id: "organize", options: { excludeByName: { Time: true }, renameByName: { Value: valueName } } });
}
