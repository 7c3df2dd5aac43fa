/**
 * The sidecar of a scenario: `meshwasm sidecar -c <file>` in a process of its own, with one
 * listener (and one cluster over the same backends) per policy, from the balancing tests'
 * bootstrap builder (test/balancer/support/bootstrap.ts): ROUND_ROBIN, LEAST_REQUEST
 * (choice_count 2, Istio's default), grpc-balancer in session-header mode (Istio persistent
 * sessions: the filter, then Envoy's stateful_session filter, over a LEAST_REQUEST cluster) and in
 * override_host mode (EnvoyFilter: the override_host policy with LEAST_REQUEST as fallback).
 *
 * The filter's configuration is deploy/config/grpc-balancer.json's (admin discovery every second,
 * explore 5%, decay 10 s, default RTT 30 ms, every other field at its default) with `clusters`
 * naming the listener's own cluster instead of the Istio one, and the discovery's cluster the
 * bootstrap's `admin` (HTTP/1.1 to this sidecar's admin port, as Istio's `prometheus_stats` is);
 * each listener's filter has its own seed.
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { REPO_ROOT } from "../../../manager/src/build/compile.ts";
import { writeEnvoyConfig } from "../../support/envoy-config.ts";
import { ADMIN_CLUSTER, balancingBootstrap, type Policy } from "../../balancer/support/bootstrap.ts";

export const POLICY_LABELS: Record<Policy, string> = {
  ROUND_ROBIN: "ROUND_ROBIN",
  LEAST_REQUEST: "LEAST_REQUEST (choice_count 2)",
  BALANCER_SESSION: "grpc-balancer, session header",
  BALANCER_OVERRIDE: "grpc-balancer, override_host",
};

/**
 * deploy/config/grpc-balancer.json without `clusters` (set per listener) and its mode and header
 * (set per policy), its discovery through the bootstrap's `admin` cluster.
 */
export async function deployedFilterConfig(): Promise<Record<string, unknown>> {
  const shipped = JSON.parse(await readFile(join(REPO_ROOT, "deploy", "config", "grpc-balancer.json"), "utf8")) as Record<string, unknown>;
  const { clusters: _clusters, mode: _mode, header: _header, ...rest } = shipped;
  if (rest.discovery && typeof rest.discovery === "object") rest.discovery = { ...(rest.discovery as Record<string, unknown>), cluster: ADMIN_CLUSTER };
  return rest;
}

export interface BenchSidecar {
  pid: number;
  /** Listener port per policy, in the order given. */
  ports: number[];
  adminPort: number;
  stop(): Promise<void>;
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });

const listenerName = (p: Policy) => p.toLowerCase();

export async function startBenchSidecar(opts: {
  policies: Policy[];
  backendPorts: number[];
  healthCheckMs?: number;
  filter: Record<string, unknown>;
}): Promise<BenchSidecar> {
  const adminPort = await freePort();
  const wasm = await readFile(join(REPO_ROOT, "build", "filters", "grpc-balancer.wasm"));
  const bootstrap = balancingBootstrap({
    endpoints: opts.backendPorts,
    listeners: opts.policies.map((policy, i) => ({ name: listenerName(policy), policy, filter: { ...opts.filter, clusters: [listenerName(policy)], seed: 1000 + i } })),
    healthCheckIntervalMs: opts.healthCheckMs,
    adminPort,
  });
  const cfg = await writeEnvoyConfig(bootstrap, { "grpc-balancer.wasm": wasm });
  const child = spawn(process.execPath, ["--import", "tsx", join("manager", "src", "cli", "index.ts"), "sidecar", "-c", cfg.path], {
    cwd: REPO_ROOT,
    stdio: ["pipe", "pipe", "pipe"],
  });
  const killOnExit = () => child.kill("SIGTERM"); // no orphaned sidecar if the bench is stopped
  process.once("exit", killOnExit);
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
    if (process.env.BENCH_TRACE) process.stderr.write(d);
  });
  const stop = async () => {
    process.off("exit", killOnExit);
    if (child.exitCode === null) {
      await new Promise<void>((done) => {
        child.once("exit", () => done());
        child.kill("SIGTERM");
      });
    }
    await cfg.cleanup();
  };
  const ports = await new Promise<number[]>((resolve, reject) => {
    let out = "";
    const found = new Map<string, number>();
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      for (const m of out.matchAll(/listener (\S+) on [^\n]*:(\d+)\n/g)) found.set(m[1]!, Number(m[2]));
      if (opts.policies.every((p) => found.has(listenerName(p)))) resolve(opts.policies.map((p) => found.get(listenerName(p))!));
    });
    child.once("exit", (code) => reject(new Error(`meshwasm sidecar exited with ${code}: ${stderr.trim()}`)));
  }).catch(async (e) => {
    await stop();
    throw e;
  });
  return { pid: child.pid!, ports, adminPort, stop };
}
