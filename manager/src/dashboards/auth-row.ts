/**
 * The Auth row of the "meshwasm / gRPC" dashboard: what the grpc-auth filter decided, from its
 * own counters (auth-queries.ts). A collapsed row (Grafana keeps a row's own panels only when it
 * is collapsed) holding:
 *
 *  - Decisions by rule: allowed, denied and shadow-denied calls per second, per rule;
 *  - Denied share: denied / (allowed + denied);
 *  - Denials by code: per second by gRPC code (Unauthenticated 16, PermissionDenied 7) and rule;
 *  - Denials by method: per second by method and code (honours the service / method variables);
 *  - Shadow denials (dry run): by the rule that would have denied, and by method;
 *  - Top denied methods over the dashboard's range.
 *
 * Panels are the same classic-model timeseries / table panels as the other rows, reading the
 * dashboard's datasource variable. Their ids start at AUTH_PANEL_ID_BASE (the dashboard numbers
 * only its top-level panels). Pure.
 */
import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import { graph, target, topTable } from "./panels.ts";
import { AUTH_QUERIES } from "./auth-queries.ts";

export const AUTH_ROW_TITLE = "Auth";
export const AUTH_PANEL_ID_BASE = 101;

/** A shared graph panel with this row's panel id. */
const numberedGraph = (id: number, ...args: Parameters<typeof graph>) => graph(...args).id(id);

/** The Auth row with its panels (collapsed). */
export function authRow(): dashboard.RowBuilder {
  let id = AUTH_PANEL_ID_BASE;
  return new dashboard.RowBuilder(AUTH_ROW_TITLE)
    .withPanel(numberedGraph(id++, "Auth decisions by rule", "reqps",
      "Calls per second the grpc-auth filter allowed, denied, or would have denied under a dry-run rule (shadow_denied), by the rule that decided (_default: no rule matched; _authn: an invalid credential; _malformed_path: not a gRPC method path). grpc_auth_decisions_total.",
      [target(AUTH_QUERIES.decisionsByRule, "{{auth_rule}} {{auth_decision}}")]))
    .withPanel(numberedGraph(id++, "Denied share", "percentunit",
      "Denied calls / (allowed + denied) calls. Dry-run (shadow) denials let the call through and are not counted here.",
      [target(AUTH_QUERIES.deniedRatio, "denied")]))
    .withPanel(numberedGraph(id++, "Denials by code", "reqps",
      "Denied calls per second by gRPC code: Unauthenticated (16: credentials missing or invalid) and PermissionDenied (7: a valid identity that is not allowed), with the deciding rule.",
      [target(AUTH_QUERIES.denialsByCode, "{{grpc_code}} ({{auth_rule}})")]))
    .withPanel(numberedGraph(id++, "Denials by method", "reqps",
      "Denied calls per second by method and code (grpc_auth_denials_total; methods beyond the filter's max_method_series count as other).",
      [target(AUTH_QUERIES.denialsByMethod, "{{grpc_service}}/{{grpc_method}} {{grpc_code}}")]))
    .withPanel(numberedGraph(id++, "Shadow denials (dry run)", "reqps",
      "Calls a dry-run rule would have denied (they were let through), by rule and by method: what enforcing the rule would change.",
      [target(AUTH_QUERIES.shadowByRule, "{{auth_rule}} {{grpc_code}}"), target(AUTH_QUERIES.shadowByMethod, "{{grpc_service}}/{{grpc_method}} {{grpc_code}}", "B")]))
    .withPanel(topTable("Top denied methods", "The ten methods with the most denials over the dashboard's time range, by code.", AUTH_QUERIES.topDenied, "denials").id(id++));
}

/** Titles of the row's panels (for tests and tools that treat the row apart). */
export const AUTH_PANEL_TITLES = ["Auth decisions by rule", "Denied share", "Denials by code", "Denials by method", "Shadow denials (dry run)", "Top denied methods"] as const;
