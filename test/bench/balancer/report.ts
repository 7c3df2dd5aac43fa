/**
 * Markdown for one scenario's results (pure): the latency table of every policy (p50 / p99 /
 * p99.9 from the scheduled send time, success within the deadline, the subject backend's share),
 * the scenario's own columns ((d): when the added backend first served and reached its share,
 * and its share second by second; (e): per-method shares), the goal verdicts, and what the
 * processes spent.
 */
import type { Policy } from "../../balancer/support/bootstrap.ts";
import { between, p99Series, shareOf, shareProfile, summarize, type SeriesPoint } from "./analysis.ts";
import { addedBackend, backendIndex, methodBalance, verdicts, type PolicyRun } from "./goals.ts";
import type { ScenarioRun } from "./run-scenario.ts";
import type { Scenario } from "./scenarios.ts";
import { POLICY_LABELS } from "./sidecar.ts";

export function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

const fixed = (v: number, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : "∞");
const pct = (v: number, d = 1) => `${(v * 100).toFixed(d)}%`;

function window(s: Scenario): string {
  return s.window ? ` (${s.window[0]}–${s.window[1]} s)` : "";
}

function subjectColumns(s: Scenario, run: PolicyRun): string[] {
  if (!s.subject || s.id === "d") return [];
  const e = backendIndex(s, s.subject);
  if (s.window) return [pct(shareOf(between(run.rpcs, s.window[0], s.window[1]), e), 2), pct(shareOf(run.rpcs, e), 2)];
  return [pct(shareOf(run.rpcs, e), 2)];
}

function subjectHeader(s: Scenario): string[] {
  if (!s.subject || s.id === "d") return [];
  if (s.window) return [`share to ${s.subject} in the window`, `share to ${s.subject} (whole run)`];
  return [`share to ${s.subject}`];
}

const CODE_NAMES: Record<number, string> = { [-1]: "unfinished", 0: "OK", 1: "CANCELLED", 2: "UNKNOWN", 4: "DEADLINE_EXCEEDED", 13: "INTERNAL", 14: "UNAVAILABLE" };

