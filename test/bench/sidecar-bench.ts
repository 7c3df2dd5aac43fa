/**
 * Sidecar benchmark: unary gRPC throughput and latency over one client connection (grpc-js
 * client, grpc-js server on loopback), measured in the same run for three paths: direct to the
 * server, through the sidecar with no filter, and through the sidecar with the add-header filter.
 * Rounds alternate between the paths so that drift of the machine affects all of them alike.
 */
import { join } from "node:path";
import { createDemoClients, startDemoBackend } from "../../manager/src/demo/services/index.ts";
import { summarizeLatencies } from "../../manager/src/demo/latency.ts";
import { startSidecar } from "../../manager/src/sidecar/proxy/sidecar.ts";
import { envoyConfig, wasmFilter, writeEnvoyConfig } from "../support/envoy-config.ts";

export interface SidecarBenchRow {
  path: string;
  rps: number;
  p50Ms: number;
  p99Ms: number;
}

async function burst(
  clients: ReturnType<typeof createDemoClients>,
  rpcs: number,
  concurrency: number,
  samples: number[],
): Promise<number> {
  let next = 0;
  const start = process.hrtime.bigint();
  const worker = async () => {
    while (next < rpcs) {
      next++;
      const t0 = process.hrtime.bigint();
      await clients.unary({ message: "bench" });
      samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return Number(process.hrtime.bigint() - start) / 1e9;
}

export async function runSidecarBench(
  buildDir: string,
  opts: { rpcsPerRound: number; rounds: number; concurrency: number },
): Promise<SidecarBenchRow[]> {
  const backend = await startDemoBackend({ name: "bench-backend" });
  const plain = await writeEnvoyConfig(envoyConfig({ clusters: [{ name: "backend", ports: [backend.port] }] }));
  const filtered = await writeEnvoyConfig(
    envoyConfig({
      clusters: [{ name: "backend", ports: [backend.port] }],
      httpFilters: [
        wasmFilter({
          name: "add-header",
          filename: join(buildDir, "filters", "add-header.wasm"),
          configuration: "response_header_name=x-bench\nresponse_header_value=1",
        }),
      ],
    }),
  );
  const sidecars = [await startSidecar({ configPath: plain.path }), await startSidecar({ configPath: filtered.path })];
  const targets: Array<{ path: string; target: string }> = [
    { path: "direct", target: backend.address },
    { path: "sidecar, no filter", target: `127.0.0.1:${sidecars[0]!.listeners[0]!.port}` },
    { path: "sidecar, add-header filter", target: `127.0.0.1:${sidecars[1]!.listeners[0]!.port}` },
  ];
  const clients = targets.map((t) => createDemoClients(t.target));
  const samples = targets.map(() => [] as number[]);
  const seconds = targets.map(() => 0);
  try {
    // Warm-up: connections, JIT, Wasm tiers.
    for (const c of clients) await burst(c, 500, opts.concurrency, []);
    for (let r = 0; r < opts.rounds; r++) {
      for (let i = 0; i < targets.length; i++) {
        seconds[i]! += await burst(clients[i]!, opts.rpcsPerRound, opts.concurrency, samples[i]!);
      }
    }
  } finally {
    for (const c of clients) c.close();
    for (const s of sidecars) await s.stop();
    await backend.stop();
    await plain.cleanup();
    await filtered.cleanup();
  }
  return targets.map((t, i) => {
    const lat = summarizeLatencies(samples[i]!);
    return { path: t.path, rps: samples[i]!.length / seconds[i]!, p50Ms: lat.p50, p99Ms: lat.p99 };
  });
}

