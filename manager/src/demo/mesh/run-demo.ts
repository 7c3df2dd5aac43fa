/**
 * The demo mesh that `npm start` runs: builds the filters, starts three demo gRPC backends and the
 * local sidecar (from the embedded Envoy bootstrap, with the add-header filter in its chain), then
 * sends the same burst of RPCs twice over ONE client connection: straight to one backend (every
 * RPC is pinned to that pod, the problem meshwasm exists for) and through the sidecar (every RPC
 * is balanced on its own). It prints what happened, then reads the sidecar's admin endpoints to
 * show what the filter and the proxy counted.
 */
import * as grpc from "@grpc/grpc-js";
import * as path from "node:path";
import { buildFilters } from "../../build/index.ts";
import { REPO_ROOT } from "../../build/compile.ts";
import { startSidecar } from "../../sidecar/proxy/sidecar.ts";
import { createDemoClients, startDemoBackend, type DemoBackend } from "../services/index.ts";
import { formatTrafficReport, runTraffic, type TrafficReport } from "../traffic.ts";
import { writeDemoConfig } from "./demo-config.ts";

export interface DemoOptions {
  rpcs: number;
  concurrency?: number;
  /** 0 for system-chosen ports (tests); default the template's 10000 / 9901. */
  listenerPort?: number;
  adminPort?: number;
  /** Progress and results go here. */
  print: (text: string) => void;
}

export interface DemoResult {
  direct: TrafficReport;
  viaSidecar: TrafficReport;
  /** The response header the add-header filter set, as the client saw it. */
  filterHeader?: string;
  /** wasmcustom counter from the sidecar's Prometheus endpoint. */
  filterRequests?: number;
}

const BACKENDS: Array<{ name: string; latencyMs: number }> = [
  { name: "backend-a", latencyMs: 2 },
  { name: "backend-b", latencyMs: 4 },
  { name: "backend-c", latencyMs: 8 },
];

export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const { print } = opts;
  const concurrency = opts.concurrency ?? 32;
  const step = (n: number, text: string) => print(`\n[${n}/5] ${text}`);

  step(1, "building the filters");
  const built = await buildFilters({ root: REPO_ROOT });
  const addHeader = built.modules.find((m) => m.name === "add-header" && m.variant === "release");
  if (!addHeader) throw new Error("the add-header filter was not built");
  print(`      add-header.wasm  ${addHeader.size} bytes  sha256:${addHeader.sha256.slice(0, 16)}…`);

  step(2, "starting three demo gRPC backends");
  const backends: DemoBackend[] = [];
  let sidecar: Awaited<ReturnType<typeof startSidecar>> | undefined;
  try {
    for (const b of BACKENDS) {
      const backend = await startDemoBackend({ name: b.name, latencyMs: b.latencyMs });
      backends.push(backend);
      print(`      ${backend.name} on ${backend.address} (about ${b.latencyMs} ms per RPC)`);
    }

    step(3, "starting the local sidecar");
    const configPath = await writeDemoConfig({
      backendPorts: backends.map((b) => b.port),
      addHeaderWasm: path.join(built.outDir, addHeader.file),
      listenerPort: opts.listenerPort,
      adminPort: opts.adminPort,
    });
    sidecar = await startSidecar({ configPath });
    const listener = sidecar.listeners[0]!;
    print(`      config      ${configPath}`);
    print(`      listener    ${listener.address}:${listener.port} (HTTP/1.1 and HTTP/2)`);
    if (sidecar.adminPort !== undefined) print(`      admin       http://127.0.0.1:${sidecar.adminPort}/`);

    step(4, `${opts.rpcs} RPCs over ONE client connection, straight to ${backends[0]!.name}`);
    const direct = await runTraffic({ target: backends[0]!.address, rpcs: opts.rpcs, concurrency });
    print(indent(formatTrafficReport(direct)));

    step(5, `the same ${opts.rpcs} RPCs over ONE client connection, through the sidecar`);
    const target = `${listener.address}:${listener.port}`;
    const clients = createDemoClients(target);
    let filterHeader: string | undefined;
    let viaSidecar: TrafficReport;
    try {
      filterHeader = await probeFilterHeader(clients);
      viaSidecar = await runTraffic({ target, rpcs: opts.rpcs, concurrency, clients });
    } finally {
      clients.close();
    }
    print(indent(formatTrafficReport(viaSidecar)));

    let filterRequests: number | undefined;
    if (sidecar.adminPort !== undefined) {
      const prom = await (await fetch(`http://127.0.0.1:${sidecar.adminPort}/stats/prometheus`)).text();
      const m = /^example_requests_total(?:\{[^}]*\})? (\d+)/m.exec(prom);
      filterRequests = m ? Number(m[1]) : undefined;
    }
    print("\nWhat the filter did");
    print(`      response header x-mesh-filter: ${filterHeader ?? "(missing)"}`);
    print(`      example_requests_total (admin /stats/prometheus): ${filterRequests ?? "(missing)"}`);
    print(
      `\nOne connection to one pod put ${share(direct, backends[0]!.name)} of the RPCs on ${backends[0]!.name}; ` +
        `through the sidecar the busiest backend got ${maxShare(viaSidecar)}.`,
    );
    return { direct, viaSidecar, filterHeader, filterRequests };
  } finally {
    await sidecar?.stop();
    await Promise.all(backends.map((b) => b.stop()));
  }
}

/** One unary RPC whose response headers show what the add-header filter added. */
async function probeFilterHeader(clients: ReturnType<typeof createDemoClients>): Promise<string | undefined> {
  return new Promise((resolve) => {
    const call = clients.echo.Unary({ message: "hello" }, new grpc.Metadata(), {}, (err: unknown) => {
      if (err) resolve(undefined);
    });
    call.on("metadata", (md: { get(k: string): unknown[] }) => {
      const v = md.get("x-mesh-filter")[0];
      resolve(v === undefined ? undefined : String(v));
    });
  });
}

function share(r: TrafficReport, backend: string): string {
  const total = r.ok + r.failed;
  return total === 0 ? "0%" : `${Math.round(((r.byBackend[backend] ?? 0) * 100) / total)}%`;
}

function maxShare(r: TrafficReport): string {
  const total = r.ok + r.failed;
  const max = Math.max(0, ...Object.values(r.byBackend));
  return total === 0 ? "0%" : `${Math.round((max * 100) / total)}%`;
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((l) => (l.length > 0 ? `      ${l}` : l))
    .join("\n");
}