/** "12000 OK, 3 DEADLINE_EXCEEDED": the status codes of `rpcs`, most frequent first. */
export function codeCounts(rpcs: readonly { code: number }[]): string {
  const counts = new Map<number, number>();
  for (const r of rpcs) counts.set(r.code, (counts.get(r.code) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${n} ${CODE_NAMES[c] ?? `code ${c}`}`).join(", ");
}

export function scenarioSection(s: Scenario, r: ScenarioRun): string[] {
  const lines = [`## (${s.id}) ${s.title}`, ""];
  lines.push(
    `${s.backends.length} backends, ${s.seconds} s measured after ${r.warmup.seconds} s of warm-up` +
      `${r.warmup.steady ? "" : " (**the last warm-up round was still not steady: the machine could not keep up**)"}, ${s.ratePerSec} RPC/s per policy, ` +
      `deadline ${s.deadlineMs} ms${window(s) ? `, window${window(s)}` : ""}${s.healthCheckMs ? `, gRPC health checks every ${s.healthCheckMs} ms` : ""}.`,
    "",
  );
  const rows = r.runs.map((run) => {
    const m = summarize(run.rpcs, s.deadlineMs);
    return [POLICY_LABELS[run.policy], String(m.count), fixed(m.p50), fixed(m.p99), fixed(m.p999), pct(m.success, 2), ...subjectColumns(s, run)];
  });
  lines.push(table(["policy", "RPCs", "p50 ms", "p99 ms", "p99.9 ms", `success ≤ ${s.deadlineMs} ms`, ...subjectHeader(s)], rows), "");
  if (s.id === "c") {
    lines.push(
      table(
        ["policy", ...s.backends.map((b) => `${b.name} (${b.lightMs} ms)`)],
        r.runs.map((run) => [POLICY_LABELS[run.policy], ...s.backends.map((_, i) => pct(shareOf(run.rpcs, i)))]),
      ),
      "",
    );
  }
  if (s.id === "d") {
    const fair = 1 / s.backends.length;
    const seconds = 8;
    lines.push(
      `${s.subject}'s share after it was added, as a fraction of its fair share (1/${s.backends.length}), second by second:`,
      "",
      table(
        ["policy", "first RPC after the add", "share reached after", ...Array.from({ length: seconds }, (_, i) => `${i}–${i + 1} s`)],
        r.runs.map((run) => {
          const a = addedBackend(s, run);
          const profile = shareProfile(run.rpcs, backendIndex(s, s.subject!), s.window![0], seconds, 1, fair);
          return [
            POLICY_LABELS[run.policy],
            a.firstS === null ? "never" : `${a.firstS.toFixed(2)} s`,
            a.toShareS === null ? "never" : `${a.toShareS.toFixed(1)} s`,
            ...profile.map((v) => pct(v, 0)),
          ];
        }),
      ),
      "",
    );
  }
  if (s.id === "e") {
    lines.push(
      "Per method: share of each backend (b9 is the slow one), and the healthy backends' largest deviation from their mean share:",
      "",
      table(
        ["policy", "method", ...s.backends.map((b) => b.name), "healthy deviation"],
        r.runs.flatMap((run) =>
          methodBalance(s, run).map((m) => [POLICY_LABELS[run.policy], m.method, ...m.shares.map((v) => pct(v)), `±${pct(m.healthyDeviation, 0)}`]),
        ),
      ),
      "",
    );
  }
  if (s.id === "a") {
    const b9 = backendIndex(s, s.subject!);
    lines.push(
      "Tail without the slow backend (the machine's own noise floor): p99 of the RPCs served by the other backends: " +
        r.runs.map((run) => `${POLICY_LABELS[run.policy]} ${fixed(summarize(run.rpcs.filter((x) => x.backend !== b9), s.deadlineMs).p99)} ms`).join("; ") +
        ".",
      "",
    );
  }
  const directed = r.runs.filter((run) => run.directedToSubject !== undefined);
  if (s.subject && directed.length) {
    const e = backendIndex(s, s.subject);
    const [from, to] = s.window ?? [0, s.seconds];
    lines.push(
      `Where ${s.subject}'s RPCs ${s.window ? "in the window " : ""}came from: ` +
        directed
          .map((run) => {
            const got = between(run.rpcs, from, to).filter((x) => x.backend === e).length;
            return `${POLICY_LABELS[run.policy]}: ${got} received, ${run.directedToSubject} directed by the filter (its picks counter)`;
          })
          .join("; ") +
        "; the rest were RPCs the filter left to Envoy's LEAST_REQUEST (its explore share).",
      "",
    );
  }
  lines.push(`Status codes: ${r.runs.map((run) => `${POLICY_LABELS[run.policy]}: ${codeCounts(run.rpcs)}`).join("; ")}.`, "");
  for (const v of verdicts(s, r.runs)) lines.push(`- Goal (${s.id}), ${POLICY_LABELS[v.policy]}: ${v.verdict.text}.`);
  lines.push(
    "",
    `Processes during the load (${fixed(r.wallS)} s): CPU ${fixed(r.cpuS.generator)} s load generator, ${fixed(r.cpuS.backends)} s backends, ` +
      `${fixed(r.cpuS.sidecar)} s sidecar; the largest lag of a send behind its schedule was ${fixed(r.maxSendLagMs)} ms. ` +
      `grpc-balancer's decisions (both listeners, warm-up included): ${Object.entries(r.decisions).map(([d, v]) => `${v} ${d}`).join(", ") || "none reported"}.`,
    "",
  );
  return lines;
}

/** p99 per `bucketS` bucket per policy. */
export function p99OverTime(s: Scenario, r: ScenarioRun, bucketS: number): Array<{ policy: Policy; points: SeriesPoint[] }> {
  return r.runs.map((run) => ({ policy: run.policy, points: p99Series(run.rpcs, bucketS, s.seconds) }));
}
