/**
 * The demo mesh that `npm start` runs: builds the filters, starts three demo gRPC backends,
 * publishes the filters to a local OCI registry (when `docker-registry` is installed) and runs the
 * local sidecar from the embedded Envoy bootstrap with WasmPlugin resources for grpc-auth,
 * grpc-metrics, grpc-balancer and add-header (demo-plugins.ts: rendered and validated as
 * `meshwasm render` does, pulled by digest as istio-agent pulls), the path a cluster takes; then sends the same burst of RPCs (a mix of Echo, Inventory and Health methods)
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
import { DEMO_LABELS, DEMO_NAMESPACE, writeDemoPlugins, type BuiltModule, type DemoPlugins } from "./demo-plugins.ts";
import { registryInstalled, startDemoRegistry, type DemoRegistry } from "./demo-registry.ts";
import { showBalancerScene } from "../balancer/scene.ts";
import type { SceneOutcome } from "../balancer/scene-report.ts";
import { runDemoAuth, type DemoAuth } from "../auth-scene.ts";

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
  /** Publish the filters to a local registry when docker-registry is installed (default true); else file:// URLs. */
  registry?: boolean;
  /** Run grpc-balancer beside LEAST_REQUEST with one backend degrading (default true; about 15 s). */
  balancerScene?: boolean;
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
  /** The WasmPlugin resources the sidecar ran (kept after the demo). */
  plugins: DemoPlugins;
  /** The balancer scene: traffic share per backend before, during and after, beside LEAST_REQUEST. */
  balancer?: SceneOutcome;
  /** grpc-auth: the auth calls and the decisions the filter counted, by rule and code. */
  auth?: DemoAuth;
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

/** The filters the demo runs, from build/filters. */
const DEMO_FILTERS = ["grpc-auth", "grpc-metrics", "grpc-balancer", "add-header"];

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
  const modules = new Map<string, BuiltModule>();
  for (const name of DEMO_FILTERS) {
    const m = built.modules.find((x) => x.name === name && x.variant === "release");
    if (!m) throw new Error(`the ${name} filter was not built`);
    print(`      ${`${name}.wasm`.padEnd(18)} ${m.size} bytes  sha256:${m.sha256.slice(0, 16)}…`);
    const file = path.join(built.outDir, m.file);
    modules.set(name, { name, file, version: m.version ?? "0.0.0", wasm: new Uint8Array(await readFile(file)) });
  }

  step(2, "starting three demo gRPC backends");
  const backends: DemoBackend[] = [];
  let sidecar: Awaited<ReturnType<typeof startSidecar>> | undefined;
  let stopPrometheus: DemoPrometheus | undefined;
  let registry: DemoRegistry | undefined;
  try {
    for (const b of BACKENDS) {
      const backend = await startDemoBackend({ name: b.name, latencyMs: b.latencyMs });
      backends.push(backend);
      print(`      ${backend.name} on ${backend.address} (about ${b.latencyMs} ms per RPC)`);
    }

    step(3, "publishing the filters and starting the local sidecar from WasmPlugin resources");
    let push: Parameters<typeof writeDemoPlugins>[2];
    if (opts.registry !== false && registryInstalled()) {
      registry = await startDemoRegistry();
      const host = registry.host;
      const { pushWasmImage } = await import("../../oci/index.ts");
      push = async (m) => {
        const r = await pushWasmImage(`${host}/meshwasm/${m.name}:${m.version.replace(/\+/g, "_")}`, { wasm: m.wasm, name: m.name, version: m.version }, { auth: {}, blobLocations: false });
        return { repository: `${host}/meshwasm/${m.name}`, digest: r.manifestDigest.slice(7) };
      };
      print(`      registry    ${host} (docker-registry; the sidecar pulls each image by digest, as istio-agent does)`);
    } else {
      print("      registry    docker-registry is not installed: the WasmPlugins load the modules from file:// URLs");
    }
    const plugins = await writeDemoPlugins(modules, backends.map((b) => b.port), push);
    for (const o of plugins.objects) {
      const spec = o.spec as { url: string; phase: string; failStrategy: string };
      print(`      WasmPlugin  ${o.metadata.name.padEnd(14)} ${spec.phase.padEnd(17)} ${spec.failStrategy.padEnd(12)} ${spec.url.replace(/@sha256:([a-f0-9]{16})[a-f0-9]+$/, "@sha256:$1…")}`);
    }
    const configPath = await writeDemoConfig({
      backendPorts: backends.map((b) => b.port),
      listenerPort: opts.listenerPort,
      adminPort: opts.adminPort,
    });
    sidecar = await startSidecar({ configPath }, { plugins: { dir: plugins.dir, namespace: DEMO_NAMESPACE, labels: DEMO_LABELS, watch: false } });
    const listener = sidecar.listeners[0]!;
    print(`      config      ${configPath}`);
    print(`      plugins     ${plugins.dir} (the WasmPlugin resources, namespace ${DEMO_NAMESPACE}, workload labels app=${DEMO_LABELS.app})`);
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
    let auth: DemoAuth | undefined;
    if (sidecar.adminPort !== undefined) {
      print("\nWhat the grpc-auth filter decided (demo-auth-policy.yaml: ListItems needs an API key, ReserveItem's DENY rule runs dry)");
      auth = await runDemoAuth(target, sidecar.adminPort);
      print(indent(auth.text));
    }
    const balancer = opts.balancerScene === false ? undefined
      : await showBalancerScene({ backends, degrade: { index: 0, normalMs: BACKENDS[0]!.latencyMs, slowMs: 150 }, plugins: { dir: plugins.dir, namespace: DEMO_NAMESPACE, labels: DEMO_LABELS } }, print);
    print("\nWhere to look next");
    print(`      the WasmPlugins it ran:   ${plugins.dir}`);
    print(`      the sidecar's bootstrap:  ${configPath}`);
    print(`      run that sidecar again:   npx meshwasm sidecar -c ${configPath} --plugins ${plugins.dir} --namespace ${DEMO_NAMESPACE} --labels app=${DEMO_LABELS.app}${plugins.source === "oci" ? " (after pushing the images again: the demo's registry stops with it)" : ""}`);
    print(`      then: admin http://127.0.0.1:${sidecar.adminPort ?? 9901}/ , metrics /stats/prometheus (istio_agent_* too), /config_dump`);
    print("      deploy the same filters to a cluster: deploy/README.md");
    return { direct, viaSidecar, filterHeader, filterRequests, methods, prometheusMethods, plugins, auth, balancer };
  } finally {
    await stopPrometheus?.stop();
    await sidecar?.stop();
    await registry?.stop();
    await Promise.all(backends.map((b) => b.stop()));
  }
}

/** The release modules of an earlier build (build/filters/<name>.wasm), in buildFilters' result shape. */
async function builtModules(): Promise<{ outDir: string; modules: Array<{ name: string; variant: string; file: string; size: number; sha256: string; version?: string }> }> {
  const outDir = path.join(REPO_ROOT, "build");
  const modules = [];
  for (const name of DEMO_FILTERS) {
    const file = `filters/${name}.wasm`;
    const bytes = await readFile(path.join(outDir, file));
    modules.push({ name, variant: "release", file, size: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex"), version: "0.0.0-local" });
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
