/**
 * grpc-balancer end to end: @grpc/grpc-js clients through the local sidecar running the built
 * filter, to @grpc/grpc-js backends (test/balancer/support/fleet.ts), in both output modes:
 *  - session header: Envoy's stateful_session filter after the Wasm filter, as Istio's
 *    persistent sessions place it; backends receive base64("ip:port"); the client never sees the
 *    header; a slow backend and a failing backend lose their traffic; the metrics reach
 *    /stats/prometheus with the route's cluster (xds.cluster_name, resolved before the filters);
 *  - override_host: the cluster's override_host policy reads "best,second"; a retry goes to the
 *    second address;
 *  - `--concurrency 2`: what one worker VM learns steers the other;
 *  - discovery through the sidecar's own admin `/clusters?format=json`: endpoints known before
 *    any traffic, an outlier-ejected backend skipped.
 *
 * Three processes, as in a pod: the client (this test), the sidecar (`meshwasm sidecar -c …
 * --concurrency n`, support/sidecar-process.ts) and the backends (support/fleet-process.ts,
 * driven over IPC). The filter measures each RPC inside the sidecar; with one event loop for all
 * three, a stall of the client or of the backends landed on the RPCs in flight (the fast
 * backends') and spiked their peak-EWMA: a single 2-3 s stall lets a failing backend tie with
 * the healthy ones for seconds (README "Tests").
 *
 * Every steering case first warms up until the filter knows all four backends (its
 * grpc_balancer_endpoints gauge on the sidecar's admin port), so that a share measures the filter
 * steering around a backend it knows. BALANCER_E2E_SHARES=1 prints the share of each case.
 */
import * as grpc from "@grpc/grpc-js";
import { createServer } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { writeEnvoyConfig } from "../support/envoy-config.ts";
import { filterWasm } from "../../filters/grpc-balancer/test/host-harness.ts";
import { balancingBootstrap, OVERRIDE_HEADER, SESSION_HEADER, type BootstrapOptions, type Policy } from "./support/bootstrap.ts";
import { call, workClient, type CallResult, type WorkClient } from "./support/fleet.ts";
import { RemoteFleet } from "./support/remote-fleet.ts";
import { startSidecarProcess, type SidecarProcess } from "./support/sidecar-process.ts";

/** Per case: the sidecar's start-up (a few seconds on a loaded machine) and a few hundred RPCs. */
const CASE_MS = 60_000;
/**
 * A healthy backend's latency. Above the noise of the machine the test runs on: on two shared
 * cores at load averages of 7-12, a 5 ms backend answered through the sidecar in 12-23 ms at the
 * median and 27-56 ms at p90 (tails to 260 ms), so a backend "ten times slower" (50 ms) was less
 * than twice as slow as the others' tails, and the slow share measured 4.5-11.75%; at 50 ms the
 * healthy p90 is 58-65 ms against the slow backend's 505-520 ms (1-2.75% measured).
 */
const LIGHT_MS = 50;

let wasm: Uint8Array;
let fleet: RemoteFleet;
beforeAll(async () => {
  [wasm, fleet] = await Promise.all([filterWasm(), RemoteFleet.start(4, { lightMs: LIGHT_MS, jitter: 0 })]);
}, 180_000);
afterAll(async () => {
  await fleet?.stop();
});

const cleanups: Array<() => unknown> = [];
let sidecars = 0;
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  await fleet.reset();
});

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

interface Started {
  sidecar: SidecarProcess;
  client: WorkClient;
  adminPort: number;
}

