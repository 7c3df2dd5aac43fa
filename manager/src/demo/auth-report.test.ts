import { describe, expect, it } from "vitest";
import { authDecisions, authTotals, formatAuthDecisions } from "./auth-report.ts";
import { parsePrometheusText } from "./metrics-report.ts";

// The sidecar's /stats/prometheus with the auth_rule / auth_decision / grpc_code stats tags.
const TEXT = `# TYPE grpc_auth_decisions_total counter
grpc_auth_decisions_total{auth_rule="demo-services-open",auth_decision="allowed",grpc_code="OK"} 61
grpc_auth_decisions_total{auth_rule="listing-needs-a-key",auth_decision="allowed",grpc_code="OK"} 12
grpc_auth_decisions_total{auth_rule="_default",auth_decision="denied",grpc_code="Unauthenticated"} 6
grpc_auth_decisions_total{auth_rule="no-listing-for-reporting",auth_decision="denied",grpc_code="PermissionDenied"} 4
grpc_auth_decisions_total{auth_rule="_authn",auth_decision="denied",grpc_code="Unauthenticated"} 2
grpc_auth_decisions_total{auth_rule="reservations-under-review",auth_decision="shadow_denied",grpc_code="PermissionDenied"} 9
grpc_auth_decisions_total{auth_rule="audit-all",auth_decision="audited",grpc_code="OK"} 3
grpc_auth_decisions_total{auth_rule="unused",auth_decision="denied",grpc_code="PermissionDenied"} 0
# TYPE grpc_auth_denials_total counter
grpc_auth_denials_total{grpc_service="meshwasm.demo.v1.Inventory",grpc_method="ListItems",grpc_code="Unauthenticated",auth_decision="denied"} 8
grpc_server_handled_total{grpc_type="unary",grpc_service="a.Svc",grpc_method="Get",grpc_code="OK"} 90
`;

describe("authDecisions", () => {
  const rows = authDecisions(parsePrometheusText(TEXT));

  it("reads one row per rule, decision and code from grpc_auth_decisions_total only, without empty series", () => {
    expect(rows.map((r) => [r.rule, r.decision, r.code, r.count])).toEqual([
      ["demo-services-open", "allowed", "OK", 61],
      ["listing-needs-a-key", "allowed", "OK", 12],
      ["_default", "denied", "Unauthenticated", 6],
      ["no-listing-for-reporting", "denied", "PermissionDenied", 4],
      ["_authn", "denied", "Unauthenticated", 2],
      ["reservations-under-review", "shadow_denied", "PermissionDenied", 9],
      ["audit-all", "audited", "OK", 3],
    ]);
  });

  it("adds up samples of the same series (one per listener or worker) and ignores unknown decisions", () => {
    const twice = authDecisions(parsePrometheusText(`${TEXT}grpc_auth_decisions_total{auth_rule="_authn",auth_decision="denied",grpc_code="Unauthenticated",listener="b"} 5
grpc_auth_decisions_total{auth_rule="x",auth_decision="maybe",grpc_code="OK"} 1
`));
    expect(twice.find((r) => r.rule === "_authn")!.count).toBe(7);
    expect(twice.some((r) => r.rule === "x")).toBe(false);
  });

  it("totals: allowed, denied by code, shadow-denied; AUDIT matches are not decisions", () => {
    expect(authTotals(rows)).toEqual({ allowed: 73, denied: 12, deniedByCode: { Unauthenticated: 8, PermissionDenied: 4 }, shadowDenied: 9 });
  });

  it("formats a table with codes by name and number, a note per denial kind, and the totals", () => {
    const lines = formatAuthDecisions(rows).split("\n");
    expect(lines[0]).toMatch(/^rule\s+decision\s+code\s+calls$/);
    expect(lines[1]).toMatch(/^demo-services-open\s+allowed\s+OK \(0\)\s+61$/);
    expect(lines[3]).toMatch(/^_default\s+denied\s+Unauthenticated \(16\)\s+6  credentials required$/);
    expect(lines[4]).toMatch(/^no-listing-for-reporting\s+denied\s+PermissionDenied \(7\)\s+4$/);
    expect(lines[5]).toMatch(/^_authn\s+denied\s+Unauthenticated \(16\)\s+2  an invalid credential$/);
    expect(lines[6]).toMatch(/^reservations-under-review\s+shadow_denied\s+PermissionDenied \(7\)\s+9  dry run: let through$/);
    expect(lines.at(-1)).toBe("allowed 73, denied 12 (Unauthenticated (16) 8, PermissionDenied (7) 4), shadow-denied 9");
    // the count column is right-aligned
    const at = (l: string) => l.search(/\d+(\s{2}.*)?$/) + (/\d+/.exec(l.slice(l.search(/\d+(\s{2}.*)?$/)))![0].length);
    expect(new Set(lines.slice(1, -1).map(at)).size).toBe(1);
  });

  it("a default denial with PermissionDenied says no rule allows the call", () => {
    const rows = authDecisions(parsePrometheusText('grpc_auth_decisions_total{auth_rule="_default",auth_decision="denied",grpc_code="PermissionDenied"} 3\n'));
    expect(formatAuthDecisions(rows).split("\n")[1]).toMatch(/^_default\s+denied\s+PermissionDenied \(7\)\s+3  no rule allows this call$/);
  });

  it("says so when nothing was counted", () => {
    expect(formatAuthDecisions([])).toBe("(no decisions counted)");
  });
});
