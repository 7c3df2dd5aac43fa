/**
 * `npm run bench:balancer [-- --quick] [--policies P,...] [--scenarios a,b,...] [--explore-share X]`: the
 * grpc-balancer benchmark (issue "grpc-balancer", section Benchmark). Every scenario of
 * scenarios.ts runs all policies at once through one local sidecar (one listener per policy over
 * the same grpc-js backends), under open-loop load; prints each scenario's tables and the goal
 * verdicts as it goes and, on a full run, writes test/bench/balancer/RESULTS.md and the p99
 * latency-over-time plot test/bench/balancer/latency.svg. `--quick` is a short smoke run;
 * `--explore-share` overrides the filter's explore_share (an investigation); runs with either, or
 * with a subset of scenarios or policies, write nothing.
 */
import { writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../../../manager/src/build/compile.ts";
import type { Policy } from "../../balancer/support/bootstrap.ts";
import { verdicts } from "./goals.ts";
import { p99OverTime, scenarioSection } from "./report.ts";
import { runScenario, type ScenarioRun } from "./run-scenario.ts";
import { scenarios, type Scenario } from "./scenarios.ts";
import { deployedFilterConfig, POLICY_LABELS } from "./sidecar.ts";
import { lineChartSvg, type Panel } from "./svg.ts";

const ALL_POLICIES: Policy[] = ["ROUND_ROBIN", "LEAST_REQUEST", "BALANCER_SESSION", "BALANCER_OVERRIDE"];
const COLORS: Record<Policy, string> = { ROUND_ROBIN: "#d62728", LEAST_REQUEST: "#ff7f0e", BALANCER_SESSION: "#1f77b4", BALANCER_OVERRIDE: "#2ca02c" };
const BUCKET_S = 2;

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function parseList<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T[] | undefined {
  if (value === undefined) return undefined;
  const items = value.split(",").map((v) => v.trim());
  for (const v of items) if (!allowed.includes(v as T)) throw new Error(`${flag}: unknown value "${v}" (expected one of ${allowed.join(", ")})`);
  return items as T[];
}

function plot(done: Array<{ s: Scenario; r: ScenarioRun }>): string {
  const panels: Panel[] = done.map(({ s, r }) => ({
    title: `(${s.id}) ${s.title}`,
    xMaxS: s.seconds,
    shade: s.id === "d" ? undefined : s.window,
    marks: s.id === "d" ? [s.window![0]] : undefined,
    series: p99OverTime(s, r, BUCKET_S).map((x) => ({ label: POLICY_LABELS[x.policy], color: COLORS[x.policy], points: x.points })),
  }));
  return lineChartSvg(panels, { title: `p99 latency per ${BUCKET_S} s, from the scheduled send time (log scale)`, yLabel: "p99 (ms)" });
}

async function main(): Promise<void> {
  const quick = process.argv.includes("--quick");
  const policies = parseList("--policies", option("--policies"), ALL_POLICIES) ?? ALL_POLICIES;
  const only = parseList("--scenarios", option("--scenarios"), ["a", "b", "c", "d", "e"] as const);
  const selected = scenarios({ quick }).filter((s) => !only || only.includes(s.id));
  const filter = await deployedFilterConfig();
  const explore = option("--explore-share");
  if (explore !== undefined) {
    const v = Number(explore);
    if (!(v >= 0 && v <= 1)) throw new Error(`--explore-share: expected a number in [0, 1], got "${explore}"`);
    filter.explore_share = v;
  }
  const loadAtStart = loadavg();
  const started = performance.now();
  const log = (line: string) => process.stdout.write(`${line}\n`);
  log(`grpc-balancer benchmark: ${selected.length} scenario(s), policies ${policies.join(", ")}${quick ? " (quick)" : ""}, filter ${JSON.stringify(filter)}`);
  const done: Array<{ s: Scenario; r: ScenarioRun }> = [];
  const sections: string[] = [];
  for (const s of selected) {
    const r = await runScenario(s, policies, filter, log);
    done.push({ s, r });
    const section = scenarioSection(s, r);
    sections.push(...section);
    log(`\n${section.join("\n")}`);
  }
  const loadAtEnd = loadavg();
  const minutes = (performance.now() - started) / 60_000;
  const summary = done.flatMap(({ s, r }) =>
    verdicts(s, r.runs).map((v) => `| (${s.id}) | ${POLICY_LABELS[v.policy]} | ${v.verdict.met ? "met" : "**not met**"} | ${v.verdict.text.replace(/: (not )?met$/, "")} |`),
  );
  const goals = ["## Goals on this run", "", "| scenario | policy | verdict | measured |", "| --- | --- | --- | --- |", ...summary, ""];
  log(`\n${goals.join("\n")}\nwall time ${minutes.toFixed(1)} min`);
  if (quick || only || explore !== undefined || policies.length !== ALL_POLICIES.length) {
    log("(partial or quick run: RESULTS.md and latency.svg not written)");
    return;
  }
  const fmtLoad = (l: number[]) => l.map((v) => v.toFixed(2)).join(" / ");
  const header = [
    "# grpc-balancer benchmark results",
    "",
    "Reproduce with `npm run bench:balancer` (it builds the filters first; `-- --quick` for a short smoke run that writes",
    "nothing). Every scenario runs ROUND_ROBIN, LEAST_REQUEST (choice_count 2, Istio's default) and grpc-balancer in both",
    "output modes at the same time through one local sidecar (`meshwasm sidecar`, one listener and one cluster per policy",
    "over the same backends), so whatever else the machine does hits every policy alike.",
    "",
    `Machine: ${cpus().length} cores (${cpus()[0]?.model ?? "unknown CPU"}), Node.js ${process.version}, shared with other work.`,
    `Load average (1 / 5 / 15 min) at the start: ${fmtLoad(loadAtStart)}; at the end: ${fmtLoad(loadAtEnd)}. Wall time ${minutes.toFixed(1)} min.`,
    "",
    "How it is measured:",
    "",
    "- Open-loop load: each policy's RPCs leave on a fixed schedule (every 1/rate s, the policies interleaved) from one",
    "  gRPC client per policy (node:http2, one HTTP/2 connection to its listener; see h2-client.ts for why not grpc-js),",
    "  whatever the earlier RPCs are doing.",
    "  Latency runs from the *scheduled* send time, so a late send or queueing shows in it (no coordinated omission);",
    "  every RPC has a deadline of the scheduled time + the scenario's deadline. \"Success\" is status OK within it.",
    "- Warm-up: rounds of the same load until one shows every policy keeping up (all RPCs OK, p99 within twice the",
    "  slowest backend's latency + 250 ms, sends on time; at most 12 rounds), then 2 s of unmeasured lead-in.",
    "- Backends: @grpc/grpc-js servers on 127.0.0.1 in a process of their own, latency injected with timers (median",
    "  per method × multiplier, ±10% uniform jitter); the sidecar and the load generator each run in their own process.",
    "- Shares count the RPCs where a backend received them (each RPC carries its id), so RPCs that then missed their",
    "  deadline count too.",
    "- grpc-balancer runs deploy/config/grpc-balancer.json (admin discovery every second, explore 5%, decay 10 s, default",
    "  RTT 30 ms, every other field at its default: slow start 3 s, penalty 5 s, per-method normalisation), its discovery",
    "  reading this sidecar's admin `/clusters` (Istio: `prometheus_stats`); endpoints are also learnt passively from the",
    "  RPCs left to Envoy. (The sidecar models a pod that becomes ready with a health check, so its admin `/clusters`",
    "  lists the not-yet-ready backend of (d) as unhealthy until it passes, where Istio's EDS would not list it at all.)",
    "  Session-header mode is what Istio users get by default (persistent sessions, no EnvoyFilter; deploy/ ships it);",
    "  override_host mode needs an EnvoyFilter. No retry policy on the routes: each RPC is one attempt.",
    `- (d): "share reached" is the first time t after the add (stepped by 0.1 s) at which the new backend got at least`,
    "  80% of its fair share over [t − 1 s, t + 1 s]: 0.6 s for a step to the full share at the add, the crossing time",
    "  for a ramp.",
    "",
    "Latency over time (p99 per 2 s bucket): [latency.svg](latency.svg).",
    "",
    "",
  ];
  const dir = join(REPO_ROOT, "test", "bench", "balancer");
  await writeFile(join(dir, "RESULTS.md"), [...header, ...goals, "", ...sections].join("\n"));
  await writeFile(join(dir, "latency.svg"), plot(done));
  log("written to test/bench/balancer/RESULTS.md and test/bench/balancer/latency.svg");
}

// Stopped from the terminal: exit through process.exit so that the sidecar child is stopped too
// (the backend process exits when its IPC channel closes).
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130));
await main();
