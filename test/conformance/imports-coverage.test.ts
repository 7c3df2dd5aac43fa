/**
 * Fails when a host import of §1.3 (env) or §1.4 (WASI, under both namespaces) is not called
 * from a guest by at least one conformance case table. The import list is the host's own
 * import object for an ABI 0.2.1 module.
 */
import { describe, expect, it } from "vitest";
import { createPlugin, createTestEnvironment } from "../../manager/src/sidecar/host/index.ts";
import { buildImports } from "../../manager/src/sidecar/host/imports.ts";
import { Guest, pluginConfig } from "./guest.ts";
import { importKey } from "./hostcalls-guest.ts";
import { EVERY_CALLBACK_PROBES, WASI_CASES } from "./hostcalls-cases.ts";

async function hostImportKeys(): Promise<string[]> {
  const p = await createPlugin(pluginConfig(await new Guest().build()), createTestEnvironment());
  const imports = buildImports(p.workerVms()[0]!) as Record<string, Record<string, unknown>>;
  return Object.entries(imports).flatMap(([ns, fns]) => Object.keys(fns).map((n) => `${ns}.${n}`));
}

describe("import coverage", () => {
  it("calls every env and WASI import of the host from a guest", async () => {
    const covered = new Set<string>([
      ...EVERY_CALLBACK_PROBES.map((p) => importKey(p.call)),
      ...WASI_CASES.flatMap((c) => [`wasi_snapshot_preview1.${c.name}`, `wasi_unstable.${c.name}`]),
    ]);
    const all = await hostImportKeys();
    expect(all.length).toBeGreaterThan(100);
    expect(all.filter((k) => !covered.has(k))).toEqual([]);
  });
});
