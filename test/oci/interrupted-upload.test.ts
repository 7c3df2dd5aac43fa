/**
 * Interrupted uploads through a proxy that drops the connection in the middle of a chunk PATCH:
 * the push resumes (or restarts the blob) and succeeds with the same digest; when every chunk
 * is cut, it fails in one line, cancels the upload session, and no tag appears.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pullWasmImage, pushWasmImage } from "../../manager/src/oci/index.ts";
import { buildCompatImage } from "../../manager/src/oci/image/compat-image.ts";
import { startRegistry, toolGate, type TestRegistry } from "../support/registry.ts";
import { startCuttingProxy, type CuttingProxy } from "./support/cutting-proxy.ts";
import { testModule } from "./support/modules.ts";

const gate = toolGate();
const input = { wasm: testModule(200_000, 21), name: "grpc-balancer", version: "2.0.0" };
const CHUNK = 32 * 1024;

describe.skipIf(gate.skip)(`interrupted uploads${gate.reason ? ` (skipped: ${gate.reason})` : ""}`, () => {
  let reg: TestRegistry;
  let proxy: CuttingProxy;
  beforeAll(async () => {
    reg = await startRegistry();
    const [host, port] = reg.host.split(":");
    proxy = await startCuttingProxy({ host: host!, port: Number(port) }, { cuts: 0, bodyBytes: 0 });
  });
  afterAll(async () => {
    await proxy?.stop();
    await reg?.stop();
  });

  it("resumes a chunk cut before its body reached the registry", async () => {
    proxy.cuts = 1;
    proxy.bodyBytes = 0;
    const cutBefore = proxy.cut;
    const pushed = await pushWasmImage(`${proxy.host}/resume/a:1`, input, { auth: {}, blobLocations: false, chunkSize: CHUNK });
    expect(proxy.cut - cutBefore).toBe(1);
    const layer = pushed.blobs.find((b) => b.role === "layer")!;
    // The registry still holds the session at the old offset: the same session continues.
    expect([layer.resumes, layer.restarts]).toEqual([1, 0]);
    expect(pushed.manifestDigest).toBe(buildCompatImage(input).manifest.digest);
    const pulled = await pullWasmImage(`${reg.host}/resume/a:1`);
    expect(Buffer.from(pulled.wasm).equals(Buffer.from(input.wasm))).toBe(true);
  });

  it("recovers from a chunk cut halfway through its body", async () => {
    proxy.cuts = 1;
    proxy.bodyBytes = CHUNK / 2;
    const pushed = await pushWasmImage(`${proxy.host}/resume/b:1`, input, { auth: {}, blobLocations: false, chunkSize: CHUNK });
    const layer = pushed.blobs.find((b) => b.role === "layer")!;
    // Distribution 2.8 cancels a session whose stored size moved past the offset in its state
    // token, so a partly received chunk usually means a new session (restart), else a resume.
    expect(layer.resumes + layer.restarts).toBe(1);
    const pulled = await pullWasmImage(`${reg.host}/resume/b:1`, { expectedSha256: pushed.manifestDigest });
    expect(Buffer.from(pulled.wasm).equals(Buffer.from(input.wasm))).toBe(true);
  });

  it("fails cleanly when every chunk is cut: one line, no tag", async () => {
    proxy.cuts = Infinity;
    proxy.bodyBytes = 100;
    try {
      const err = (await pushWasmImage(`${proxy.host}/resume/c:1`, input, { auth: {}, blobLocations: false, chunkSize: CHUNK }).catch((e) => e)) as Error;
      expect(err.message).toMatch(/^could not upload blob sha256:[a-f0-9]{64} to 127\.0\.0\.1:\d+\/resume\/c \(3 session\(s\)\): .*the upload was cancelled and nothing was published$/);
      expect(err.message).not.toContain("\n");
    } finally {
      proxy.cuts = 0;
    }
    await expect(pullWasmImage(`${reg.host}/resume/c:1`)).rejects.toThrow(/404 MANIFEST_UNKNOWN/);
  });
});
