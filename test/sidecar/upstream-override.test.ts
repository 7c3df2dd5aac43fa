/**
 * Host override through the full sidecar, by both mechanisms a filter can drive
 * (reference/backend-selection.md §1):
 * - the stateful-session filter (header mode): `base64("ip:port")` pins RPCs to that
 *   backend; a response served elsewhere carries the served host back; an unknown host
 *   falls back to the cluster's LB, or with `strict` fails with 503 -> UNAVAILABLE;
 * - the override_host load-balancing policy with a header source: `ip:port[,ip:port]` pins
 *   the first attempt, later addresses serve retries, an address outside the cluster goes to
 *   the fallback policy.
 * In the filter cases a real Wasm module (a small WAT guest) writes the header with
 * proxy_add_header_map_value in on_request_headers, as the grpc-balancer filter will.
 */
import * as grpc from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startSidecar, type Sidecar } from "../../manager/src/sidecar/proxy/sidecar.ts";
import type { Counter } from "../../manager/src/sidecar/stats/types.ts";
import { Guest } from "../conformance/guest.ts";
import { envoyConfig, wasmFilter, writeEnvoyConfig } from "../support/envoy-config.ts";
import { echoClient, startEchoServer, type EchoClient, type EchoReply, type EchoRequest, type EchoServer } from "../support/grpc-echo.ts";

const SESSION_HEADER = "x-session";
const OVERRIDE_HEADER = "x-gateway-destination-endpoint";
const b64 = (s: string): string => Buffer.from(s).toString("base64");

const sessionFilter = (strict = false) => ({
  name: "envoy.filters.http.stateful_session",
  typed_config: {
    "@type": "type.googleapis.com/envoy.extensions.filters.http.stateful_session.v3.StatefulSession",
    strict,
    session_state: {
      name: "envoy.http.stateful_session.header",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.http.stateful_session.header.v3.HeaderBasedSessionState",
        name: SESSION_HEADER,
      },
    },
  },
});

const policy = (name: string, type: string, config: Record<string, unknown> = {}) => ({
  policies: [{ typed_extension_config: { name, typed_config: { "@type": `type.googleapis.com/${type}`, ...config } } }],
});
const overrideHostPolicy = policy(
  "envoy.load_balancing_policies.override_host",
  "envoy.extensions.load_balancing_policies.override_host.v3.OverrideHost",
  {
    override_host_sources: [{ header: OVERRIDE_HEADER }],
    fallback_policy: policy(
      "envoy.load_balancing_policies.round_robin",
      "envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin",
    ),
  },
);

/** A guest that adds `name: value` to the request headers in on_request_headers. */
async function headerGuest(name: string, value: string): Promise<Uint8Array> {
  const g = new Guest();
  g.on("proxy_on_context_create", "");
  g.on("proxy_on_vm_start", "", "(i32.const 1)");
  g.on("proxy_on_configure", "", "(i32.const 1)");
  g.on("proxy_on_request_headers", `(drop ${g.hc("proxy_add_header_map_value", 0, g.str(name), g.str(value))})`);
  return g.build();
}

interface Reply {
  reply: EchoReply;
  headers: grpc.Metadata;
}

