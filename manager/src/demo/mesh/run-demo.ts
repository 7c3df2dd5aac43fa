/**
 * The demo mesh that `npm start` runs: builds the filters, starts three demo gRPC backends and the
 * local sidecar (from the embedded Envoy bootstrap, with the grpc-metrics and add-header filters
 * in its chain), then sends the same burst of RPCs (a mix of Echo, Inventory and Health methods)
 * twice over ONE client connection: straight to one backend (every RPC is pinned to that pod, the
 * problem meshwasm exists for) and through the sidecar (every RPC is balanced on its own). It
 * prints what happened, then what the filters counted: per method the RPCs, their rate, codes and
 * p50 / p99 latency from the sidecar's `/stats/prometheus`, and the same from a real Prometheus
 * scraping the sidecar when the `prometheus` binary is installed.
 */
import * as grpc from "@grpc/grpc-js";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import * as path from "node:path";
import { buildFilters } from "../../build/index.ts";
import { REPO_ROOT } from "../../build/compile.ts";
import { startSidecar } from "../../sidecar/proxy/sidecar.ts";
import { createDemoClients, startDemoBackend, type DemoBackend } from "../services/index.ts";
import { formatTrafficReport, runTraffic, type TrafficMixEntry, type TrafficReport } from "../traffic.ts";
import { formatMethodMetrics, methodMetrics, parsePrometheusText, type MethodMetrics } from "../metrics-report.ts";
import { prometheusInstalled, startDemoPrometheus, type DemoPrometheus } from "../prometheus.ts";
import { writeDemoConfig } from "./demo-config.ts";

export interface DemoOptions {
  rpcs: number;
  concurrency?: number;
  /** 0 for system-chosen ports (tests); default the template's 10000 / 9901. */
  listenerPort?: number;
  adminPort?: number;
  /** Progress and results go here. */
  print: (text: string) => void;
  /** Build the filters first (default); false reuses build/filters (tests run after `npm run build`). */
  build?: boolean;
  /** Start Prometheus when it is installed (default true). */
  prometheus?: boolean;
}

export interface DemoResult {
  direct: TrafficReport;
  viaSidecar: TrafficReport;
  /** The response header the add-header filter set, as the client saw it. */
  filterHeader?: string;
  /** wasmcustom counter from the sidecar's Prometheus endpoint. */
  filterRequests?: number;
  /** What grpc-metrics counted, per method, read from the sidecar's /stats/prometheus. */
  methods: MethodMetrics[];
  /** The same read back from Prometheus (undefined when it is not installed). */
  prometheusMethods?: MethodMetrics[];
}

/** The demo's traffic: mostly unary calls, some streams, inventory calls that run out of stock. */
export const DEMO_MIX: TrafficMixEntry[] = [
  { method: "Echo/Unary", weight: 6 },
  { method: "Echo/ServerStream", weight: 1 },
  { method: "Echo/ClientStream", weight: 1 },
  { method: "Echo/Bidi", weight: 1 },
  { method: "Inventory/GetItem", weight: 2 },
  { method: "Inventory/ReserveItem", weight: 2 },
  { method: "Health/Check", weight: 1 },
];

const BACKENDS: Array<{ name: string; latencyMs: number }> = [
  { name: "backend-a", latencyMs: 2 },
  { name: "backend-b", latencyMs: 4 },
  { name: "backend-c", latencyMs: 8 },
];

