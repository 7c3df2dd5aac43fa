/**
 * Plugin start-up benchmark (issue 9, report only, no goal): how long the local sidecar takes to
 * start with three WasmPlugins whose modules come from a registry, with istio-agent's module cache
 * cold and warm.
 *
 * Setup: the CNCF distribution registry on 127.0.0.1 (test/support/registry.ts, no auth);
 * grpc-metrics, grpc-hello and add-header from build/filters pushed as compat images; three
 * WasmPlugin manifests pinning them by manifest digest (`oci://…@sha256:<digest>`, the form the
 * manager writes); a grpc-js echo backend behind the sidecar.
 *
 * In-process rounds (startSidecar to resolved, which is when the listener accepts and /ready
 * answers 200), in this order each round:
 * - cold: a new agent cache over an empty --wasm-cache directory, every image pulled;
 * - warm: the same agent cache again, holding the three digests (digest-keyed hits, no request
 *   to the registry), as a long-lived istio-agent serves a restarted Envoy or another listener;
 * - restart: a new agent cache over the directory the cold start filled. istio-agent keeps its
 *   index in memory and never reads its directory back, so this pulls again, as a restarted
 *   agent does;
 * - no plugins: the same bootstrap without --plugins (listeners, admin, backend cluster).
 * The cold time is split at the agent cache: before the first fetch (bootstrap, manifests,
 * placement), the fetches (three in parallel, as the agent converts ECDS resources), and after
 * the last (VM start: compile, instantiate, canary, worker VMs; then the listeners).
 * Before each start the previous one's garbage is collected (else the start that follows a plugin
 * sidecar pays for its VMs' collection). In one process V8 may reuse compiled code of a module it compiled before, so the rounds also
 * run `meshwasm sidecar` in a fresh process (new V8, empty cache) with and without --plugins,
 * timed from spawn to its first `listener` line.
 *
 * Every round checks that the three plugins run (no RBAC fallback, one RPC carries
 * add-header's header) and counts istio-agent's remote fetches.
 *
 * `npx tsx test/bench/plugins-startup-bench.ts [--rounds N] [--process-rounds N] [--build-dir DIR]`
 * (run `npm run build` first). Prints a markdown table and writes its section of
 * test/bench/PLUGINS-RESULTS.md (test/bench/oci-bench.ts writes the OCI section).
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import v8 from "node:v8";
import vm from "node:vm";
import { REPO_ROOT } from "../../manager/src/build/compile.ts";
import { pushWasmImage } from "../../manager/src/oci/index.ts";
import { AgentMetrics, ModuleCache, type CacheGetOptions, type CachedModule } from "../../manager/src/sidecar/plugins/index.ts";
import { startSidecar } from "../../manager/src/sidecar/proxy/sidecar.ts";
import { envoyConfig, writeEnvoyConfig } from "../support/envoy-config.ts";
import { echoClient, startEchoServer, unary } from "../support/grpc-echo.ts";
import { startRegistry } from "../support/registry.ts";

const FILTERS = ["grpc-metrics", "grpc-hello", "add-header"] as const;

v8.setFlagsFromString("--expose-gc");
const collectGarbage = vm.runInNewContext("gc") as () => void;
export const RESULTS_FILE = path.join(REPO_ROOT, "test", "bench", "PLUGINS-RESULTS.md");

/** istio-agent's cache, timing each lookup-or-fetch. */
class TimedModuleCache extends ModuleCache {
  readonly spans: Array<[number, number]> = [];
  override async get(url: string, o: CacheGetOptions): Promise<CachedModule> {
    const start = performance.now();
    try {
      return await super.get(url, o);
    } finally {
      this.spans.push([start, performance.now()]);
    }
  }
}

interface Sample {
  totalMs: number;
  beforeFetchMs?: number;
  fetchMs?: number;
  afterFetchMs?: number;
  fetches?: number;
}

export interface StartupRow {
  scenario: string;
  samples: Sample[];
}

