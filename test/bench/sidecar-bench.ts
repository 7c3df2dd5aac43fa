/**
 * Sidecar benchmark: unary gRPC over one client connection (grpc-js client in this process, the
 * demo grpc-js backend and `meshwasm sidecar` each in a process of their own, all on loopback),
 * measured in the same run for four paths: direct to the backend, through the sidecar with no
 * filter, with the add-header filter, and with the grpc-metrics filter (its default
 * configuration, with the stats tags Istio would configure). Rounds alternate between the paths
 * so that drift of the machine affects all of them alike. Latency is measured with one RPC in
 * flight (the cost of the hop); throughput with `concurrency` RPCs in flight.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createDemoClients } from "../../manager/src/demo/services/index.ts";
import { summarizeLatencies } from "../../manager/src/demo/latency.ts";
import { envoyConfig, wasmFilter, writeEnvoyConfig } from "../support/envoy-config.ts";
import { startBackendProcess, startSidecarProcess, type Child } from "./processes.ts";

export interface SidecarBenchRow {
  path: string;
  /** CPU time per RPC (µs) of each process during the throughput bursts; undefined without /proc. */
  cpuUsPerRpc?: { client: number; backend: number; sidecar: number };
  /** RPS with `concurrency` RPCs in flight. */
  rps: number;
  /** Latency with one RPC in flight. */
  p50Ms: number;
  p99Ms: number;
}

type Clients = ReturnType<typeof createDemoClients>;

/** user + system CPU of a process in µs, from /proc (Linux; clock ticks of 10 ms). */
function processCpuUs(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return undefined;
  }
}

/** CPU used by the client (this process), the backend and the sidecar (if any), in µs. */
function cpuSnapshot(backendPid: number, sidecarPid?: number): { client: number; backend?: number; sidecar?: number } {
  const own = process.cpuUsage();
  return {
    client: own.user + own.system,
    backend: processCpuUs(backendPid),
    sidecar: sidecarPid === undefined ? 0 : processCpuUs(sidecarPid),
  };
}

/** Failed RPCs per burst, by message (a benchmark reports failures rather than stopping on them). */
export const failures = new Map<string, number>();

async function burst(clients: Clients, rpcs: number, concurrency: number, samples?: number[], label = ""): Promise<number> {
  let next = 0;
  const start = process.hrtime.bigint();
  const worker = async () => {
    while (next < rpcs) {
      next++;
      const t0 = process.hrtime.bigint();
      try {
        await clients.unary({ message: "bench" }, { deadlineMs: 10_000 });
      } catch (e) {
        const key = `${label}: ${(e as Error).message}`;
        failures.set(key, (failures.get(key) ?? 0) + 1);
        continue;
      }
      samples?.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  if (process.env.BENCH_TRACE) process.stderr.write(`    ${label} ${rpcs} RPCs x${concurrency}: ${elapsed.toFixed(2)} s\n`);
  return elapsed;
}

export async function runSidecarBench(
  buildDir: string,
  opts: { warmupRpcs: number; rpcsPerRound: number; rounds: number; concurrency: number },
): Promise<SidecarBenchRow[]> {
  const children: Child[] = [];
  const cleanups: Array<() => Promise<void>> = [];
  const clients: Clients[] = [];
  try {
    const backend = await startBackendProcess();
    children.push(backend);
    const clusters = [{ name: "backend", ports: [backend.port] }];
    const plain = await writeEnvoyConfig(envoyConfig({ clusters }));
    const filtered = await writeEnvoyConfig(
      envoyConfig({
        clusters,
        httpFilters: [
          wasmFilter({
            name: "add-header",
            filename: join(buildDir, "filters", "add-header.wasm"),
            configuration: "response_header_name=x-bench\nresponse_header_value=1",
          }),
        ],
      }),
    );
    const tags = ["grpc_type", "grpc_service", "grpc_method", "grpc_code"];
    const metricsConfig = envoyConfig({
      clusters,
      httpFilters: [wasmFilter({ name: "grpc-metrics", filename: join(buildDir, "filters", "grpc-metrics.wasm"), configuration: "{}" })],
    });
    metricsConfig.stats_config = { stats_tags: tags.map((t) => ({ tag_name: t, regex: `(${t}=\\.=(.*?);\\.;)` })) };
    const metrics = await writeEnvoyConfig(metricsConfig);
    cleanups.push(plain.cleanup, filtered.cleanup, metrics.cleanup);
    const sidecars = [await startSidecarProcess(plain.path), await startSidecarProcess(filtered.path), await startSidecarProcess(metrics.path)];
    children.push(...sidecars);
    const targets = [
      { path: "direct", target: `127.0.0.1:${backend.port}`, sidecarPid: undefined },
      { path: "sidecar, no filter", target: `127.0.0.1:${sidecars[0]!.port}`, sidecarPid: sidecars[0]!.pid },
      { path: "sidecar, add-header filter", target: `127.0.0.1:${sidecars[1]!.port}`, sidecarPid: sidecars[1]!.pid },
      { path: "sidecar, grpc-metrics filter", target: `127.0.0.1:${sidecars[2]!.port}`, sidecarPid: sidecars[2]!.pid },
    ];
    const cpu = targets.map(() => ({ client: 0, backend: 0, sidecar: 0, known: true }));
    for (const t of targets) clients.push(createDemoClients(t.target));
    const latency = targets.map(() => [] as number[]);
    const rpcs = targets.map(() => 0);
    const seconds = targets.map(() => 0);

    process.stderr.write("  warming up\n");
    // Warm-up: connections, then enough RPCs for V8 to optimize the hot paths of every process
    // (the sidecar has the most code to optimize; fewer RPCs measure its JIT, not its steady state).
    for (const [i, c] of clients.entries()) await burst(c, opts.warmupRpcs, opts.concurrency, undefined, targets[i]!.path);
    for (let r = 0; r < opts.rounds; r++) {
      process.stderr.write(`  round ${r + 1} of ${opts.rounds}\n`);
      for (let i = 0; i < targets.length; i++) {
        const before = cpuSnapshot(backend.pid, targets[i]!.sidecarPid);
        seconds[i]! += await burst(clients[i]!, opts.rpcsPerRound, opts.concurrency, undefined, targets[i]!.path);
        const after = cpuSnapshot(backend.pid, targets[i]!.sidecarPid);
        const c = cpu[i]!;
        c.client += after.client - before.client;
        if (after.backend === undefined || before.backend === undefined || after.sidecar === undefined || before.sidecar === undefined) c.known = false;
        else {
          c.backend += after.backend - before.backend;
          c.sidecar += after.sidecar - before.sidecar;
        }
        rpcs[i]! += opts.rpcsPerRound;
        await burst(clients[i]!, Math.ceil(opts.rpcsPerRound / 4), 1, latency[i]!, targets[i]!.path);
      }
    }
    return targets.map((t, i) => {
      const lat = summarizeLatencies(latency[i]!);
      const c = cpu[i]!;
      const n = rpcs[i]!;
      const cpuUsPerRpc = c.known ? { client: c.client / n, backend: c.backend / n, sidecar: c.sidecar / n } : undefined;
      return { path: t.path, rps: n / seconds[i]!, p50Ms: lat.p50, p99Ms: lat.p99, cpuUsPerRpc };
    });
  } finally {
    for (const c of clients) c.close();
    for (const child of children.reverse()) await child.stop();
    for (const cleanup of cleanups) await cleanup();
  }
}