export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const { print } = opts;
  const concurrency = opts.concurrency ?? 32;
  const step = (n: number, text: string) => print(`\n[${n}/6] ${text}`);

  step(1, opts.build === false ? "using the built filters" : "building the filters");
  const built = opts.build === false ? await builtModules() : await buildFilters({ root: REPO_ROOT });
  const filter = (name: string) => {
    const m = built.modules.find((x) => x.name === name && x.variant === "release");
    if (!m) throw new Error(`the ${name} filter was not built`);
    print(`      ${`${name}.wasm`.padEnd(18)} ${m.size} bytes  sha256:${m.sha256.slice(0, 16)}…`);
    return path.join(built.outDir, m.file);
  };
  const grpcMetricsWasm = filter("grpc-metrics");
  const addHeaderWasm = filter("add-header");

  step(2, "starting three demo gRPC backends");
  const backends: DemoBackend[] = [];
  let sidecar: Awaited<ReturnType<typeof startSidecar>> | undefined;
  let stopPrometheus: DemoPrometheus | undefined;
  try {
    for (const b of BACKENDS) {
      const backend = await startDemoBackend({ name: b.name, latencyMs: b.latencyMs });
      backends.push(backend);
      print(`      ${backend.name} on ${backend.address} (about ${b.latencyMs} ms per RPC)`);
    }

    step(3, "starting the local sidecar");
    const configPath = await writeDemoConfig({
      backendPorts: backends.map((b) => b.port),
      addHeaderWasm,
      grpcMetricsWasm,
      listenerPort: opts.listenerPort,
      adminPort: opts.adminPort,
    });
    sidecar = await startSidecar({ configPath });
    const listener = sidecar.listeners[0]!;
    print(`      config      ${configPath}`);
    print(`      listener    ${listener.address}:${listener.port} (HTTP/1.1 and HTTP/2)`);
    if (sidecar.adminPort !== undefined) print(`      admin       http://127.0.0.1:${sidecar.adminPort}/`);

    let prometheus: DemoPrometheus | undefined;
    if (opts.prometheus !== false && sidecar.adminPort !== undefined) {
      if (prometheusInstalled()) {
        prometheus = await startDemoPrometheus(sidecar.adminPort);
        print(`      prometheus  ${prometheus.url} (scraping the sidecar every second)`);
      } else {
        print("      prometheus  not installed (Debian package prometheus): reading the sidecar directly");
      }
    }
    stopPrometheus = prometheus;

    step(4, `${opts.rpcs} RPCs over ONE client connection, straight to ${backends[0]!.name}`);
    const direct = await runTraffic({ target: backends[0]!.address, rpcs: opts.rpcs, concurrency, mix: DEMO_MIX });
    print(indent(formatTrafficReport(direct)));

    step(5, `the same ${opts.rpcs} RPCs over ONE client connection, through the sidecar`);
    const target = `${listener.address}:${listener.port}`;
    const clients = createDemoClients(target);
    let filterHeader: string | undefined;
    let viaSidecar: TrafficReport;
    try {
      filterHeader = await probeFilterHeader(clients);
      viaSidecar = await runTraffic({ target, rpcs: opts.rpcs, concurrency, clients, mix: DEMO_MIX });
    } finally {
      clients.close();
    }
    print(indent(formatTrafficReport(viaSidecar)));

    let filterRequests: number | undefined;
    let methods: MethodMetrics[] = [];
    if (sidecar.adminPort !== undefined) {
      const prom = await (await fetch(`http://127.0.0.1:${sidecar.adminPort}/stats/prometheus`)).text();
      const m = /^example_requests_total(?:\{[^}]*\})? (\d+)/m.exec(prom);
      filterRequests = m ? Number(m[1]) : undefined;
      methods = methodMetrics(parsePrometheusText(prom));
    }
    print("\nWhat the filter did");
    print(`      response header x-mesh-filter: ${filterHeader ?? "(missing)"}`);
    print(`      example_requests_total (admin /stats/prometheus): ${filterRequests ?? "(missing)"}`);
    print(
      `\nOne connection to one pod put ${share(direct, backends[0]!.name)} of the RPCs on ${backends[0]!.name}; ` +
        `through the sidecar the busiest backend got ${maxShare(viaSidecar)}.`,
    );

    step(6, "what the grpc-metrics filter counted, per method");
    print(`      from the sidecar's /stats/prometheus (rates over the ${Math.round(viaSidecar.durationMs)} ms burst):`);
    print(indent(formatMethodMetrics(methods, viaSidecar.durationMs)));
    let prometheusMethods: MethodMetrics[] | undefined;
    if (prometheus) {
      prometheusMethods = await readFromPrometheus(prometheus, methods);
      print(`\n      read back from Prometheus (${prometheus.url}):`);
      print(indent(formatMethodMetrics(prometheusMethods, viaSidecar.durationMs)));
    }
    return { direct, viaSidecar, filterHeader, filterRequests, methods, prometheusMethods };
  } finally {
    await stopPrometheus?.stop();
    await sidecar?.stop();
    await Promise.all(backends.map((b) => b.stop()));
  }
}

/** The release modules of an earlier build (build/filters/<name>.wasm), in buildFilters' result shape. */
async function builtModules(): Promise<{ outDir: string; modules: Array<{ name: string; variant: string; file: string; size: number; sha256: string }> }> {
  const outDir = path.join(REPO_ROOT, "build");
  const modules = [];
  for (const name of ["grpc-metrics", "add-header"]) {
    const file = `filters/${name}.wasm`;
    const bytes = await readFile(path.join(outDir, file));
    modules.push({ name, variant: "release", file, size: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") });
  }
  return { outDir, modules };
}

/**
 * The same rows from Prometheus, once it has scraped every RPC the sidecar counted: handled
 * counts by code, and p50 / p99 by histogram_quantile over the cumulative buckets.
 */
async function readFromPrometheus(prom: DemoPrometheus, fromSidecar: MethodMetrics[]): Promise<MethodMetrics[]> {
  const expected = fromSidecar.reduce((n, r) => n + r.rpcs, 0);
  const deadline = Date.now() + 15_000;
  for (;;) {
    const total = (await prom.query("sum(grpc_server_handled_total)"))[0]?.value ?? 0;
    if (total >= expected || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const handled = await prom.query("sum by (grpc_service, grpc_method, grpc_code) (grpc_server_handled_total)");
  const rows = methodMetrics(handled.map((s) => ({ ...s, name: "grpc_server_handled_total" })));
  for (const r of rows) {
    const sel = `{grpc_service="${r.service}",grpc_method="${r.method}"}`;
    const q = (p: number) => `histogram_quantile(${p}, sum by (le) (grpc_server_handling_milliseconds_bucket${sel}))`;
    r.p50Ms = (await prom.query(q(0.5)))[0]?.value ?? NaN;
    r.p99Ms = (await prom.query(q(0.99)))[0]?.value ?? NaN;
  }
  return rows;
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
