/**
 * The numbers of the demo's balancer scene, pure: per-host request counters from Envoy's admin
 * `/clusters` text format (`<cluster>::<ip:port>::rq_total::<n>`, one stat per line, as Envoy's
 * ClustersHandler writes it), their differences between two snapshots (one phase), each
 * backend's share of a phase, and the printed table (shares and client-side p50 / p99 per phase,
 * grpc-balancer beside LEAST_REQUEST).
 */
import type { LatencySummary } from "../latency.ts";

/** cluster -> "ip:port" -> rq_total. */
export type HostCounters = Map<string, Map<string, number>>;

/** Reads every `<cluster>::<host>::rq_total::<n>` line of admin `/clusters` text. */
export function parseClusterCounters(text: string, stat = "rq_total"): HostCounters {
  const out: HostCounters = new Map();
  for (const raw of text.split("\n")) {
    // `<cluster>::<host>::<stat>::<value>`; an IPv6 host ("[::1]:80") holds "::" itself, so the
    // cluster is cut at the first separator and the stat and value at the last two.
    const line = raw.trim();
    const first = line.indexOf("::");
    const last = line.lastIndexOf("::");
    const statAt = line.lastIndexOf("::", last - 1);
    if (first < 0 || statAt <= first || line.slice(statAt + 2, last) !== stat) continue;
    const cluster = line.slice(0, first);
    const host = line.slice(first + 2, statAt);
    const value = line.slice(last + 2);
    if (!/^\d+$/.test(value) || !/^(\d{1,3}\.){3}\d{1,3}:\d+$|^\[[0-9a-fA-F:.]+\]:\d+$/.test(host)) continue;
    let hosts = out.get(cluster);
    if (!hosts) out.set(cluster, (hosts = new Map()));
    hosts.set(host, Number(value));
  }
  return out;
}

/** Requests per host of `cluster` between two snapshots (hosts of `after`; absent before = 0). */
export function counterDelta(before: HostCounters, after: HostCounters, cluster: string): Map<string, number> {
  const b = before.get(cluster) ?? new Map<string, number>();
  const out = new Map<string, number>();
  for (const [host, n] of after.get(cluster) ?? []) out.set(host, Math.max(0, n - (b.get(host) ?? 0)));
  return out;
}

/** Each named backend's share (0..1) of `counts`; `names` maps "ip:port" to a backend name. */
export function shares(counts: Map<string, number>, names: Map<string, string>): Record<string, number> {
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const out: Record<string, number> = {};
  for (const [host, name] of names) out[name] = total === 0 ? 0 : (counts.get(host) ?? 0) / total;
  return out;
}

export interface ScenePhase {
  name: string;
  seconds: number;
  /** What changed at its start (printed under the table). */
  note: string;
}

export interface PolicyOutcome {
  /** "grpc-balancer" or "LEAST_REQUEST". */
  policy: string;
  cluster: string;
  /** Per phase: requests per backend name (from the sidecar's per-host counters). */
  requests: Array<Record<string, number>>;
  /** Per phase: client-side latency of the RPCs issued in it (ms). */
  latency: LatencySummary[];
  /** Per phase: RPCs that failed (deadline, unavailable). */
  failed: number[];
  /** Per phase end: grpc-balancer's cost gauge per backend name (1 = idle, typical); none for LEAST_REQUEST. */
  cost?: Array<Record<string, number>>;
}

export interface SceneOutcome {
  phases: ScenePhase[];
  /** Backend names in column order. */
  backends: string[];
  /** The backend that degraded in the middle phase. */
  degraded: string;
  ratePerSecond: number;
  policies: PolicyOutcome[];
}

const pct = (x: number) => `${(x * 100).toFixed(x > 0 && x < 0.1 ? 1 : 0)}%`;
const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const cost = (x: number | undefined) => (x === undefined ? "-" : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

/** grpc-balancer's cost gauge (millionths) per "ip:port" of `cluster`, from /stats/prometheus samples. */
export function balancerCosts(samples: Array<{ name: string; labels: Record<string, string>; value: number }>, cluster: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of samples) {
    if (s.name !== "grpc_balancer_endpoint_cost" || s.labels.cluster !== cluster || !s.labels.endpoint) continue;
    // The filter writes ':' in a label value as '_': "127.0.0.1_50051" is 127.0.0.1:50051.
    out.set(s.labels.endpoint.replace(/_(\d+)$/, ":$1"), s.value / 1e6);
  }
  return out;
}

function shareOf(requests: Record<string, number>, backend: string): number {
  const total = Object.values(requests).reduce((a, b) => a + b, 0);
  return total === 0 ? 0 : (requests[backend] ?? 0) / total;
}

/** The scene as a table: one block per policy, a row per backend (share per phase), grpc-balancer's costs, p50 / p99. */
export function formatScene(s: SceneOutcome): string {
  const label = 22;
  const col = 20;
  const head = "".padEnd(label) + s.phases.map((p) => `${p.name} (${p.seconds} s)`.padEnd(col)).join("");
  const lines = [head];
  for (const p of s.policies) {
    lines.push(`${p.policy} (${p.cluster})`);
    for (const b of s.backends) {
      const mark = b === s.degraded ? " *" : "";
      lines.push(`  ${b}${mark}`.padEnd(label) + p.requests.map((r) => `${pct(shareOf(r, b))} (${r[b] ?? 0})`.padEnd(col)).join(""));
    }
    if (p.cost) lines.push("  cost at the end".padEnd(label) + p.cost.map((c) => s.backends.map((b) => cost(c[b])).join(" ").padEnd(col)).join(""));
    lines.push("  p50 / p99 ms".padEnd(label) + p.latency.map((l) => `${ms(l.p50)} / ${ms(l.p99)}`.padEnd(col)).join(""));
    if (p.failed.some((n) => n > 0)) lines.push("  failed RPCs".padEnd(label) + p.failed.map((n) => String(n).padEnd(col)).join(""));
  }
  lines.push(`* ${s.degraded}: ${s.phases.map((p) => `${p.name}: ${p.note}`).join("; ")}`);
  return lines.map((l) => l.trimEnd()).join("\n");
}

/** One sentence comparing the degraded backend's share during the middle phase. */
export function summarizeScene(s: SceneOutcome): string {
  const during = 1;
  const parts = s.policies.map((p) => `${p.policy} ${pct(shareOf(p.requests[during] ?? {}, s.degraded))}`);
  const p99 = s.policies.map((p) => `${p.policy} ${ms(p.latency[during]?.p99 ?? 0)} ms`);
  return `While ${s.degraded} was slow it got ${parts.join(", ")} of the RPCs (a fair share is ${pct(1 / s.backends.length)}); p99 ${p99.join(" vs ")}.`;
}
