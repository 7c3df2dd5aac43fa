/**
 * grpc-balancer end to end: @grpc/grpc-js clients and backends (test/balancer/support/fleet.ts)
 * through the local sidecar running the built filter, in both output modes:
 *  - session header: Envoy's stateful_session filter after the Wasm filter, as Istio's
 *    persistent sessions place it; backends receive base64("ip:port"); the client never sees the
 *    header; a slow backend and a failing backend lose their traffic; the metrics reach
 *    /stats/prometheus with the route's cluster (xds.cluster_name, resolved before the filters);
 *  - override_host: the cluster's override_host policy reads "best,second"; a retry goes to the
 *    second address;
 *  - `--concurrency 2`: what one worker VM learns steers the other;
 *  - discovery through the sidecar's own admin `/clusters?format=json`: endpoints known before
 *    any traffic, an outlier-ejected backend skipped.
 */
import * as grpc from "@grpc/grpc-js";
import { createServer } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startSidecar, type Sidecar } from "../../manager/src/sidecar/proxy/sidecar.ts";
import { writeEnvoyConfig } from "../support/envoy-config.ts";
import { filterWasm } from "../../filters/grpc-balancer/test/host-harness.ts";
import { balancingBootstrap, OVERRIDE_HEADER, SESSION_HEADER, type BootstrapOptions, type Policy } from "./support/bootstrap.ts";
import { call, startFleet, workClient, type Backend, type CallResult, type WorkClient } from "./support/fleet.ts";

let wasm: Uint8Array;
let fleet: Backend[];
beforeAll(async () => {
  wasm = await filterWasm();
  fleet = await startFleet(4, { lightMs: 5, jitter: 0 });
}, 180_000);
afterAll(async () => {
  await Promise.all(fleet.map((b) => b.stop()));
});

const cleanups: Array<() => unknown> = [];
let sidecars = 0;
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  for (const b of fleet) b.behaviour = { ...b.behaviour, multiplier: 1, failing: false, serving: true };
});

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

async function start(
  policy: Policy,
  filter: Record<string, unknown> = {},
  opts: Partial<BootstrapOptions> & { concurrency?: number; outlier?: boolean } = {},
): Promise<{ sidecar: Sidecar; client: WorkClient }> {
  const bootstrap = balancingBootstrap({
    endpoints: fleet.map((b) => b.port),
    // A seed of its own per sidecar: in-process sidecars share shared data (one "process"), and
    // a different configuration keeps each test's table apart.
    listeners: [{ name: "backend", policy, filter: { tick_ms: 50, seed: ++sidecars, ...filter } }],
    ...opts,
  });
  if (opts.outlier) {
    const c = (bootstrap.static_resources as { clusters: Array<Record<string, unknown>> }).clusters[0]!;
    c.outlier_detection = { consecutive_5xx: 3, interval: "0.1s", base_ejection_time: "30s", max_ejection_percent: 50, enforcing_success_rate: 0 };
  }
  const cfg = await writeEnvoyConfig(bootstrap, { "grpc-balancer.wasm": wasm });
  const sidecar = await startSidecar({ configPath: cfg.path }, { concurrency: opts.concurrency ?? 1 });
  const client = workClient(sidecar.listeners[0]!.port);
  cleanups.push(() => cfg.cleanup(), () => sidecar.stop(), () => client.close());
  return { sidecar, client };
}

/** `n` calls, `parallel` at a time. */
async function load(client: WorkClient, n: number, parallel = 4, deadlineMs = 5000): Promise<CallResult[]> {
  const out: CallResult[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < n) {
        next++;
        out.push(await call(client, "Light", { deadlineMs }));
      }
    }),
  );
  return out;
}

const share = (results: CallResult[], name: string) => results.filter((r) => r.backend === name).length / results.length;

