import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { MemoryStatsStore } from "../../stats/store.ts";
import type { HttpCallResponse } from "../../host/api.ts";
import { createClusterManager, type UpstreamClusterManager } from "./cluster-manager.ts";
import { clusterConfig } from "./router-test-driver.ts";
import type { Cluster } from "../../config/model.ts";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function manager(c: Cluster): Promise<UpstreamClusterManager> {
  const cm = createClusterManager([c], { stats: new MemoryStatsStore() });
  await cm.start();
  cleanups.push(() => cm.stop());
  return cm;
}

async function h1(handler: http.RequestListener): Promise<number> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanups.push(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  return (server.address() as AddressInfo).port;
}

type Outcome = { response?: HttpCallResponse; reset?: string; sync: boolean };
function call(cm: UpstreamClusterManager, cluster: string, timeoutMs: number, body = ""): Promise<Outcome> {
  return new Promise((resolve) => {
    let returned = false;
    const out: Outcome = { sync: false };
    cm.httpCall(
      {
        cluster,
        headers: [[":method", "POST"], [":path", "/x"], [":authority", "svc"]],
        body: new TextEncoder().encode(body),
        trailers: [],
        timeoutMs,
      },
      {
        onResponse: (response) => resolve({ ...out, response, sync: !returned }),
        onReset: (reset) => resolve({ ...out, reset, sync: !returned }),
      },
    );
    returned = true;
  });
}
const header = (r: HttpCallResponse, n: string) => r.headers.find(([k]) => k === n)?.[1];

describe("http_call through the cluster manager", () => {
  it("returns the upstream response (HTTP/1.1), never synchronously", async () => {
    const port = await h1((req, res) => {
      let n = 0;
      req.on("data", (d: Buffer) => (n += d.length));
      req.on("end", () => res.end(`got ${n}`));
    });
    const cm = await manager(clusterConfig("c", [port], { upstreamProtocol: "HTTP1" }));
    expect(cm.hasCluster("c")).toBe(true);
    expect(cm.hasCluster("nope")).toBe(false);
    const o = await call(cm, "c", 1000, "abcd");
    expect(o.sync).toBe(false);
    expect(header(o.response!, ":status")).toBe("200");
    expect(new TextDecoder().decode(o.response!.body)).toBe("got 4");
  });

  it("times out with a normal 504 response", async () => {
    const port = await h1(() => {});
    const cm = await manager(clusterConfig("c", [port], { upstreamProtocol: "HTTP1" }));
    const o = await call(cm, "c", 100);
    expect(header(o.response!, ":status")).toBe("504");
    expect(new TextDecoder().decode(o.response!.body)).toBe("upstream request timeout");
  });

  it("answers a refused connection with a normal 503 response", async () => {
    const port = await h1(() => {});
    await cleanups.pop()!();
    const cm = await manager(clusterConfig("c", [port], { upstreamProtocol: "HTTP1" }));
    const o = await call(cm, "c", 1000);
    expect(header(o.response!, ":status")).toBe("503");
    expect(new TextDecoder().decode(o.response!.body)).toMatch(/^upstream connect error or disconnect\/reset before headers/);
  });

  it("reports a stream reset after the response started as onReset", async () => {
    const server = http2.createServer();
    server.on("stream", (s) => {
      s.on("error", () => {});
      s.respond({ ":status": 200 });
      s.write("x");
      setTimeout(() => s.session?.destroy(), 20);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const cm = await manager(clusterConfig("c", [(server.address() as AddressInfo).port]));
    const o = await call(cm, "c", 1000);
    expect(o.reset).toBe("reset");
  });

  it("cancel stops every callback", async () => {
    const port = await h1((_req, res) => setTimeout(() => res.end("late"), 50));
    const cm = await manager(clusterConfig("c", [port], { upstreamProtocol: "HTTP1" }));
    let fired = false;
    const cancel = cm.httpCall(
      { cluster: "c", headers: [[":method", "GET"], [":path", "/"], [":authority", "svc"]], body: new Uint8Array(), trailers: [], timeoutMs: 1000 },
      { onResponse: () => (fired = true), onReset: () => (fired = true) },
    );
    cancel();
    await new Promise((r) => setTimeout(r, 120));
    expect(fired).toBe(false);
  });
});
