import { execFileSync } from "node:child_process";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { sha256Digest } from "../registry/client.ts";
import { buildCompatImage, reproducibleGzip } from "./compat-image.ts";
import { extractWasm, parseImageManifest } from "./extract.ts";

const WASM = Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...Array.from({ length: 3000 }, (_, i) => (i * 7) % 13)]);
const INPUT = { wasm: WASM, name: "grpc-auth", version: "0.3.1+0123456789ab", revision: "0123456789abcdef0123456789abcdef01234567", abi: "0_2_1" };

describe("buildCompatImage", () => {
  it("is the compat variant: one tar+gzip layer holding plugin.wasm, OCI manifest, annotations", async () => {
    const img = buildCompatImage(INPUT);
    const m = JSON.parse(Buffer.from(img.manifest.bytes).toString());
    expect(m).toEqual({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: img.config.digest, size: img.config.size },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: img.layer.digest, size: img.layer.size }],
      annotations: {
        "module.wasm.image/variant": "compat",
        "module.wasm.runtime/abi_version": "proxy_abi_version_0_2_1",
        "module.wasm.runtime/type": "envoy_proxy",
        "org.opencontainers.image.title": "grpc-auth",
        "org.opencontainers.image.version": "0.3.1+0123456789ab",
        "org.opencontainers.image.revision": INPUT.revision,
      },
    });
    expect(img.manifest.digest).toBe(sha256Digest(img.manifest.bytes));
    const config = JSON.parse(Buffer.from(img.config.bytes).toString());
    expect(config.rootfs.diff_ids).toEqual([sha256Digest(gunzipSync(img.layer.bytes))]);
    const got = await extractWasm(parseImageManifest(img.manifest.bytes), async () => img.layer.bytes, 1 << 20);
    expect(got.variant).toBe("compat-oci");
    expect(got.wasm).toEqual(WASM);
  });

  it("fixes the gzip header (mtime 0, XFL 2, OS 255)", () => {
    const gz = reproducibleGzip(new Uint8Array(10));
    expect([...gz.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255]);
  });

  it("gives the same manifest digest for the same module, also in another process", () => {
    const a = buildCompatImage(INPUT).manifest.digest;
    expect(buildCompatImage({ ...INPUT, wasm: Uint8Array.from(WASM) }).manifest.digest).toBe(a);
    const script = `import { buildCompatImage } from "./manager/src/oci/image/compat-image.ts";
const wasm = Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...Array.from({ length: 3000 }, (_, i) => (i * 7) % 13)]);
process.stdout.write(buildCompatImage({ wasm, name: "grpc-auth", version: "0.3.1+0123456789ab", revision: "${INPUT.revision}", abi: "0_2_1" }).manifest.digest);`;
    const other = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: new URL("../../../../", import.meta.url).pathname, env: { ...process.env, TZ: "Pacific/Kiritimati" } }).toString();
    expect(other).toBe(a);
    expect(buildCompatImage({ ...INPUT, version: "0.3.2" }).manifest.digest).not.toBe(a);
  });

  it("refuses a module without the Wasm magic", () => {
    expect(() => buildCompatImage({ ...INPUT, wasm: Buffer.from("#!/bin/sh\n") })).toThrow(/grpc-auth: not a Wasm module/);
  });
});
