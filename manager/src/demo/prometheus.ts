/**
 * The demo's optional Prometheus: when the `prometheus` binary is installed (Debian package
 * `prometheus`), start it on a free loopback port with a temporary TSDB and a scrape
 * configuration for the sidecar's `/stats/prometheus` (every second), and query it over its HTTP
 * API. When it is not installed the demo says so and reads the sidecar directly.
 * I/O only; the numbers are turned into rows by metrics-report.ts.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { stringify } from "yaml";
import type { PromSample } from "./metrics-report.ts";

export interface DemoPrometheus {
  url: string;
  /** An instant query's vector as samples (`name` is the result's __name__, "" for expressions). */
  query(expr: string): Promise<PromSample[]>;
  stop(): Promise<void>;
}

export function prometheusInstalled(): boolean {
  return spawnSync("sh", ["-c", "command -v prometheus"], { stdio: "ignore" }).status === 0;
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

/** Starts Prometheus scraping `127.0.0.1:<adminPort>/stats/prometheus`; resolves once it is ready. */
export async function startDemoPrometheus(adminPort: number): Promise<DemoPrometheus> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "meshwasm-demo-prometheus-"));
  const config = path.join(dir, "prometheus.yml");
  await writeFile(
    config,
    stringify({
      global: { scrape_interval: "1s", evaluation_interval: "1s", scrape_timeout: "1s" },
      scrape_configs: [{ job_name: "sidecar", metrics_path: "/stats/prometheus", static_configs: [{ targets: [`127.0.0.1:${adminPort}`] }] }],
    }),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let log = "";
  const child: ChildProcess = spawn(
    "prometheus",
    [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout!.on("data", (d: Buffer) => (log = (log + d.toString()).slice(-8192)));
  child.stderr!.on("data", (d: Buffer) => (log = (log + d.toString()).slice(-8192)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`prometheus exited: ${log.trim()}`);
    }
    if (await fetch(`${url}/-/ready`).then((r) => r.ok, () => false)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus did not become ready: ${log.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    async query(expr) {
      const r = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: expr })}`);
      const body = (await r.json()) as {
        status: string;
        error?: string;
        data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
      };
      if (body.status !== "success" || body.data?.resultType !== "vector") throw new Error(`prometheus query failed: ${body.error ?? body.status}: ${expr}`);
      return body.data.result.map(({ metric, value }) => {
        const { __name__: name = "", ...labels } = metric;
        return { name, labels, value: Number(value[1]) };
      });
    },
    stop,
  };
}