/** A unary call that also returns the response headers. */
function call(client: EchoClient, req: EchoRequest, md: Record<string, string> = {}): Promise<Reply> {
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(md)) metadata.set(k, v);
  return new Promise((resolve, reject) => {
    let headers = new grpc.Metadata();
    const c = client.Unary(req, metadata, {}, (err, reply) => (err ? reject(err) : resolve({ reply: reply!, headers })));
    c.on("metadata", (h) => (headers = h));
  });
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe("host override through the sidecar", () => {
  let backends: EchoServer[];
  const addr = (i: number) => `127.0.0.1:${backends[i]!.port}`;
  beforeAll(async () => {
    backends = await Promise.all(["b0", "b1", "b2"].map((n) => startEchoServer(n)));
  });
  afterAll(async () => {
    await Promise.all(backends.map((b) => b.stop()));
  });

  async function start(opts: {
    httpFilters?: unknown[];
    files?: Record<string, Uint8Array>;
    lbPolicy?: unknown;
    routes?: unknown[];
    outlierDetection?: boolean;
  }): Promise<{ sidecar: Sidecar; client: EchoClient }> {
    const bootstrap = envoyConfig({
      clusters: [{ name: "backend", ports: backends.map((b) => b.port) }],
      httpFilters: opts.httpFilters,
      routes: opts.routes,
    });
    const [cluster] = (bootstrap.static_resources as { clusters: Array<Record<string, unknown>> }).clusters;
    if (opts.lbPolicy) {
      delete cluster!.lb_policy;
      cluster!.load_balancing_policy = opts.lbPolicy;
    }
    if (opts.outlierDetection) {
      // Ejected for the rest of the test once 3 consecutive 5xx are seen.
      cluster!.outlier_detection = { consecutive_5xx: 3, interval: "0.2s", base_ejection_time: "30s", max_ejection_percent: 50, enforcing_success_rate: 0 };
    }
    const cfg = await writeEnvoyConfig(bootstrap, opts.files);
    const sidecar = await startSidecar({ configPath: cfg.path });
    const client = echoClient(sidecar.listeners[0]!.port);
    cleanups.push(() => cfg.cleanup(), () => sidecar.stop(), () => client.close());
    return { sidecar, client };
  }

  /** Fails three RPCs on the backend `md` pins, so that outlier detection ejects it. */
  async function eject(sidecar: Sidecar, client: EchoClient, md: Record<string, string>): Promise<void> {
    for (let k = 0; k < 3; k++) {
      await expect(call(client, { message: `f${k}`, fail_code: grpc.status.UNAVAILABLE }, md)).rejects.toMatchObject({ code: 14 });
    }
    expect(Number((sidecar.stats.find("cluster.backend.outlier_detection.ejections_enforced_total") as Counter).value())).toBe(1);
  }

  const servedBy = async (client: EchoClient, n: number, md: Record<string, string> = {}): Promise<Set<string>> => {
    const replies = await Promise.all(Array.from({ length: n }, (_, i) => call(client, { message: `m${i}` }, md)));
    return new Set(replies.map((r) => r.reply.backend));
  };

  describe("stateful session (header)", () => {
    it("pins every RPC to the session host; no header back when the requested host served it", async () => {
      const { client } = await start({ httpFilters: [sessionFilter()] });
      const replies = await Promise.all(
        Array.from({ length: 30 }, (_, i) => call(client, { message: `s${i}` }, { [SESSION_HEADER]: b64(addr(2)) })),
      );
      expect(new Set(replies.map((r) => r.reply.backend))).toEqual(new Set(["b2"]));
      for (const r of replies) expect(r.headers.get(SESSION_HEADER)).toEqual([]);
    });

    it("without a session the LB picks and the response names the served host", async () => {
      const { client } = await start({ httpFilters: [sessionFilter()] });
      const replies = await Promise.all(Array.from({ length: 6 }, (_, i) => call(client, { message: `n${i}` })));
      expect(new Set(replies.map((r) => r.reply.backend)).size).toBe(3);
      for (const r of replies) {
        const i = Number(r.reply.backend.slice(1));
        expect(r.headers.get(SESSION_HEADER)).toEqual([b64(addr(i))]);
      }
    });

    it("an unknown session host falls back to the LB, and the response carries the new session", async () => {
      const { client } = await start({ httpFilters: [sessionFilter()] });
      const unknown = b64("127.0.0.1:1");
      const replies = await Promise.all(Array.from({ length: 6 }, (_, i) => call(client, { message: `u${i}` }, { [SESSION_HEADER]: unknown })));
      expect(new Set(replies.map((r) => r.reply.backend)).size).toBe(3);
      for (const r of replies) expect(r.headers.get(SESSION_HEADER)).toEqual([b64(addr(Number(r.reply.backend.slice(1))))]);
    });

    it("strict: an unknown session host is UNAVAILABLE (503 no healthy upstream)", async () => {
      const { sidecar, client } = await start({ httpFilters: [sessionFilter(true)] });
      await expect(call(client, { message: "x" }, { [SESSION_HEADER]: b64("127.0.0.1:1") })).rejects.toMatchObject({
        code: grpc.status.UNAVAILABLE,
      });
      expect(Number((sidecar.stats.find("cluster.backend.upstream_rq_503") as Counter).value())).toBe(1);
      // A known host still works under strict.
      expect(await servedBy(client, 5, { [SESSION_HEADER]: b64(addr(1)) })).toEqual(new Set(["b1"]));
    });

    it("a session host ejected by outlier detection is not an allowed override status: the LB picks", async () => {
      const { sidecar, client } = await start({ httpFilters: [sessionFilter()], outlierDetection: true });
      const md = { [SESSION_HEADER]: b64(addr(0)) };
      await eject(sidecar, client, md);
      expect(await servedBy(client, 10, md)).toEqual(new Set(["b1", "b2"]));
    });

    it("a Wasm filter before the session filter sets the session header: every RPC lands on that host", async () => {
      const wasm = await headerGuest(SESSION_HEADER, b64(addr(1)));
      const { client } = await start({
        httpFilters: [wasmFilter({ filename: "session.wasm" }), sessionFilter()],
        files: { "session.wasm": wasm },
      });
      expect(await servedBy(client, 30)).toEqual(new Set(["b1"]));
      // The header reached the backend too, as Envoy forwards it.
      expect(backends[1]!.calls.at(-1)!.metadata[SESSION_HEADER]).toBe(b64(addr(1)));
    });
  });

  describe("override_host policy (header source)", () => {
    it("the header's address pins RPCs; an address outside the cluster goes to the fallback policy", async () => {
      const { client } = await start({ lbPolicy: overrideHostPolicy });
      expect(await servedBy(client, 30, { [OVERRIDE_HEADER]: addr(0) })).toEqual(new Set(["b0"]));
      expect(await servedBy(client, 30, { [OVERRIDE_HEADER]: addr(2) })).toEqual(new Set(["b2"]));
      expect(await servedBy(client, 9, { [OVERRIDE_HEADER]: "127.0.0.1:1" })).toEqual(new Set(["b0", "b1", "b2"]));
      expect(await servedBy(client, 9)).toEqual(new Set(["b0", "b1", "b2"]));
    });

    it("the second address serves the retry", async () => {
      const { sidecar, client } = await start({
        lbPolicy: overrideHostPolicy,
        routes: [{ match: { prefix: "/" }, route: { cluster: "backend", retry_policy: { retry_on: "unavailable", num_retries: 1 } } }],
      });
      const before = backends.map((b) => b.calls.length);
      // Every attempt fails; the two attempts go to the two listed hosts in order.
      await expect(
        call(client, { message: "r", fail_code: grpc.status.UNAVAILABLE }, { [OVERRIDE_HEADER]: `${addr(2)},${addr(0)}` }),
      ).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
      expect(backends.map((b, i) => b.calls.length - before[i]!)).toEqual([1, 0, 1]);
      expect(Number((sidecar.stats.find("cluster.backend.upstream_rq_retry") as Counter).value())).toBe(1);
    });

    it("the override host is used even when outlier detection ejected it (Envoy does not check its health)", async () => {
      const { sidecar, client } = await start({ lbPolicy: overrideHostPolicy, outlierDetection: true });
      const md = { [OVERRIDE_HEADER]: addr(0) };
      await eject(sidecar, client, md);
      expect(await servedBy(client, 10, md)).toEqual(new Set(["b0"]));
      // Unpinned RPCs go through the fallback policy, which skips the ejected host.
      expect(await servedBy(client, 10)).toEqual(new Set(["b1", "b2"]));
    });

    it("a Wasm filter sets the override header: every RPC lands on that host", async () => {
      const wasm = await headerGuest(OVERRIDE_HEADER, addr(2));
      const { client } = await start({
        httpFilters: [wasmFilter({ filename: "override.wasm" })],
        files: { "override.wasm": wasm },
        lbPolicy: overrideHostPolicy,
      });
      expect(await servedBy(client, 30)).toEqual(new Set(["b2"]));
    });
  });
});