async function start(
  policy: Policy,
  filter: Record<string, unknown> = {},
  opts: Partial<BootstrapOptions> & { concurrency?: number; outlier?: boolean } = {},
): Promise<Started> {
  const adminPort = opts.adminPort ?? (await freePort());
  const bootstrap = balancingBootstrap({
    endpoints: fleet.ports,
    adminPort,
    // A seed of its own per sidecar, so that a failure names the run to replay.
    listeners: [{ name: "backend", policy, filter: { tick_ms: 50, seed: ++sidecars, ...filter } }],
    ...opts,
  });
  if (opts.outlier) {
    const c = (bootstrap.static_resources as { clusters: Array<Record<string, unknown>> }).clusters[0]!;
    c.outlier_detection = { consecutive_5xx: 3, interval: "0.1s", base_ejection_time: "30s", max_ejection_percent: 50, enforcing_success_rate: 0 };
  }
  const cfg = await writeEnvoyConfig(bootstrap, { "grpc-balancer.wasm": wasm });
  cleanups.push(() => cfg.cleanup());
  const sidecar = await startSidecarProcess(cfg.path, { listeners: ["backend"], concurrency: opts.concurrency ?? 1 });
  cleanups.push(() => sidecar.stop());
  const client = workClient(sidecar.ports.get("backend")!);
  cleanups.push(() => client.close());
  return { sidecar, client, adminPort };
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

/** The filter's usable endpoints of the cluster, from its gauge (published at every fold). */
async function endpointsKnown(adminPort: number): Promise<number> {
  await new Promise((r) => setTimeout(r, 150)); // a fold after the last RPC
  const m = /grpc_balancer_endpoints\{cluster="backend"\} (\d+)/.exec(await prometheus(adminPort));
  return m ? Number(m[1]) : 0;
}

/**
 * `n` RPCs, then more until the filter knows every backend (passive discovery learns the ones
 * Envoy's balancer serves while the filter knows fewer than two, then only from the explored
 * share), at most `max` in all: what a case then measures is the filter steering around an
 * endpoint it knows, not an endpoint it has not met yet.
 */
async function warmUp(s: Started, n: number, max = 600): Promise<void> {
  let sent = 0;
  // The first RPCs sixteen at a time: while the filter knows fewer than two endpoints, Envoy's
  // LEAST_REQUEST spreads them over every backend, and the filter learns each one it serves.
  for (let batch = n, lanes = 16; ; batch = 20, lanes = 4) {
    await load(s.client, batch, lanes);
    sent += batch;
    const known = await endpointsKnown(s.adminPort);
    if (known === fleet.ports.length || sent >= max) {
      expect(known, `endpoints the filter knows after ${sent} RPCs`).toBe(fleet.ports.length);
      return;
    }
  }
}

const share = (results: CallResult[], name: string) => results.filter((r) => r.backend === name).length / results.length;

function note(label: string, value: number): void {
  if (process.env.BALANCER_E2E_SHARES) console.log(`balancer-sidecar ${label}: ${(value * 100).toFixed(2)}%`);
}

/** Values of request header `name` that the backends received in their last calls. */
async function headersSeen(name: string): Promise<string[]> {
  const snaps = await Promise.all(fleet.backends.map((_, i) => fleet.snapshot(i)));
  return snaps.flatMap((s) => s.lastMetadata.map((m) => m[name]).filter((v): v is string => v !== undefined));
}

async function prometheus(adminPort: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/stats/prometheus`);
  return res.text();
}

describe("session header mode (Istio persistent sessions)", () => {
  it("steers every RPC with base64(ip:port), hides the header from the client, and avoids a slow backend", async () => {
    await fleet.set(3, { multiplier: 10 }); // 500 ms against 50 ms
    const started = await start("BALANCER_SESSION", { explore_share: 0.05 });
    const { client } = started;
    await warmUp(started, 60); // endpoints discovered passively, from what Envoy's balancer serves
    const results = await load(client, 400);
    expect(results.every((r) => r.code === 0)).toBe(true);
    // A fair share is 0.25; the issue's own bar for a slow backend (benchmark scenario e) is half
    // of it; this test holds 10%.
    note("session, slow b3", share(results, "b3"));
    expect(share(results, "b3")).toBeLessThan(0.1);
    for (const r of results) expect(r.headers.get(SESSION_HEADER)).toEqual([]);
    const seen = await headersSeen(SESSION_HEADER);
    expect(seen.length).toBeGreaterThan(0);
    for (const v of seen) expect(fleet.ports.map((p) => `127.0.0.1:${p}`)).toContain(Buffer.from(v, "base64").toString());
  }, CASE_MS);

  it("stops sending to a backend that fails fast with UNAVAILABLE", async () => {
    const started = await start("BALANCER_SESSION", { explore_share: 0.05 });
    const { client } = started;
    await warmUp(started, 60);
    await fleet.set(1, { failing: true });
    const results = await load(client, 400);
    note("session, failing b1", share(results, "b1"));
    expect(share(results, "b1")).toBeLessThan(0.05);
    expect(results.filter((r) => r.code !== 0).length).toBeLessThan(20);
  }, CASE_MS);

  it("publishes its metrics with the route's cluster (xds.cluster_name at request headers)", async () => {
    const started = await start("BALANCER_SESSION");
    await warmUp(started, 100);
    await load(started.client, 100);
    await new Promise((r) => setTimeout(r, 150));
    const text = await prometheus(started.adminPort);
    // Labels through Istio's stats_tags regexes, as extraStatTags renders them.
    expect(Number(/grpc_balancer_rpcs_total\{decision="directed"\} (\d+)/.exec(text)?.[1] ?? 0)).toBeGreaterThan(50);
    expect(text).toMatch(/grpc_balancer_endpoints\{cluster="backend"\} 4\n/);
    for (const p of fleet.ports) expect(text).toMatch(new RegExp(`grpc_balancer_picks_total\\{cluster="backend",endpoint="127.0.0.1_${p}"\\} \\d+`));
    expect(text).toMatch(/grpc_balancer_endpoint_cost\{cluster="backend",endpoint="127.0.0.1_\d+"\} \d+/);
  }, CASE_MS);
});

describe("override_host mode (EnvoyFilter)", () => {
  it("sends 'best,second'; when the first fails, the retry goes to the second", async () => {
    const started = await start("BALANCER_OVERRIDE", { explore_share: 0 }, { retryOn: "unavailable", numRetries: 1 });
    const { client } = started;
    // Explore 0: endpoints are learned from Envoy's fallback choices only, before the filter
    // knows two; no more are learned later.
    await warmUp(started, 60, 60);
    // The fleet had not been seen before the first RPCs: they went to the fallback policy.
    const seen = await headersSeen(OVERRIDE_HEADER);
    expect(seen.length).toBeGreaterThan(0);
    for (const v of seen) {
      const [a, b, ...rest] = v.split(",");
      expect(rest).toEqual([]);
      expect(a).not.toBe(b);
    }
    await fleet.set(2, { failing: true });
    const before = (await fleet.snapshot(2)).served.Light;
    const results = await load(client, 200);
    // A pick of the failing backend fails once and is retried on the second address: clients see no error.
    expect(results.every((r) => r.code === 0)).toBe(true);
    const after = (await fleet.snapshot(2)).served.Light;
    note("override_host, attempts on failing b2", (after - before) / results.length);
    expect(after - before).toBeLessThan(10);
  }, CASE_MS);
});

describe("--concurrency 2", () => {
  /** The filter logs one "configured" line per VM it runs in: Envoy's canary, then each worker. */
  const configuredVms = (sidecar: SidecarProcess) => sidecar.log().match(/grpc-balancer-backend: configured: /g)?.length ?? 0;

  it("a backend failing on one worker VM loses its traffic on both", async () => {
    const started = await start("BALANCER_SESSION", { explore_share: 0.02 }, { concurrency: 2 });
    const { sidecar, client } = started;
    await warmUp(started, 80);
    await fleet.set(0, { failing: true });
    await load(client, 40); // each VM meets the failure or learns it at a fold
    await new Promise((r) => setTimeout(r, 200));
    const results = await load(client, 400);
    note("--concurrency 2, failing b0", share(results, "b0"));
    expect(share(results, "b0")).toBeLessThan(0.05);
    expect(configuredVms(sidecar)).toBe(3);
  }, CASE_MS);

  it("a slow backend is avoided by both worker VMs", async () => {
    const started = await start("BALANCER_SESSION", { explore_share: 0.02 }, { concurrency: 2 });
    const { sidecar, client } = started;
    await warmUp(started, 80);
    await fleet.set(3, { multiplier: 20 });
    await load(client, 60);
    const slow = await load(client, 300);
    note("--concurrency 2, slow b3", share(slow, "b3"));
    expect(share(slow, "b3")).toBeLessThan(0.1);
    expect(configuredVms(sidecar)).toBe(3);
  }, CASE_MS);
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
    await fleet.set(1, { failing: true });
    // Outlier detection ejects b1 after 3 consecutive 5xx; pin three RPCs to it to be sure.
    const pin = new grpc.Metadata();
    pin.set(SESSION_HEADER, Buffer.from(`127.0.0.1:${fleet.ports[1]}`).toString("base64"));
    for (let i = 0; i < 3; i++) await call(client, "Light", { metadata: pin });
    await fleet.set(1, { failing: false }); // healthy again, but ejected for 30 s
    await new Promise((r) => setTimeout(r, 500));
    const after = await load(client, 200);
    expect(share(after, "b1")).toBe(0);
  }, CASE_MS);
});