async function prometheus(sidecar: Sidecar): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${sidecar.adminPort}/stats/prometheus`);
  return res.text();
}

describe("session header mode (Istio persistent sessions)", () => {
  it("steers every RPC with base64(ip:port), hides the header from the client, and avoids a slow backend", async () => {
    fleet[3]!.behaviour.multiplier = 10; // 50 ms against 5 ms
    const { client } = await start("BALANCER_SESSION", { explore_share: 0.05 });
    await load(client, 60); // endpoints discovered passively through explored and pinned RPCs
    const results = await load(client, 400);
    expect(results.every((r) => r.code === 0)).toBe(true);
    // A fair share is 0.25; the issue's own bar for a slow backend (benchmark scenario e) is half
    // of it. Measured 0.75-2.5% (median 1.0%) over ten runs at load average 4. Client, sidecar
    // and backends share one event loop here: at load averages of 9-16 a stall lands on the RPCs
    // in flight, which are the fast backends', and spikes their estimates (12% and 18% seen).
    expect(share(results, "b3")).toBeLessThan(0.1);
    for (const r of results) expect(r.headers.get(SESSION_HEADER)).toEqual([]);
    const seen = fleet.flatMap((b) => b.lastMetadata.map((m) => m[SESSION_HEADER]).filter((v): v is string => v !== undefined));
    expect(seen.length).toBeGreaterThan(0);
    for (const v of seen) expect(fleet.map((b) => `127.0.0.1:${b.port}`)).toContain(Buffer.from(v, "base64").toString());
  });

  it("stops sending to a backend that fails fast with UNAVAILABLE", async () => {
    const { client } = await start("BALANCER_SESSION", { explore_share: 0.05 });
    await load(client, 60);
    fleet[1]!.behaviour.failing = true;
    const results = await load(client, 400);
    expect(share(results, "b1")).toBeLessThan(0.05);
    expect(results.filter((r) => r.code !== 0).length).toBeLessThan(20);
  });

  it("publishes its metrics with the route's cluster (xds.cluster_name at request headers)", async () => {
    const { sidecar, client } = await start("BALANCER_SESSION", {}, { adminPort: await freePort() });
    await load(client, 100);
    await new Promise((r) => setTimeout(r, 150));
    const text = await prometheus(sidecar);
    // Labels through Istio's stats_tags regexes, as extraStatTags renders them.
    expect(Number(/grpc_balancer_rpcs_total\{decision="directed"\} (\d+)/.exec(text)?.[1] ?? 0)).toBeGreaterThan(50);
    expect(text).toMatch(/grpc_balancer_endpoints\{cluster="backend"\} 4\n/);
    for (const b of fleet) expect(text).toMatch(new RegExp(`grpc_balancer_picks_total\\{cluster="backend",endpoint="127.0.0.1_${b.port}"\\} \\d+`));
    expect(text).toMatch(/grpc_balancer_endpoint_cost\{cluster="backend",endpoint="127.0.0.1_\d+"\} \d+/);
  });
});

describe("override_host mode (EnvoyFilter)", () => {
  it("sends 'best,second'; when the first fails, the retry goes to the second", async () => {
    const { client } = await start("BALANCER_OVERRIDE", { explore_share: 0 }, { retryOn: "unavailable", numRetries: 1 });
    await load(client, 60); // explore 0: endpoints are learned from Envoy's fallback choices
    // The fleet had not been seen before the first RPCs: they went to the fallback policy.
    const seen = fleet.flatMap((b) => b.lastMetadata.map((m) => m[OVERRIDE_HEADER]).filter((v): v is string => v !== undefined));
    expect(seen.length).toBeGreaterThan(0);
    for (const v of seen) {
      const [a, b, ...rest] = v.split(",");
      expect(rest).toEqual([]);
      expect(a).not.toBe(b);
    }
    fleet[2]!.behaviour.failing = true;
    const before = fleet[2]!.served.Light;
    const results = await load(client, 200);
    // A pick of the failing backend fails once and is retried on the second address: clients see no error.
    expect(results.every((r) => r.code === 0)).toBe(true);
    expect(fleet[2]!.served.Light - before).toBeLessThan(10);
  });
});

describe("--concurrency 2", () => {
  it("a backend failing on one worker VM loses its traffic on both", async () => {
    const { sidecar, client } = await start("BALANCER_SESSION", { explore_share: 0.02 }, { concurrency: 2 });
    expect(sidecar.plugins).toBeUndefined();
    await load(client, 80);
    fleet[0]!.behaviour.failing = true;
    await load(client, 40); // each VM meets the failure or learns it at a fold
    await new Promise((r) => setTimeout(r, 200));
    const results = await load(client, 400);
    expect(share(results, "b0")).toBeLessThan(0.05);
  });

  it("a slow backend is avoided by both worker VMs", async () => {
    const { client } = await start("BALANCER_SESSION", { explore_share: 0.02 }, { concurrency: 2 });
    await load(client, 80);
    fleet[3]!.behaviour.multiplier = 20;
    await load(client, 60);
    const slow = await load(client, 300);
    expect(share(slow, "b3")).toBeLessThan(0.1);
  });
});

describe("discovery through the admin /clusters", () => {
  it("knows every endpoint before traffic and skips one ejected by outlier detection", async () => {
    const adminPort = await freePort();
    const { client } = await start(
      "BALANCER_SESSION",
      { explore_share: 0, discovery: { cluster: "admin", interval_ms: 200 } },
      { adminPort, outlier: true },
    );
    await new Promise((r) => setTimeout(r, 400)); // a discovery round and a fold
    const first = await load(client, 40);
    expect(new Set(first.map((r) => r.backend)).size).toBe(4); // directed from the first RPC
    fleet[1]!.behaviour.failing = true;
    // Outlier detection ejects b1 after 3 consecutive 5xx; pin three RPCs to it to be sure.
    const pin = new grpc.Metadata();
    pin.set(SESSION_HEADER, Buffer.from(`127.0.0.1:${fleet[1]!.port}`).toString("base64"));
    for (let i = 0; i < 3; i++) await call(client, "Light", { metadata: pin });
    fleet[1]!.behaviour.failing = false; // healthy again, but ejected for 30 s
    await new Promise((r) => setTimeout(r, 500));
    const after = await load(client, 200);
    expect(share(after, "b1")).toBe(0);
  });
});