function stats(values: number[]): { median: number; p90: number } {
  const s = [...values].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, p90: s[Math.min(s.length - 1, Math.ceil(s.length * 0.9) - 1)]! };
}

function pluginYaml(name: string, url: string, extra: string[]): string {
  return ["apiVersion: extensions.istio.io/v1alpha1", "kind: WasmPlugin", "metadata:", `  name: ${name}`, "spec:", `  url: ${url}`, `  pluginName: ${name}`, "  failStrategy: FAIL_CLOSE", ...extra].join("\n") + "\n";
}

/** One unary RPC through the sidecar; returns the x-bench header the backend saw. */
async function benchHeader(port: number): Promise<string | undefined> {
  const client = echoClient(port);
  try {
    return (await unary(client, { message: "bench" }, { deadlineMs: 10_000 })).headers["x-bench"];
  } finally {
    client.close();
  }
}

/** Spawns `meshwasm sidecar` and resolves with the time to its first `listener` line. */
function timeProcessStart(args: string[]): Promise<number> {
  const start = performance.now();
  const child = spawn(process.execPath, ["--import", "tsx", path.join("manager", "src", "cli", "index.ts"), "sidecar", ...args], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (/^listener \S+ on /m.test(out)) {
        const ms = performance.now() - start;
        child.once("exit", () => resolve(ms));
        child.kill("SIGTERM");
      }
    });
    child.once("exit", (code) => {
      if (!/^listener /m.test(out)) reject(new Error(`meshwasm sidecar exited with ${code}: ${err.trim().split("\n").slice(-3).join(" | ")}`));
    });
  });
}

