/**
 * Plain-text rendering of a TrafficReport: a summary line, then aligned tables per backend
 * (share with a bar, latency), per status code, per method, latency percentiles and errors.
 * Lines stay under 100 columns.
 */
import * as grpc from "@grpc/grpc-js";
import type { LatencySummary } from "./latency.ts";
import type { TrafficReport } from "./traffic.ts";

const BAR_WIDTH = 25;
const NAME_WIDTH = 24;
const MAX_ERRORS = 5;
const LINE_WIDTH = 99;

type Align = "left" | "right";
interface Column {
  title: string;
  align: Align;
}

/** Renders rows under headers, each column as wide as its widest cell. */
export function table(columns: Column[], rows: string[][]): string[] {
  const widths = columns.map((c, i) => Math.max(c.title.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (columns[i]!.align === "left" ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(columns.map((c) => c.title)), ...rows.map(line)];
}

export function bar(share: number, width = BAR_WIDTH): string {
  const n = Math.round(Math.max(0, Math.min(1, share)) * width);
  return "#".repeat(n).padEnd(width, ".");
}

const pct = (n: number, total: number) => (total > 0 ? `${((100 * n) / total).toFixed(1)}%` : "-");
const ms = (x: number) => x.toFixed(1);
const name = (s: string) => (s.length > NAME_WIDTH ? `${s.slice(0, NAME_WIDTH - 1)}~` : s);
const byCountDesc = (o: Record<string, number>) =>
  Object.entries(o).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));

export function formatTrafficReport(report: TrafficReport): string {
  const total = report.rpcs;
  const secs = report.durationMs / 1000;
  const rate = secs > 0 ? (total / secs).toFixed(1) : "-";
  const out: string[] = [
    `Traffic: ${total} RPCs to ${report.target}, concurrency ${report.concurrency}, ` +
      `${secs.toFixed(2)} s (${rate} RPC/s)`,
    `Result:  ${report.ok} OK, ${report.failed} failed (${pct(report.failed, total)})`,
    "",
  ];

  const backendRows = byCountDesc(report.byBackend).map(([backend, n]) => {
    const lat: LatencySummary | undefined = report.latencyByBackendMs[backend];
    return [name(backend), String(n), pct(n, total), lat ? ms(lat.p50) : "-", lat ? ms(lat.p99) : "-",
      bar(total > 0 ? n / total : 0)];
  });
  if (report.unattributed > 0) {
    backendRows.push(["(no backend)", String(report.unattributed), pct(report.unattributed, total),
      "-", "-", bar(report.unattributed / total)]);
  }
  out.push(
    ...table(
      [
        { title: "Backend", align: "left" },
        { title: "RPCs", align: "right" },
        { title: "Share", align: "right" },
        { title: "p50 ms", align: "right" },
        { title: "p99 ms", align: "right" },
        { title: "", align: "left" },
      ],
      backendRows,
    ),
    "",
  );

  const statusRows = Object.entries(report.byStatus)
    .map(([status, n]) => [status, String(grpc.status[status as keyof typeof grpc.status] ?? codeFromName(status)), n] as const)
    .sort((a, b) => Number(a[1]) - Number(b[1]))
    .map(([status, code, n]) => [name(status), code, String(n), pct(n, total)]);
  out.push(
    ...table(
      [
        { title: "Status", align: "left" },
        { title: "Code", align: "right" },
        { title: "RPCs", align: "right" },
        { title: "Share", align: "right" },
      ],
      statusRows,
    ),
    "",
  );

  out.push(
    ...table(
      [
        { title: "Method", align: "left" },
        { title: "RPCs", align: "right" },
        { title: "Share", align: "right" },
      ],
      byCountDesc(report.byMethod).map(([m, n]) => [name(m), String(n), pct(n, total)]),
    ),
    "",
  );

  const l = report.latencyMs;
  out.push(
    ...table(
      ["Latency ms", "min", "p50", "p90", "p99", "max", "mean"].map((title, i) => ({
        title,
        align: i === 0 ? ("left" as const) : ("right" as const),
      })),
      [["all RPCs", ms(l.min), ms(l.p50), ms(l.p90), ms(l.p99), ms(l.max), ms(l.mean)]],
    ),
  );

  if (report.errors.length > 0) {
    out.push("", "Errors");
    for (const e of report.errors.slice(0, MAX_ERRORS)) {
      out.push(clip(`  ${e.count} x ${e.status} (${e.code}) ${e.method}: ${e.message}`));
    }
    const more = report.errors.length - MAX_ERRORS;
    if (more > 0) out.push(`  ... and ${more} more kinds of error`);
  }
  return out.map(clip).join("\n") + "\n";
}

function codeFromName(status: string): string {
  const m = /^CODE_(\d+)$/.exec(status);
  return m ? m[1]! : "?";
}

function clip(line: string): string {
  return line.length > LINE_WIDTH ? `${line.slice(0, LINE_WIDTH - 3)}...` : line;
}
