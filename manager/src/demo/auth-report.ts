/**
 * What the grpc-auth filter decided, as the demo prints it: one row per (rule, decision, code)
 * from the filter's `grpc_auth_decisions_total{auth_rule, auth_decision, grpc_code}` samples
 * (the sidecar's `/stats/prometheus`, parsed by metrics-report.ts), and the totals — allowed,
 * denied by code, shadow-denied (a dry-run rule would have denied; the call went through).
 * filters/grpc-auth/README.md ("Stats") defines the counter. Pure.
 */
import type { PromSample } from "./metrics-report.ts";

export const DECISIONS_METRIC = "grpc_auth_decisions_total";

export type AuthDecision = "allowed" | "denied" | "shadow_denied" | "audited";

export interface AuthDecisionRow {
  rule: string;
  decision: AuthDecision;
  /** grpc-go code name: OK, PermissionDenied, Unauthenticated. */
  code: string;
  count: number;
}

export interface AuthTotals {
  allowed: number;
  denied: number;
  /** Denials by code name. */
  deniedByCode: Record<string, number>;
  shadowDenied: number;
}

const ORDER: Record<AuthDecision, number> = { allowed: 0, denied: 1, shadow_denied: 2, audited: 3 };
const DECISIONS = new Set(Object.keys(ORDER));
const CODE_NUMBERS: Record<string, number> = { OK: 0, PermissionDenied: 7, Unauthenticated: 16 };

/** Rows of the decisions counter (series at 0 left out), allowed first, then denied, shadow, audited; busiest first within each. */
export function authDecisions(samples: PromSample[]): AuthDecisionRow[] {
  const rows = new Map<string, AuthDecisionRow>();
  for (const s of samples) {
    if (s.name !== DECISIONS_METRIC || !(s.value > 0)) continue;
    const decision = s.labels.auth_decision ?? "";
    if (!DECISIONS.has(decision)) continue;
    const rule = s.labels.auth_rule ?? "";
    const code = s.labels.grpc_code ?? "";
    const key = `${rule}\0${decision}\0${code}`;
    const row = rows.get(key) ?? { rule, decision: decision as AuthDecision, code, count: 0 };
    row.count += s.value;
    rows.set(key, row);
  }
  return [...rows.values()].sort((a, b) => ORDER[a.decision] - ORDER[b.decision] || b.count - a.count || (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0));
}

export function authTotals(rows: AuthDecisionRow[]): AuthTotals {
  const t: AuthTotals = { allowed: 0, denied: 0, deniedByCode: {}, shadowDenied: 0 };
  for (const r of rows) {
    if (r.decision === "allowed") t.allowed += r.count;
    else if (r.decision === "denied") {
      t.denied += r.count;
      t.deniedByCode[r.code] = (t.deniedByCode[r.code] ?? 0) + r.count;
    } else if (r.decision === "shadow_denied") t.shadowDenied += r.count;
  }
  return t;
}

const codeText = (code: string) => (code in CODE_NUMBERS ? `${code} (${CODE_NUMBERS[code]})` : code);

/** Why a pseudo-rule denied (its grpc-message's wording). */
function note(r: AuthDecisionRow): string {
  if (r.rule === "_default") return r.code === "Unauthenticated" ? "credentials required" : "no rule allows this call";
  if (r.rule === "_authn") return "an invalid credential";
  if (r.rule === "_malformed_path") return "not a gRPC method path";
  return "";
}

/** The decisions table and a totals line. */
export function formatAuthDecisions(rows: AuthDecisionRow[]): string {
  if (rows.length === 0) return "(no decisions counted)";
  const header = ["rule", "decision", "code", "calls", ""];
  const body = rows.map((r) => [
    r.rule,
    r.decision,
    codeText(r.code),
    r.count.toLocaleString("en-US"),
    r.decision === "shadow_denied" ? "dry run: let through" : r.decision === "denied" ? note(r) : "",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((c) => c[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd();
  const t = authTotals(rows);
  const byCode = Object.entries(t.deniedByCode)
    .sort((a, b) => b[1] - a[1])
    .map(([c, n]) => `${codeText(c)} ${n.toLocaleString("en-US")}`)
    .join(", ");
  const total = `allowed ${t.allowed.toLocaleString("en-US")}, denied ${t.denied.toLocaleString("en-US")}${byCode ? ` (${byCode})` : ""}, shadow-denied ${t.shadowDenied.toLocaleString("en-US")}`;
  return [line(header), ...body.map(line), total].join("\n");
}