export async function runStartupBench(opts: { rounds: number; processRounds: number; buildDir: string }): Promise<{ rows: StartupRow[]; modules: Array<{ name: string; bytes: number }> }> {
  const modules: Array<{ name: string; wasm: Uint8Array }> = [];
  for (const name of FILTERS) {
    const file = path.join(opts.buildDir, "filters", `${name}.wasm`);
    try {
      modules.push({ name, wasm: new Uint8Array(await readFile(file)) });
    } catch {
      throw new Error(`${file}: not found; run \`npm run build\` first`);
    }
  }
  const reg = await startRegistry({ auth: "none" });
  const backend = await startEchoServer("bench-backend");
  const work = await mkdtemp(path.join(tmpdir(), "meshwasm-plugins-bench-"));
  let cleanupConfig: (() => Promise<void>) | undefined;
  try {
    const pluginsDir = path.join(work, "plugins");
    await mkdir(pluginsDir);
    for (const m of modules) {
      const pushed = await pushWasmImage(`${reg.host}/filters/${m.name}:1.0.0`, { wasm: m.wasm, name: m.name, version: "1.0.0" }, { auth: {}, blobLocations: false });
      const url = `oci://${reg.host}/filters/${m.name}@${pushed.manifestDigest}`;
      const extra =
        m.name === "add-header"
          ? ["  pluginConfig:", "    request_header_name: x-bench", "    request_header_value: three-plugins"]
          : ["  phase: STATS", ...(m.name === "grpc-hello" ? ["  priority: 10"] : [])];
      await writeFile(path.join(pluginsDir, `${m.name}.yaml`), pluginYaml(m.name, url, extra));
    }
    const config = await writeEnvoyConfig(envoyConfig({ clusters: [{ name: "backend", ports: [backend.port] }], admin: true }));
    cleanupConfig = config.cleanup;
    const newCacheDir = () => mkdtemp(path.join(work, "cache-"));

    /** One in-process start; `cache` is the agent cache to use (undefined: no --plugins). */
    const startOnce = async (cache?: { modules: TimedModuleCache; metrics: AgentMetrics }): Promise<Sample> => {
      const fetchesBefore = cache?.metrics.value("wasm_remote_fetch_count", { result: "success" }) ?? 0;
      const spansBefore = cache?.modules.spans.length ?? 0;
      // Each start begins from the same state: the previous sidecar's garbage collected, no I/O pending.
      collectGarbage();
      await sleep(20);
      const t0 = performance.now();
      const sidecar = await startSidecar({ configPath: config.path }, cache ? { plugins: { dir: pluginsDir, cache } } : {});
      const t1 = performance.now();
      try {
        const header = await benchHeader(sidecar.listeners[0]!.port);
        if (cache) {
          const kinds = sidecar.plugins!.instances().map((i) => i.kind);
          if (kinds.length !== 3 || kinds.some((k) => k !== "wasm")) throw new Error(`plugins did not all load: ${kinds.join(", ")}`);
          if (header !== "three-plugins") throw new Error(`add-header did not run (x-bench: ${header})`);
        } else if (header !== undefined) throw new Error("a plugin ran without --plugins");
      } finally {
        await sidecar.stop();
      }
      if (!cache) return { totalMs: t1 - t0 };
      const spans = cache.modules.spans.slice(spansBefore);
      const first = Math.min(...spans.map((s) => s[0]));
      const last = Math.max(...spans.map((s) => s[1]));
      return {
        totalMs: t1 - t0,
        beforeFetchMs: first - t0,
        fetchMs: last - first,
        afterFetchMs: t1 - last,
        fetches: cache.metrics.value("wasm_remote_fetch_count", { result: "success" }) - fetchesBefore,
      };
    };
    const newCache = (dir: string) => {
      const metrics = new AgentMetrics();
      return { metrics, modules: new TimedModuleCache({ metrics, dir }) };
    };

    const rows: StartupRow[] = [
      { scenario: "cold: agent cache empty, every image pulled", samples: [] },
      { scenario: "warm: agent cache holds the three digests", samples: [] },
      { scenario: "restart: new agent cache, --wasm-cache directory already filled", samples: [] },
      { scenario: "no --plugins", samples: [] },
    ];
    // One uncounted warm-up round (JIT, registry caches).
    for (let round = -1; round < opts.rounds; round++) {
      const dir = await newCacheDir();
      const cold = newCache(dir);
      const restart = newCache(dir);
      try {
        const samples = [await startOnce(cold), await startOnce(cold), await startOnce(restart), await startOnce()];
        if (round >= 0) samples.forEach((s, i) => rows[i]!.samples.push(s));
      } finally {
        cold.modules.close();
        restart.modules.close();
      }
    }

    if (opts.processRounds > 0) {
      const withPlugins: number[] = [];
      const without: number[] = [];
      for (let round = -1; round < opts.processRounds; round++) {
        const dir = await newCacheDir();
        const a = await timeProcessStart(["-c", config.path, "--plugins", pluginsDir, "--wasm-cache", dir]);
        const b = await timeProcessStart(["-c", config.path]);
        if (round >= 0) {
          withPlugins.push(a);
          without.push(b);
        }
      }
      rows.push({ scenario: "fresh process: `meshwasm sidecar --plugins`, cold", samples: withPlugins.map((totalMs) => ({ totalMs })) });
      rows.push({ scenario: "fresh process: `meshwasm sidecar` without --plugins", samples: without.map((totalMs) => ({ totalMs })) });
    }
    return { rows, modules: modules.map((m) => ({ name: m.name, bytes: m.wasm.byteLength })) };
  } finally {
    await backend.stop();
    await reg.stop();
    await rm(work, { recursive: true, force: true });
    await cleanupConfig?.();
  }
}

