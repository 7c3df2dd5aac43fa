/**
 * grpc-auth fails closed when its configuration is invalid, end to end through the sidecar's
 * WasmPlugin path (`meshwasm sidecar --plugins`, what istiod + istio-agent + Envoy do) with
 * @grpc/grpc-js calls:
 *
 *  - the filter's onConfigure returns false (one log line naming the field), so Envoy NACKs the
 *    plugin's configuration (`extension_config_discovery.http_filter.<filter>.config_fail`);
 *  - a plugin that never had a configuration (a fresh proxy, or one the update adds) then runs as
 *    Envoy's MissingConfigFilter: every call is refused — HTTP 500, response flag NFCF, for gRPC a
 *    trailers-only UNKNOWN (2) — and never reaches the backend. Envoy NACKs before any VM serves,
 *    so this holds under FAIL_CLOSE and FAIL_OPEN alike;
 *  - a plugin that had a valid configuration keeps it: the rejected update changes nothing, the
 *    previous policy goes on deciding;
 *  - a valid configuration afterwards is applied.
 */
import * as grpc from "@grpc/grpc-js";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compilePolicy, hashApiKey } from "../../manager/src/policy/index.ts";
import { authWasm, policyOf } from "../../filters/grpc-auth/test/harness.ts";
import { startPluginHarness, wasmPluginYaml, type PluginHarness } from "../plugins/support.ts";
import { unary } from "../support/grpc-echo.ts";

const KEY = "fail-closed-test-key-1";
const FILTER = "extensions.istio.io/wasmplugin/default.grpc-auth";
const CONFIG_FAIL = `extension_config_discovery.http_filter.${FILTER}.config_fail`;
const CONFIG_RELOAD = `extension_config_discovery.http_filter.${FILTER}.config_reload`;

/** A valid policy: Echo needs an API key. */
const VALID = JSON.parse(
  compilePolicy(
    policyOf(`apiVersion: meshwasm.io/v1alpha1
kind: GrpcAuthPolicy
metadata: { name: fail-closed }
spec:
  credentials:
    apiKeys:
      keys: [{ name: ci, sha256: ${hashApiKey(KEY)} }]
  rules:
    - { name: echo-keys, action: ALLOW, methods: ["/meshtest.Echo/*"], from: { apiKeys: ["*"] } }
`),
  ),
) as Record<string, unknown>;

/** The same with a hash that is not 64 hex digits: the filter refuses it. */
const INVALID = { ...VALID, api_keys: { header: "x-api-key", keys: [{ name: "ci", sha256: "not-a-sha256" }] } };

let dir: string;
let url: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "meshwasm-fail-closed-"));
  const file = path.join(dir, "grpc-auth.wasm");
  await writeFile(file, await authWasm());
  url = pathToFileURL(file).href;
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function plugin(pluginConfig: Record<string, unknown>, failStrategy: "FAIL_CLOSE" | "FAIL_OPEN"): string {
  return wasmPluginYaml({ name: "grpc-auth", url, phase: "AUTHZ", failStrategy, pluginConfig });
}

async function code(h: PluginHarness, key?: string): Promise<{ code: number; details: string }> {
  const metadata = new grpc.Metadata();
  if (key) metadata.set("x-api-key", key);
  return unary(h.client, { message: "hi" }, { metadata, deadlineMs: 10_000 }).then(
    () => ({ code: 0, details: "" }),
    (e: grpc.ServiceError) => ({ code: e.code, details: e.details }),
  );
}

async function withSidecar(files: Record<string, string>, run: (h: PluginHarness, logs: string[]) => Promise<void>): Promise<void> {
  const logs: string[] = [];
  const h = await startPluginHarness(files, { admin: true, log: (l) => logs.push(l) });
  try {
    await run(h, logs);
  } finally {
    await h.stop();
  }
}

