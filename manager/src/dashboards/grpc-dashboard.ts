/**
 * The "meshwasm / gRPC" Grafana dashboard, built with Grafana's typed builders
 * (@grafana/grafana-foundation-sdk; classic dashboard JSON model, which Grafana's file
 * provisioning and the ConfigMap sidecar load). Pure: the same input gives the same JSON.
 *
 * Variables: datasource (any Prometheus), namespace, workload, service, method (multi-select,
 * "All" = `.*`, each narrowed by the ones before it). Rows: Traffic (request rate, started
 * rate, rates by gRPC code), Errors (the server-error ratio as OpenTelemetry classes server
 * errors, overall and per method), Latency (p50 / p90 / p99 from the handling-time histogram),
 * Messages and in-flight (messages per second each way, in-flight calls), Top methods (by rate
 * and by errors over the dashboard's range), then the collapsed Auth and Balancer rows of the
 * grpc-auth and grpc-balancer filters (auth-row.ts, balancer-row.ts). Queries are in
 * grpc-queries.ts.
 */
import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import { QUERIES, VARIABLE_QUERIES } from "./grpc-queries.ts";
import { DATASOURCE, graph, target, topTable } from "./panels.ts";
import { balancerRow } from "./balancer-row.ts";
import { authRow } from "./auth-row.ts";

export const GRPC_DASHBOARD_UID = "meshwasm-grpc";

function variable(name: string, label: string, query: string): dashboard.QueryVariableBuilder {
  return new dashboard.QueryVariableBuilder(name)
    .label(label)
    .datasource(DATASOURCE)
    .query(query)
    .definition(query)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue(".*")
    .current({ selected: true, text: ["All"], value: ["$__all"] });
}

/** The gRPC dashboard as Grafana's dashboard JSON model. */
export function buildGrpcDashboard(): dashboard.Dashboard {
  const builder = new dashboard.DashboardBuilder("meshwasm / gRPC")
    .uid(GRPC_DASHBOARD_UID)
    .description("Per-method gRPC metrics from the meshwasm grpc-metrics filter (Istio sidecars).")
    .tags(["meshwasm", "grpc", "istio"])
    .editable()
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .refresh("30s")
    .time({ from: "now-30m", to: "now" })
    .timezone("browser")
    .withVariable(new dashboard.DatasourceVariableBuilder("datasource").label("Data source").type("prometheus"))
    .withVariable(variable("namespace", "Namespace", VARIABLE_QUERIES.namespace))
    .withVariable(variable("workload", "Workload", VARIABLE_QUERIES.workload))
    .withVariable(variable("service", "Service", VARIABLE_QUERIES.service))
    .withVariable(variable("method", "Method", VARIABLE_QUERIES.method))

    .withRow(new dashboard.RowBuilder("Traffic"))
    .withPanel(graph("Request rate", "reqps", "Completed RPCs per second, by method (grpc_server_handled_total).", [
      target(QUERIES.requestRate, "{{grpc_service}}/{{grpc_method}}"),
    ]))
    .withPanel(graph("Responses by gRPC code", "reqps", "Completed RPCs per second, by grpc_code.", [
      target(QUERIES.ratesByCode, "{{grpc_code}}"),
      target(QUERIES.startedRate, "started", "B"),
    ]))

    .withRow(new dashboard.RowBuilder("Errors"))
    .withPanel(graph(
      "Server error ratio",
      "percentunit",
      "Share of RPCs that ended with a server-side error as OpenTelemetry classes them (Unknown, DeadlineExceeded, Unimplemented, Internal, Unavailable, DataLoss). Denials and bad requests are not server errors; HTTP status is not used (gRPC errors travel with HTTP 200).",
      [target(QUERIES.errorRatio, "server errors")],
    ))
    .withPanel(graph("Server error ratio by method", "percentunit", "The same ratio per method.", [
      target(QUERIES.errorRatioByMethod, "{{grpc_service}}/{{grpc_method}}"),
    ]))

    .withRow(new dashboard.RowBuilder("Latency"))
    .withPanel(graph("Handling time p50 / p90 / p99", "s", "Quantiles of the handling time (grpc_server_handling_milliseconds, shown in seconds) over all selected methods.", [
      target(QUERIES.latency(0.5), "p50"),
      target(QUERIES.latency(0.9), "p90", "B"),
      target(QUERIES.latency(0.99), "p99", "C"),
    ], 24))

    .withRow(new dashboard.RowBuilder("Messages and in-flight"))
    .withPanel(graph("Messages per second", "ops", "Stream messages received from clients and sent to them.", [
      target(QUERIES.msgReceived, "received"),
      target(QUERIES.msgSent, "sent", "B"),
    ]))
    .withPanel(graph("In-flight calls", "short", "RPCs started and not yet finished (grpc_server_in_flight).", [
      target(QUERIES.inFlight, "{{grpc_service}}/{{grpc_method}}"),
    ]))

    .withRow(new dashboard.RowBuilder("Top methods"))
    .withPanel(topTable("Top methods by rate", "The ten busiest methods over the dashboard's time range (RPCs per second).", QUERIES.topByRate))
    .withPanel(topTable("Top methods by server errors", "The ten methods with the most server errors over the dashboard's time range, by code.", QUERIES.topByErrors))

    .withRow(authRow())
    .withRow(balancerRow());
  const built = builder.build();
  // Stable panel ids (the builders leave them to Grafana, which numbers them on load).
  built.panels?.forEach((p, i) => (p.id = i + 1));
  return built;
}
