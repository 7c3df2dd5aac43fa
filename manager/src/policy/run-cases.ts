/**
 * `meshwasm policy test`: every case through the compiled, real filter in the proxy-wasm host,
 * compared with what the case expects (code, and rule / principal / message when given), and a
 * result table. A case passes only when everything it states matches.
 */
import { CODE_NAMES, type PolicyCase } from "./cases.ts";
import { compilePolicy } from "./compile.ts";
import type { Policy } from "./model.ts";
import { PolicyRunner, type AuthOutcome } from "./wasm-runner.ts";

export interface CaseResult {
  case: PolicyCase;
  outcome: AuthOutcome;
  pass: boolean;
  /** What differed, e.g. ["code: expected OK, got UNAUTHENTICATED"]. */
  mismatches: string[];
}

const codeName = (c: number) => CODE_NAMES[c] ?? String(c);

export function compareCase(c: PolicyCase, o: AuthOutcome): string[] {
  const out: string[] = [];
  if (o.code !== c.expect.code) out.push(`code: expected ${codeName(c.expect.code)}, got ${codeName(o.code)}`);
  if (c.expect.rule !== undefined && o.rule !== c.expect.rule) out.push(`rule: expected ${c.expect.rule}, got ${o.rule ?? "-"}`);
  if (c.expect.principal !== undefined && (o.principal ?? "") !== c.expect.principal) {
    out.push(`principal: expected ${c.expect.principal || "-"}, got ${o.principal ?? "-"}`);
  }
  if (c.expect.message !== undefined && (o.message ?? "") !== c.expect.message) out.push(`message: expected "${c.expect.message}", got "${o.message ?? ""}"`);
  return out;
}

export async function runCases(policy: Policy, cases: PolicyCase[], wasm?: Uint8Array): Promise<CaseResult[]> {
  const runner = await PolicyRunner.create(compilePolicy(policy), wasm ? { wasm } : {});
  try {
    return cases.map((c) => {
      const outcome = runner.run(c.call);
      const mismatches = compareCase(c, outcome);
      return { case: c, outcome, pass: mismatches.length === 0, mismatches };
    });
  } finally {
    await runner.close();
  }
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n");
}

/** The result table, then the mismatches of failing cases, then a summary line. */
export function formatResults(results: CaseResult[], file: string): string {
  const rows = [["", "case", "method", "expected", "got", "result"]];
  results.forEach((r, i) => {
    const exp = `${codeName(r.case.expect.code)}${r.case.expect.rule ? ` ${r.case.expect.rule}` : ""}`;
    const got = `${codeName(r.outcome.code)} ${r.outcome.rule ?? "-"}`;
    rows.push([String(i + 1), r.case.name, r.case.call.path, exp, got, r.pass ? "pass" : "FAIL"]);
  });
  const lines = [table(rows)];
  for (const r of results.filter((x) => !x.pass)) {
    lines.push(`${file}:${r.case.line}: case "${r.case.name}": ${r.mismatches.join("; ")}`);
  }
  const failed = results.filter((r) => !r.pass).length;
  lines.push(`${results.length} cases, ${results.length - failed} passed, ${failed} failed`);
  return lines.join("\n");
}
