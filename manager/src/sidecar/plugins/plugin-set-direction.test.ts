import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { directionGuest } from "../host/direction-guest.ts";
import { createTestEnvironment, TestStream } from "../host/testing.ts";
import { WasmPluginSet, type ListenerBinding } from "./plugin-set.ts";

const said = (lines: string[]) => lines.map((l) => /dir=[0-9?]|done/.exec(l)?.[0]).filter((x) => x !== undefined);

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe("WasmPluginSet: a plugin per listener direction", () => {
  it("gives inbound and outbound listeners their own root, whose xds.listener_direction is theirs", async () => {
    dir = await mkdtemp(path.join(tmpdir(), "plugins-direction-"));
    const wasm = path.join(dir, "direction.wasm");
    await writeFile(wasm, await directionGuest());
    await writeFile(
      path.join(dir, "p.yaml"),
      ["apiVersion: extensions.istio.io/v1alpha1", "kind: WasmPlugin", "metadata:", "  name: direction", "spec:", `  url: ${JSON.stringify(pathToFileURL(wasm).href)}`, ""].join("\n"),
    );
    const env = createTestEnvironment();
    const set = await WasmPluginSet.start({ dir, watch: false }, { host: env, stats: env.stats, log: () => {} });
    try {
      // Loaded and checked without a listener: canary + worker.
      expect(said(env.logLines())).toEqual(["dir=?", "dir=?"]);
      env.logs.length = 0;
      const listener = (cls: ListenerBinding["class"], port: number): ListenerBinding => ({ name: `l${port}`, class: cls, port, statPrefix: `l${port}` });
      const inbound = set.chainFor(listener("SIDECAR_INBOUND", 15006));
      const outbound = set.chainFor(listener("SIDECAR_OUTBOUND", 15001));
      set.chainFor(listener("SIDECAR_INBOUND", 15007)); // a second inbound listener: no new root
      expect([inbound.length, outbound.length]).toEqual([1, 1]);
      // The first listener's plugin closes the one made at load (its worker root's on_done): no root
      // without a listener keeps running beside them.
      expect(said(env.logLines())).toEqual(["dir=1", "dir=1", "done", "dir=2", "dir=2"]);
      for (const chain of [inbound, outbound]) {
        const s = new TestStream(chain[0]!(), {});
        s.sendRequestHeaders([[":path", "/"]], true);
        expect(s.upstream.headers).toBeDefined();
        s.complete();
      }
      expect(set.instances().map((i) => [i.state, i.inFlight])).toEqual([["active", 0]]);
      env.logs.length = 0;
      await set.close();
      expect(said(env.logLines())).toEqual(["done", "done"]); // the two listener roots, once each
    } finally {
      await set.close();
    }
  });
});