describe("grpc-auth with an invalid configuration, through the sidecar's WasmPlugins", () => {
  for (const failStrategy of ["FAIL_CLOSE", "FAIL_OPEN"] as const) {
    it(`${failStrategy}: the configuration is rejected and every call is refused (UNKNOWN, NFCF), none reaches the backend`, async () => {
      await withSidecar({ "auth.yaml": plugin(INVALID, failStrategy) }, async (h, logs) => {
        const backend = h.harness.backends[0]!;
        for (const key of [undefined, KEY]) {
          expect(await code(h, key)).toEqual({ code: grpc.status.UNKNOWN, details: expect.any(String) });
        }
        expect(backend.calls.length).toBe(0);
        expect(h.harness.counter(CONFIG_FAIL)).toBe(1n);
        expect(h.harness.counter(CONFIG_RELOAD) ?? 0n).toBe(0n);
        expect(h.harness.sidecar.plugins!.instances().map((i) => [i.name, i.kind])).toEqual([["default.grpc-auth", "missing_config"]]);
        const log = logs.join("\n");
        // The filter's own line names the field; the hash text is not echoed.
        expect(log).toMatch(/grpc-auth: invalid configuration: api_keys\.keys\[0\]\.sha256: invalid value/);
        expect(log).toMatch(/on_configure returned false.*every request is answered 500 \(NFCF; gRPC UNKNOWN\)/);
        expect(log).not.toContain("not-a-sha256");

        // A valid configuration is then applied, and the policy decides.
        const next = h.harness.sidecar.plugins!.nextReload();
        await h.write("auth.yaml", plugin(VALID, failStrategy));
        expect(await next).toMatchObject({ ok: true });
        expect(await code(h)).toMatchObject({ code: grpc.status.UNAUTHENTICATED });
        expect(await code(h, KEY)).toEqual({ code: 0, details: "" });
        expect(backend.calls.length).toBe(1);
        expect(h.harness.counter(CONFIG_RELOAD)).toBe(1n);
      });
    }, 60_000);
  }

  it("the raw answer: HTTP 200 trailers-only, grpc-status 2, no grpc-message (Envoy's 500 local reply for gRPC)", async () => {
    await withSidecar({ "auth.yaml": plugin(INVALID, "FAIL_CLOSE") }, async (h) => {
      const res = await fetch(`http://127.0.0.1:${h.port}/meshtest.Echo/Unary`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
      expect(res.status).toBe(500); // not gRPC: the 500 itself
      const { connect } = await import("node:http2");
      const session = connect(`http://127.0.0.1:${h.port}`);
      try {
        const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
          const req = session.request({ ":method": "POST", ":path": "/meshtest.Echo/Unary", "content-type": "application/grpc", te: "trailers" }, { endStream: true });
          req.on("response", (hd) => resolve(hd as Record<string, unknown>));
          req.on("error", reject);
          req.resume();
        });
        expect(headers[":status"]).toBe(200);
        expect(headers["grpc-status"]).toBe("2");
        expect(headers["grpc-message"]).toBeUndefined();
      } finally {
        session.close();
      }
    });
  }, 60_000);

  it("a running plugin keeps its valid policy when an update brings an invalid one (the update is rejected)", async () => {
    await withSidecar({ "auth.yaml": plugin(VALID, "FAIL_CLOSE") }, async (h, logs) => {
      expect(await code(h, KEY)).toEqual({ code: 0, details: "" });
      const next = h.harness.sidecar.plugins!.nextReload();
      await h.write("auth.yaml", plugin(INVALID, "FAIL_CLOSE"));
      expect(await next).toMatchObject({ ok: false, error: expect.stringMatching(/on_configure returned false/) });
      expect(h.harness.counter(CONFIG_FAIL)).toBe(1n);
      // The previous policy goes on deciding: no key -> 16, the key -> allowed.
      expect(await code(h)).toMatchObject({ code: grpc.status.UNAUTHENTICATED, details: 'grpc-auth: unauthenticated: credentials required (rule "_default")' });
      expect(await code(h, KEY)).toEqual({ code: 0, details: "" });
      expect(logs.join("\n")).toMatch(/update rejected, keeping generation 1/);
    });
  }, 60_000);
});
