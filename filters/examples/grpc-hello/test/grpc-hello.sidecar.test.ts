/**
 * grpc-hello end to end: the filter in the sidecar's chain (configured as Envoy would configure
 * it, with Istio's stats_tags for its labels), real @grpc/grpc-js clients and an echo backend,
 * every kind of RPC, a denial, the peer header, /stats/prometheus and the tick.
 */
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileCached } from "../../../../test/support/compile-cache.ts";
import { echoClient, unary, type EchoClient, type EchoReply } from "../../../../test/support/grpc-echo.ts";
import { wasmFilter } from "../../../../test/support/envoy-config.ts";
import { startHarness, type Harness } from "../../../../test/support/sidecar-harness.ts";

const TAGS = ["grpc_service", "grpc_method", "grpc_code", "direction"];
const CONFIG = JSON.stringify({ deny_methods: ["meshtest.Echo/Bidi"], deny_message: "Bidi is closed today", tick_ms: 50 });

let h: Harness;
let client: EchoClient;
beforeAll(async () => {
  const wasm = await compileCached("filters/examples/grpc-hello/assembly/index.ts", { target: "grpc-hello" });
  h = await startHarness({
    files: { "grpc-hello.wasm": wasm },
    config: () => ({ admin: true, httpFilters: [wasmFilter({ name: "grpc-hello", filename: "grpc-hello.wasm", configuration: CONFIG })] }),
    edit: (bootstrap) => {
      bootstrap.stats_config = {
        use_all_default_tags: false,
        stats_tags: TAGS.map((t) => ({ tag_name: t, regex: `(${t}=\\.=(.*?);\\.;)` })),
      };
    },
  });
  client = echoClient(h.port);
});
afterAll(async () => {
  client?.close();
  await h?.stop();
});

const prometheus = async () => (await fetch(`http://127.0.0.1:${h.sidecar.adminPort}/stats/prometheus`)).text();

function serverStream(req: { message: string; count: number }): Promise<EchoReply[]> {
  return new Promise((resolve, reject) => {
    const out: EchoReply[] = [];
    const call = client.ServerStream(req);
    call.on("data", (r: EchoReply) => out.push(r));
    call.on("end", () => resolve(out));
    call.on("error", reject);
  });
}

function clientStream(messages: string[]): Promise<EchoReply> {
  return new Promise((resolve, reject) => {
    const call = client.ClientStream(new grpc.Metadata(), {}, (err, r) => (err ? reject(err) : resolve(r!)));
    for (const m of messages) call.write({ message: m });
    call.end();
  });
}

describe("grpc-hello through the sidecar", () => {
  it("serves every kind of RPC, denies the configured one, and reports them as labelled metrics", async () => {
    const a = await unary(client, { message: "a" });
    await unary(client, { message: "b" });
    expect(a.headers["x-hello-peer"]).toMatch(/^127\.0\.0\.1:\d+$/);
    const failed = (await unary(client, { message: "c", fail_code: 5, fail_message: "gone" }).catch((e: unknown) => e)) as grpc.ServiceError;
    expect(failed.code).toBe(grpc.status.NOT_FOUND);
    expect(await serverStream({ message: "s", count: 3 })).toHaveLength(3);
    expect((await clientStream(["1", "2", "3", "4"])).message).toBe("1,2,3,4|0");

    const bidi = client.Bidi();
    const denied = await new Promise<grpc.ServiceError>((resolve) => {
      bidi.on("error", resolve);
      bidi.on("data", () => {});
      bidi.write({ message: "x" });
    });
    expect(denied.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(denied.details).toBe("Bidi is closed today");
    expect(h.backends[0]!.calls.some((c) => c.method === "Bidi")).toBe(false);

    // onLog runs as each stream is torn down, just after its client saw the status.
    await expect.poll(() => h.counter("wasmcustom.grpc_hello_denied_total")).toBe(1n);
    const text = await prometheus();
    const series = (labels: string) => `{grpc_service="meshtest.Echo",${labels}}`;
    for (const line of [
      `grpc_hello_rpcs_total${series('grpc_method="Unary",grpc_code="OK"')} 2`,
      `grpc_hello_rpcs_total${series('grpc_method="Unary",grpc_code="NOT_FOUND"')} 1`,
      `grpc_hello_rpcs_total${series('grpc_method="ServerStream",grpc_code="OK"')} 1`,
      `grpc_hello_rpcs_total${series('grpc_method="ClientStream",grpc_code="OK"')} 1`,
      `grpc_hello_rpcs_total${series('grpc_method="Bidi",grpc_code="PERMISSION_DENIED"')} 1`,
      `grpc_hello_messages_total${series('grpc_method="Unary",direction="request"')} 3`,
      `grpc_hello_messages_total${series('grpc_method="Unary",direction="response"')} 2`,
      `grpc_hello_messages_total${series('grpc_method="ServerStream",direction="response"')} 3`,
      `grpc_hello_messages_total${series('grpc_method="ClientStream",direction="request"')} 4`,
      `grpc_hello_messages_total${series('grpc_method="ClientStream",direction="response"')} 1`,
      "grpc_hello_denied_total{} 1",
    ]) {
      expect(text).toContain(`\n${line}\n`);
    }
  });

  it("publishes the RPC count shared in shared data on each tick", async () => {
    await unary(client, { message: "t" });
    await expect.poll(() => h.counter("wasmcustom.grpc_hello_shared_rpcs"), { timeout: 5000 }).toBe(7n);
  });
});
