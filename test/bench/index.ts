/**
 * `npm run bench`: measures the proxy-wasm host and the local sidecar in one run, prints the
 * tables, and writes them with the command that reproduces them to test/bench/RESULTS.md.
 * Goals (issue "Local sidecar"): the sidecar with no filter keeps >= 50% of direct throughput and
 * adds <= 1 ms at p50 on loopback; the SDK adds <= ~15 KiB to a filter. Goals (issue 8,
 * grpc-metrics): <= 2 µs per unary RPC above noop in the host, <= 0.2 µs per extra stream
 * message, the optimized module <= 40 KiB; the same counting on the Go proxy-wasm SDK as a peer.
 * Goals (issue 10, grpc-auth): auth-bench.ts.
 */
import { readFile, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../../manager/src/build/compile.ts";
import { runHostBench } from "./host-bench.ts";
import { buildGoPeer } from "./go-peer.ts";
import { grpcHostBenchOptions, perExtraMessage, runGrpcHostBench, STREAM_MESSAGES, type GrpcHostCase } from "./grpc-metrics-bench.ts";
import { failures, runSidecarBench, type SidecarBenchRow } from "./sidecar-bench.ts";
import { authBenchOptions, formatAuthSection, runAuthBench } from "./auth-bench.ts";

const quick = process.argv.includes("--quick");
/** `--only=grpc-metrics`: measure and print that section alone (RESULTS.md is not written). */
const only = process.argv.find((a) => a.startsWith("--only="))?.slice("--only=".length);
const buildDir = join(REPO_ROOT, "build");

interface Manifest {
  modules: Array<{ name: string; variant: string; size: number }>;
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** The issue's goals, checked against this run: >= 50% of direct RPS, <= 1 ms added at p50. */
function verdict(noFilter: SidecarBenchRow, direct: SidecarBenchRow): string {
  const share = (noFilter.rps / direct.rps) * 100;
  const added = noFilter.p50Ms - direct.p50Ms;
  return (
    `Goals for the sidecar with no filter: at least 50% of direct throughput (this run: ${fmt(share)}%, ` +
    `${share >= 50 ? "met" : "not met"}); at most 1 ms added at p50 (this run: ${fmt(added, 2)} ms, ` +
    `${added <= 1 ? "met" : "not met"}).`
  );
}

/** grpc-metrics: the host table, the Go peer's ratios and the issue's goals checked on this run. */
function grpcMetricsSection(cases: GrpcHostCase[], goNote: string, sidecar: SidecarBenchRow[]): string[] {
  const none = cases[0]!;
  const noop = cases.find((c) => c.name === "noop")!;
  const metrics = cases.find((c) => c.name === "grpc-metrics")!;
  const go = cases.find((c) => c.name === "Go SDK peer");
  const rows = cases.map((c) => [
    c.name,
    fmt(c.unaryNs),
    c === none ? "" : fmt(c.unaryNs - noop.unaryNs),
    fmt(perExtraMessage(c)),
    c === none ? "" : fmt(perExtraMessage(c) - perExtraMessage(noop)),
    c.hostCalls === undefined ? "" : String(c.hostCalls),
    c.size === undefined ? "" : fmt(c.size),
  ]);
  const addedUnary = metrics.unaryNs - noop.unaryNs;
  const addedMessage = perExtraMessage(metrics) - perExtraMessage(noop);
  const size = metrics.size ?? 0;
  const goal = (ok: boolean) => (ok ? "met" : "not met");
  const lines = [
    "## grpc-metrics in the proxy-wasm host",
    "",
    `One unary gRPC RPC (headers, one message each way, trailers) and one server stream of ${STREAM_MESSAGES} response`,
    "messages (one body chunk each); median over the rounds of the CPU time per RPC. \"Added\" is above the noop filter.",
    "",
    table(
      ["filter", "ns per unary RPC", "added ns", `ns per extra message`, "added ns", "host calls per RPC", "module bytes"],
      rows,
    ),
    "",
    `Goals (issue 8): at most 2 µs per unary RPC above noop (this run: ${fmt(addedUnary / 1000, 2)} µs, ${goal(addedUnary <= 2000)}); ` +
      `at most 0.2 µs per extra stream message (this run: ${fmt(addedMessage / 1000, 3)} µs, ${goal(addedMessage <= 200)}); ` +
      `the optimized module at most 40 KiB (${fmt(size)} bytes, ${goal(size <= 40 * 1024)}).`,
    "",
  ];
  if (go) {
    lines.push(
      `Go proxy-wasm SDK peer (${goNote}): ${fmt(go.unaryNs / metrics.unaryNs, 2)}x the ns per unary RPC of grpc-metrics ` +
        `(${fmt((go.unaryNs - noop.unaryNs) / Math.max(1, addedUnary), 1)}x the cost above noop), ` +
        `${fmt(perExtraMessage(go) / perExtraMessage(metrics), 2)}x per extra message, ${fmt((go.size ?? 0) / size, 1)}x the module size.`,
      "",
    );
  } else {
    lines.push(`Go proxy-wasm SDK peer: not measured: ${goNote}.`, "");
  }
  const plain = sidecar.find((r) => r.path === "sidecar, no filter");
  const withMetrics = sidecar.find((r) => r.path === "sidecar, grpc-metrics filter");
  if (plain?.cpuUsPerRpc && withMetrics?.cpuUsPerRpc) {
    lines.push(
      `Through the sidecar (table above): the sidecar process spent ${fmt(withMetrics.cpuUsPerRpc.sidecar)} µs of CPU per unary RPC ` +
        `with grpc-metrics against ${fmt(plain.cpuUsPerRpc.sidecar)} µs with no filter.`,
      "",
    );
  }
  return lines;
}

async function main(): Promise<void> {
  if (only !== undefined && only !== "grpc-metrics") throw new Error(`--only=${only}: the only section that runs alone is grpc-metrics`);
  const loadAtStart = loadavg()[0]!;
  const manifest = JSON.parse(await readFile(join(buildDir, "manifest.json"), "utf8")) as Manifest;
  const sizes = manifest.modules.filter((m) => m.variant === "release");

  process.stdout.write("peer: building the Go proxy-wasm SDK peer (GOOS=wasip1)...\n");
  const goPeer = await buildGoPeer();
  const goNote = "error" in goPeer ? goPeer.error : `proxy-wasm-go-sdk ${goPeer.sdkVersion}, ${goPeer.goVersion}`;
  process.stdout.write(`  ${goNote}\n`);

  process.stdout.write("host: streams through the proxy-wasm host...\n");
  const host = only === "grpc-metrics" ? [] : await runHostBench(buildDir, quick ? 2000 : 20000);
  process.stdout.write("host: grpc-metrics, unary RPCs and 100-message streams...\n");
  const grpc = await runGrpcHostBench(buildDir, {
    ...grpcHostBenchOptions(quick),
    goPeer: "error" in goPeer ? undefined : goPeer.wasm,
  });
  if (only === "grpc-metrics") {
    process.stdout.write(`\n${grpcMetricsSection(grpc, goNote, []).join("\n")}\n`);
    return;
  }
  process.stdout.write("host: grpc-auth, unary RPCs per identity kind and policy size...\n");
  const authOptions = authBenchOptions(quick);
  const auth = await runAuthBench(buildDir, authOptions);
  process.stdout.write("sidecar: unary RPCs direct and through the sidecar...\n");
  const sidecar = await runSidecarBench(buildDir, {
    warmupRpcs: quick ? 1000 : 5000,
    rpcsPerRound: quick ? 500 : 3000,
    rounds: quick ? 2 : 5,
    concurrency: 32,
  });
  const direct = sidecar[0]!;

  const sections = [
    "## Proxy-wasm host: one request/response stream",
    "",
    table(
      ["filter", "ns per stream", "host calls per stream", "vs no filter"],
      host.map((r) => [r.filter, fmt(r.nsPerStream), String(r.hostCallsPerStream), `${fmt(r.nsPerStream / host[0]!.nsPerStream, 1)}x`]),
    ),
    "",
    "## Local sidecar: unary gRPC over one client connection",
    "",
    table(
      ["path", "RPS (32 in flight)", "p50 ms (1 in flight)", "p99 ms (1 in flight)", "RPS vs direct", "p50 added ms"],
      sidecar.map((r) => [
        r.path,
        fmt(r.rps),
        fmt(r.p50Ms, 2),
        fmt(r.p99Ms, 2),
        `${fmt((r.rps / direct.rps) * 100)}%`,
        fmt(r.p50Ms - direct.p50Ms, 2),
      ]),
    ),
    "",
    "CPU time per RPC of each process during the throughput bursts (µs; from /proc, 10 ms ticks):",
    "",
    table(
      ["path", "client", "backend", "sidecar", "all"],
      sidecar.map((r) =>
        r.cpuUsPerRpc
          ? [r.path, fmt(r.cpuUsPerRpc.client), fmt(r.cpuUsPerRpc.backend), fmt(r.cpuUsPerRpc.sidecar), fmt(r.cpuUsPerRpc.client + r.cpuUsPerRpc.backend + r.cpuUsPerRpc.sidecar)]
          : [r.path, "n/a", "n/a", "n/a", "n/a"],
      ),
    ),
    "",
    failures.size === 0
      ? "Every RPC succeeded."
      : `Failed RPCs: ${[...failures].map(([m, n]) => `${n} × ${m}`).join("; ")}`,
    "",
    verdict(sidecar[1]!, direct),
    "",
    ...grpcMetricsSection(grpc, goNote, sidecar),
    ...formatAuthSection(auth, authOptions),
    "## Module sizes (release builds)",
    "",
    table(["module", "bytes"], sizes.map((m) => [m.name, fmt(m.size)])),
  ];
  const body = sections.join("\n");
  process.stdout.write(`\n${body}\n`);
  if (!quick) {
    const header = [
      "# Benchmark results",
      "",
      "Reproduce with `npm run bench` (it rebuilds the filters first). All paths are measured in one run,",
      "rounds alternating between them; compare the ratios, not the absolute numbers, across machines.",
      "",
      `Machine: ${cpus().length} cores (${cpus()[0]?.model ?? "unknown CPU"}), Node.js ${process.version}. ` +
        `Load average (1 min) at the start: ${loadAtStart.toFixed(1)}, at the end: ${loadavg()[0]!.toFixed(1)} ` +
        "(other work on the machine inflates wall times; the grpc-metrics host table uses CPU time).",
      "",
      "",
    ].join("\n");
    await writeFile(join(REPO_ROOT, "test", "bench", "RESULTS.md"), `${header}${body}\n`);
    process.stdout.write("\nwritten to test/bench/RESULTS.md\n");
  }
}

await main();