export function formatStartupBench(rows: StartupRow[], modules: Array<{ name: string; bytes: number }>): string {
  const ms = (n: number | undefined) => (n === undefined ? "–" : n.toFixed(1));
  const pick = (samples: Sample[], key: keyof Sample) => {
    const values = samples.map((s) => s[key]).filter((v): v is number => v !== undefined);
    return values.length ? stats(values) : undefined;
  };
  const lines = [
    `Modules: ${modules.map((m) => `${m.name} (${(m.bytes / 1024).toFixed(1)} KiB)`).join(", ")}, pinned by manifest digest.`,
    "",
    "| start | median ms | p90 ms | before fetch, median ms | fetch (3 in parallel), median ms | VM start + listeners, median ms | images pulled |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of rows) {
    const total = stats(r.samples.map((s) => s.totalMs));
    const fetches = r.samples[0]?.fetches;
    lines.push(
      `| ${r.scenario} | ${ms(total.median)} | ${ms(total.p90)} | ${ms(pick(r.samples, "beforeFetchMs")?.median)} | ${ms(pick(r.samples, "fetchMs")?.median)} | ${ms(pick(r.samples, "afterFetchMs")?.median)} | ${fetches === undefined ? "–" : fetches} |`,
    );
  }
  const cold = rows[0]!;
  const coldTotal = stats(cold.samples.map((s) => s.totalMs)).median;
  const coldFetch = pick(cold.samples, "fetchMs")!.median;
  const coldAfter = pick(cold.samples, "afterFetchMs")!.median;
  lines.push(
    "",
    `Of the cold start's median ${ms(coldTotal)} ms, the fetches take ${ms(coldFetch)} ms (${((coldFetch / coldTotal) * 100).toFixed(0)}%) and VM start plus listeners ${ms(coldAfter)} ms (${((coldAfter / coldTotal) * 100).toFixed(0)}%).`,
    "",
    "In-process starts are timed from `startSidecar` to its resolution (the listener accepts, /ready answers);",
    "\"before fetch\" is the bootstrap and the WasmPlugin manifests (read, validated against the CRD schema",
    "and CEL rules, placed); \"fetch\" runs from the first to the last lookup in istio-agent's cache (manifest,",
    "layer, checks, file written); \"VM start\" compiles and starts each module (canary, one worker VM) and",
    "then the listeners start. The restart row pulls again because istio-agent keeps its cache index in",
    "memory and never reads its directory back. Fresh-process rows include Node.js and the TypeScript",
    "loader; their difference is the plugins' cost in a new process (code loaded and compiled for the",
    "first time).",
  );
  return lines.join("\n");
}

/** Replaces the section `name` of PLUGINS-RESULTS.md (between its markers), keeping the others. */
export async function writeResultsSection(name: "startup" | "oci", title: string, command: string, body: string): Promise<void> {
  let text: string;
  try {
    text = await readFile(RESULTS_FILE, "utf8");
  } catch {
    text = [
      "# Publishing and plugin start-up benchmarks",
      "",
      "Reproduce with `npm run build && npm run bench:publish` (each section also names its own command).",
      "Report only, no goal. Local registry (the CNCF distribution registry) and sidecar on 127.0.0.1;",
      "compare ratios, not absolute numbers, across machines.",
      "",
    ].join("\n");
  }
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const machine = `${cpus().length} cores (${cpus()[0]?.model ?? "unknown CPU"}), load average ${loadavg()[0]!.toFixed(1)}, Node.js ${process.version}`;
  const section = [start, `## ${title}`, "", `\`${command}\` — ${new Date().toISOString().slice(0, 10)}, ${machine}.`, "", body, end].join("\n");
  const at = text.indexOf(start);
  const stop = text.indexOf(end);
  text = at >= 0 && stop > at ? text.slice(0, at) + section + text.slice(stop + end.length) : `${text.trimEnd()}\n\n${section}\n`;
  await writeFile(RESULTS_FILE, text);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = (name: string, fallback: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
  };
  const rounds = Number(arg("--rounds", "15"));
  const processRounds = Number(arg("--process-rounds", "5"));
  const buildDir = path.resolve(arg("--build-dir", path.join(REPO_ROOT, "build")));
  const { rows, modules } = await runStartupBench({ rounds, processRounds, buildDir });
  const body = formatStartupBench(rows, modules);
  process.stdout.write(body + "\n");
  const command = `npx tsx test/bench/plugins-startup-bench.ts --rounds ${rounds} --process-rounds ${processRounds}`;
  await writeResultsSection("startup", "Sidecar start-up with three WasmPlugins from the registry", command, body);
  process.stdout.write(`written to ${path.relative(REPO_ROOT, RESULTS_FILE)}\n`);
}
