/**
 * Upstream connection lifecycle: a completed RPC never resets its upstream stream (a grpc-js
 * backend, through nghttp2's rapid-reset protection, answers ~1,000 RST_STREAMs with a GOAWAY that
 * fails the RPCs in flight), and stop() closes every upstream connection it opened (a half-closed
 * socket left behind keeps the process alive after `meshwasm sidecar` is asked to stop).
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Socket } from "node:net";
import { createDemoClients, startDemoBackend, type DemoBackend } from "../../manager/src/demo/services/index.ts";
import { startSidecar } from "../../manager/src/sidecar/proxy/sidecar.ts";
import { envoyConfig, writeEnvoyConfig, type WrittenConfig } from "../support/envoy-config.ts";

const socketsTo = (port: number): Socket[] =>
  (process as unknown as { _getActiveHandles(): unknown[] })
    ._getActiveHandles()
    .filter((h): h is Socket => (h as Socket).remotePort === port && !(h as Socket).destroyed);

let backend: DemoBackend | undefined;
let config: WrittenConfig | undefined;
afterEach(async () => {
  await backend?.stop();
  await config?.cleanup();
});

describe("upstream connections", () => {
  it("keeps one upstream connection over 1,100 sequential RPCs and resets no completed stream", async () => {
    backend = await startDemoBackend({ name: "b" });
    config = await writeEnvoyConfig(envoyConfig({ clusters: [{ name: "backend", ports: [backend.port] }] }));
    const sidecar = await startSidecar({ configPath: config.path });
    const clients = createDemoClients(`127.0.0.1:${sidecar.listeners[0]!.port}`);
    const stat = (name: string) => (sidecar.stats.find(`cluster.backend.${name}`) as { value(): bigint } | undefined)?.value() ?? 0n;
    try {
      for (let i = 0; i < 1100; i++) await clients.unary({ message: "x" });
      expect(stat("upstream_rq_tx_reset")).toBe(0n);
      expect(stat("upstream_cx_total")).toBe(1n);
    } finally {
      clients.close();
      await sidecar.stop();
    }
  });
});

describe("sidecar shutdown", () => {
  it("closes every upstream HTTP/2 connection on stop()", async () => {
    backend = await startDemoBackend({ name: "b", latencyMs: 2 });
    config = await writeEnvoyConfig(envoyConfig({ clusters: [{ name: "backend", ports: [backend.port] }] }));
    const sidecar = await startSidecar({ configPath: config.path });
    const clients = createDemoClients(`127.0.0.1:${sidecar.listeners[0]!.port}`);
    try {
      await Promise.all(Array.from({ length: 64 }, () => clients.unary({ message: "x" })));
      expect(socketsTo(backend.port).length).toBeGreaterThan(0);
    } finally {
      clients.close();
      await sidecar.stop();
    }
    expect(socketsTo(backend.port)).toEqual([]);
  });
});
