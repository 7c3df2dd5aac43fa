/**
 * A real Prometheus for tests: the Debian `prometheus` binary on a free 127.0.0.1 port, with a
 * generated scrape configuration (every target scraped each second by default) and a temporary
 * TSDB folder; `start` returns once `/-/ready` answers. Query helpers use the HTTP API
 * (`/api/v1/query`, `/api/v1/series`, `/api/v1/targets`); `waitForQuery` polls until a query's
 * result satisfies a predicate. `stop` ends the process (by its id) and removes the folder.
 *
 * `prometheusGate()` tells a test file whether the binary is installed: when it is not, the file
 * FAILS under CI (`process.env.CI`) and is skipped with the reason otherwise.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { stringify } from "yaml";

export const PROMETHEUS_BIN = "prometheus";

export function prometheusGate(): { skip: boolean; reason: string } {
  if (spawnSync("sh", ["-c", `command -v ${PROMETHEUS_BIN}`], { stdio: "ignore" }).status === 0) return { skip: false, reason: "" };
  const reason = "not installed: prometheus (Debian package prometheus)";
  if (process.env.CI) throw new Error(`Prometheus tests need ${reason}`);
  return { skip: true, reason };
}

export interface ScrapeTarget {
  job: string;
  /** `127.0.0.1:PORT`. */
  address: string;
  metricsPath?: string;
  /** Target labels added to every series (as a cluster's scrape relabeling would). */
  labels?: Record<string, string>;
}

export interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

export type QueryResult =
  | { resultType: "vector"; result: Sample[] }
  | { resultType: "matrix"; result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> }
  | { resultType: "scalar"; result: [number, string] }
  | { resultType: "string"; result: [number, string] };

/** Prometheus refused a query (a PromQL error): its errorType and message. */
export class PromQueryError extends Error {
  override readonly name = "PromQueryError";
  constructor(
    readonly query: string,
    readonly errorType: string,
    readonly detail: string,
  ) {
    super(`${errorType}: ${detail} (query: ${query})`);
  }
}

export interface TestPrometheus {
  url: string;
  /** Instant query; throws PromQueryError when Prometheus rejects it. */
  query(expr: string, time?: Date): Promise<QueryResult>;
  /** `/api/v1/series?match[]=`: the label sets of the matching series. */
  series(match: string): Promise<Array<Record<string, string>>>;
  /** Polls `query` until `accept` holds; throws with the last result after `timeoutMs`. */
  waitForQuery(expr: string, accept: (r: QueryResult) => boolean, timeoutMs?: number): Promise<QueryResult>;
  /** Active targets with their health and last scrape error. */
  targets(): Promise<Array<{ job: string; health: string; lastError: string; labels: Record<string, string> }>>;
  /** What Prometheus printed (last 64 KiB). */
  log(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export function scrapeConfig(targets: ScrapeTarget[], intervalSeconds: number): string {
  return stringify({
    global: { scrape_interval: `${intervalSeconds}s`, evaluation_interval: `${intervalSeconds}s`, scrape_timeout: `${intervalSeconds}s` },
    scrape_configs: targets.map((t) => ({
      job_name: t.job,
      metrics_path: t.metricsPath ?? "/metrics",
      static_configs: [{ targets: [t.address], ...(t.labels ? { labels: t.labels } : {}) }],
    })),
  });
}

async function getJson<T>(url: string): Promise<T> {
  const r = await fetch(url);
  const body = (await r.json()) as { status: string; data: T; errorType?: string; error?: string };
  if (body.status !== "success") throw new PromQueryError(url, body.errorType ?? String(r.status), body.error ?? "");
  return body.data;
}

export async function startPrometheus(opts: { targets: ScrapeTarget[]; scrapeIntervalSeconds?: number }): Promise<TestPrometheus> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "meshwasm-prometheus-"));
  const configPath = path.join(dir, "prometheus.yml");
  await writeFile(configPath, scrapeConfig(opts.targets, opts.scrapeIntervalSeconds ?? 1));
  let child: ChildProcess | undefined;
  let log = "";
  let url = "";
  try {
    // A port chosen free can be taken before Prometheus binds it: try a few.
    for (let attempt = 0; attempt < 3 && !url; attempt++) {
      const port = await freePort();
      log = "";
      child = spawn(
        PROMETHEUS_BIN,
        [
          `--config.file=${configPath}`,
          `--storage.tsdb.path=${path.join(dir, "data")}`,
          `--web.listen-address=127.0.0.1:${port}`,
          "--log.level=warn",
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      const collect = (d: Buffer) => (log = (log + d.toString()).slice(-65536));
      child.stdout!.on("data", collect);
      child.stderr!.on("data", collect);
      if (await waitReady(`http://127.0.0.1:${port}`, child)) url = `http://127.0.0.1:${port}`;
      else await stopChild(child);
    }
    if (!url) throw new Error(`prometheus did not become ready: ${log}`);
  } catch (e) {
    if (child) await stopChild(child);
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  const proc = child!;

  const query = async (expr: string, time?: Date): Promise<QueryResult> => {
    const params = new URLSearchParams({ query: expr });
    if (time) params.set("time", String(time.getTime() / 1000));
    try {
      return await getJson<QueryResult>(`${url}/api/v1/query?${params}`);
    } catch (e) {
      if (e instanceof PromQueryError) throw new PromQueryError(expr, e.errorType, e.detail);
      throw e;
    }
  };
  return {
    url,
    query,
    series: (match) => getJson(`${url}/api/v1/series?${new URLSearchParams({ "match[]": match })}`),
    async waitForQuery(expr, accept, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      let last: QueryResult | undefined;
      for (;;) {
        last = await query(expr);
        if (accept(last)) return last;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${expr}; last result: ${JSON.stringify(last)}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    async targets() {
      const data = await getJson<{ activeTargets: Array<{ labels: Record<string, string>; health: string; lastError: string; scrapePool: string }> }>(`${url}/api/v1/targets`);
      return data.activeTargets.map((t) => ({ job: t.scrapePool, health: t.health, lastError: t.lastError, labels: t.labels }));
    },
    log: () => log,
    async stop() {
      await stopChild(proc);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function waitReady(url: string, child: ChildProcess, timeoutMs = 20_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    const ok = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

/** The single value of a one-sample vector (or a scalar), as a number; undefined otherwise. */
export function singleValue(r: QueryResult): number | undefined {
  if (r.resultType === "scalar") return Number(r.result[1]);
  if (r.resultType === "vector" && r.result.length === 1) return Number(r.result[0]!.value[1]);
  return undefined;
}
