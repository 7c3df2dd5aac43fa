/**
 * `npm start` runs the sidecar from WasmPlugin resources, as a cluster does: the four filters
 * rendered and validated by `meshwasm render`'s code, pulled by manifest digest from a local
 * registry when docker-registry is installed (file:// URLs otherwise), placed in istiod's order;
 * every RPC of the burst goes through all of them. Uses the filters of an earlier build.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runDemo } from "../../manager/src/demo/mesh/run-demo.ts";
import { readPluginManifests } from "../../manager/src/k8s/wasmplugin/index.ts";
import { toolGate } from "../support/registry.ts";

const gate = toolGate(["docker-registry"]);

async function run(registry: boolean) {
  const printed: string[] = [];
  const r = await runDemo({ rpcs: 60, concurrency: 8, listenerPort: 0, adminPort: 0, build: false, prometheus: false, registry, print: (t) => printed.push(t) });
  return { r, text: printed.join("\n") };
}

describe("the demo's WasmPlugins", () => {
  it.skipIf(gate.skip)(`pulled by digest from a local registry, all four in istiod's order, every RPC through them${gate.skip ? ` (skipped: ${gate.reason})` : ""}`, async () => {
    const { r, text } = await run(true);
    expect(r.plugins.source).toBe("oci");
    expect(r.plugins.objects.map((o) => [o.metadata.name, (o.spec as { phase: string }).phase])).toEqual([
      ["grpc-auth", "AUTHZ"], ["grpc-metrics", "STATS"], ["grpc-balancer", "UNSPECIFIED_PHASE"], ["add-header", "UNSPECIFIED_PHASE"],
    ]);
    for (const o of r.plugins.objects) expect((o.spec as { url: string }).url).toMatch(/^oci:\/\/127\.0\.0\.1:\d+\/meshwasm\/[a-z-]+@sha256:[a-f0-9]{64}$/);
    const files = (await readdir(r.plugins.dir)).sort();
    expect(files).toEqual(["wasmplugin-add-header.yaml", "wasmplugin-grpc-auth.yaml", "wasmplugin-grpc-balancer.yaml", "wasmplugin-grpc-metrics.yaml"]);
    for (const f of files) expect(readPluginManifests(await readFile(path.join(r.plugins.dir, f), "utf8"), f, "demo")).toHaveLength(1);
    expect(r.filterHeader).toBe("add-header");
    expect(r.filterRequests).toBe(61); // the burst and the probe, through the last plugin of the chain
    expect(r.viaSidecar.ok + r.viaSidecar.failed).toBe(60);
    expect(r.viaSidecar.byStatus.PERMISSION_DENIED ?? 0).toBe(0);
    expect(text).toContain("Where to look next");
    expect(text).toMatch(/registry {4}127\.0\.0\.1:\d+ \(docker-registry/);
  }, 120_000);

  it("without docker-registry: file:// URLs to the built modules, same chain", async () => {
    const { r, text } = await run(false);
    expect(r.plugins.source).toBe("file");
    for (const o of r.plugins.objects) expect((o.spec as { url: string; sha256?: string }).url).toMatch(/^file:\/\/\/.*\/build\/filters\/[a-z-]+\.wasm$/);
    expect(r.filterRequests).toBe(61);
    expect(text).toContain("docker-registry is not installed: the WasmPlugins load the modules from file:// URLs");
  }, 120_000);
});
