/**
 * Images that istio-agent accepts or rejects, pushed to a real registry as other tools make
 * them, and pulled with its rules: an index resolved to linux/amd64 (and one without), the
 * single-layer Wasm artifact ("number of layers must be 2 but got 1"), the wasme 2-layer oci
 * variant, Docker compat, a layer whose content does not match its digest (corrupted in the
 * registry's storage), a manifest corrupted likewise, `sha256` checked before any layer is
 * fetched (and the common mistake of pinning the module hash), and the size cap.
 */
import { readFile, writeFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCompatImage, inspectImage, pullWasmImage, pushWasmImage, RegistryTransport, toResolver, WasmPullError } from "../../manager/src/oci/index.ts";
import { singleFileTar } from "../../manager/src/oci/image/tar.ts";
import { RepositoryClient, sha256Digest } from "../../manager/src/oci/registry/client.ts";
import { BlobUploader } from "../../manager/src/oci/registry/upload.ts";
import { startRegistry, toolGate, type TestRegistry } from "../support/registry.ts";
import { testModule } from "./support/modules.ts";

const gate = toolGate();
const wasm = testModule(5_000, 5);
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";

interface Layer {
  mediaType: string;
  bytes: Uint8Array;
}

describe.skipIf(gate.skip)(`istio-agent's image rules against a real registry${gate.reason ? ` (skipped: ${gate.reason})` : ""}`, () => {
  let reg: TestRegistry;
  let transport: RegistryTransport;
  beforeAll(async () => {
    reg = await startRegistry();
    transport = new RegistryTransport(reg.host, toResolver({}));
  });
  afterAll(async () => {
    await reg?.stop();
  });

  /** Pushes an arbitrary image (as another tool would) and returns its manifest digest. */
  async function pushRaw(repository: string, tag: string, layers: Layer[], opts: { mediaType?: string; configType?: string } = {}): Promise<string> {
    const repo = new RepositoryClient(transport, repository);
    const up = new BlobUploader(repo);
    const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
    const configType = opts.configType ?? "application/vnd.oci.image.config.v1+json";
    await up.upload(sha256Digest(config), config);
    for (const l of layers) await up.upload(sha256Digest(l.bytes), l.bytes);
    const manifest = {
      schemaVersion: 2,
      mediaType: opts.mediaType ?? OCI_MANIFEST,
      config: { mediaType: configType, digest: sha256Digest(config), size: config.length },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: sha256Digest(l.bytes), size: l.bytes.length })),
    };
    return repo.putManifest(tag, Buffer.from(JSON.stringify(manifest)), opts.mediaType ?? OCI_MANIFEST);
  }

  async function pushIndex(repository: string, tag: string, children: Array<{ digest: string; size: number; platform?: { os: string; architecture: string } }>): Promise<string> {
    const repo = new RepositoryClient(transport, repository);
    const index = {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: children.map((c) => ({ mediaType: OCI_MANIFEST, digest: c.digest, size: c.size, ...(c.platform ? { platform: c.platform } : {}) })),
    };
    return repo.putManifest(tag, Buffer.from(JSON.stringify(index)), "application/vnd.oci.image.index.v1+json");
  }

  it("resolves an index to its linux/amd64 child; sha256 pins the child's manifest digest", async () => {
    const pushed = await pushWasmImage(`${reg.host}/idx/plugin:child`, { wasm, name: "p", version: "1" }, { auth: {}, blobLocations: false });
    const armDigest = await pushRaw("idx/plugin", "arm", [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", bytes: gzipSync(singleFileTar("plugin.wasm", testModule(100, 9))) }]);
    const size = buildCompatImage({ wasm, name: "p", version: "1" }).manifest.size;
    const armSize = (await new RepositoryClient(transport, "idx/plugin").getManifest(armDigest, OCI_MANIFEST)).bytes.length;
    const indexDigest = await pushIndex("idx/plugin", "multi", [
      { digest: armDigest, size: armSize, platform: { os: "linux", architecture: "arm64" } },
      { digest: pushed.manifestDigest, size, platform: { os: "linux", architecture: "amd64" } },
    ]);
    const seen = await inspectImage(`${reg.host}/idx/plugin:multi`);
    expect(seen.digest).toBe(indexDigest);
    expect(seen.manifests?.map((m) => m.platform)).toEqual(["linux/arm64", "linux/amd64"]);
    expect(seen.istioChild).toBe(pushed.manifestDigest);
    const pulled = await pullWasmImage(`${reg.host}/idx/plugin:multi`, { expectedSha256: pushed.manifestDigest.slice(7) });
    expect(pulled.indexDigest).toBe(indexDigest);
    expect(pulled.manifestDigest).toBe(pushed.manifestDigest);
    expect(Buffer.from(pulled.wasm).equals(Buffer.from(wasm))).toBe(true);
    // Pinning the index digest is what istio-agent rejects: it compares the child's digest.
    await expect(pullWasmImage(`${reg.host}/idx/plugin:multi`, { expectedSha256: indexDigest })).rejects.toThrow(
      `module downloaded from ${reg.host}/idx/plugin:multi has checksum ${pushed.manifestDigest.slice(7)}, which does not match: ${indexDigest.slice(7)}`,
    );
    await pushIndex("idx/plugin", "arm-only", [{ digest: armDigest, size: armSize, platform: { os: "linux", architecture: "arm64" } }]);
    await expect(pullWasmImage(`${reg.host}/idx/plugin:arm-only`)).rejects.toThrow(
      /^could not fetch Wasm OCI image: could not fetch image: no child with platform linux\/amd64 in index 127\.0\.0\.1:\d+\/idx\/plugin:arm-only$/,
    );
  });

  it("rejects a single-layer Wasm artifact as Istio does", async () => {
    await pushRaw("artifacts/single", "1", [{ mediaType: "application/vnd.wasm.content.layer.v1+wasm", bytes: wasm }], { configType: "application/vnd.wasm.config.v0+json" });
    const err = (await pullWasmImage(`${reg.host}/artifacts/single:1`).catch((e) => e)) as WasmPullError;
    expect(err).toBeInstanceOf(WasmPullError);
    expect(err.result).toBe("download_failure");
    expect(err.message).toBe(
      "could not fetch Wasm binary: the given image is in invalid format as an OCI image: 2 errors occurred: " +
        "could not parse as compat variant: invalid media type application/vnd.wasm.content.layer.v1+wasm (expect application/vnd.oci.image.layer.v1.tar+gzip); " +
        "could not parse as oci variant: number of layers must be 2 but got 1",
    );
  });

  it("accepts the wasme 2-layer oci variant and Docker compat images", async () => {
    const runtime = Buffer.from('{"type":"envoy_proxy","abi_version":"v0-4d76ba"}');
    await pushRaw("wasme/filter", "1", [
      { mediaType: "application/vnd.module.wasm.config.v1+json", bytes: runtime },
      { mediaType: "application/vnd.module.wasm.content.layer.v1+wasm", bytes: wasm },
    ], { configType: "application/vnd.module.wasm.config.v1+json" });
    expect((await pullWasmImage(`${reg.host}/wasme/filter:1`)).variant).toBe("oci");
    await pushRaw("docker/filter", "1", [{ mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", bytes: gzipSync(singleFileTar("./plugin.wasm", wasm)) }], {
      mediaType: "application/vnd.docker.distribution.manifest.v2+json",
      configType: "application/vnd.docker.container.image.v1+json",
    });
    const docker = await pullWasmImage(`${reg.host}/docker/filter:1`);
    expect(docker.variant).toBe("compat-docker");
    expect(Buffer.from(docker.wasm).equals(Buffer.from(wasm))).toBe(true);
  });

  it("rejects a plugin.wasm that is not Wasm with istio-agent's words", async () => {
    await pushRaw("bad/content", "1", [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", bytes: gzipSync(singleFileTar("plugin.wasm", Buffer.from("#!/bin/sh"))) }]);
    const err = (await pullWasmImage(`oci://${reg.host}/bad/content:1`).catch((e) => e)) as WasmPullError;
    expect(err.message).toBe(`fetched Wasm binary from oci://${reg.host}/bad/content:1 is invalid`);
    expect(err.result).toBe("fetch_failure");
  });

  it("rejects a layer whose content does not match its digest", async () => {
    const pushed = await pushWasmImage(`${reg.host}/corrupt/layer:1`, { wasm, name: "c", version: "1" }, { auth: {}, blobLocations: false });
    const layer = JSON.parse(Buffer.from((await new RepositoryClient(transport, "corrupt/layer").getManifest(pushed.manifestDigest, OCI_MANIFEST)).bytes).toString()).layers[0];
    const file = reg.blobPath(layer.digest);
    const bytes = await readFile(file);
    bytes[bytes.length - 20] ^= 0xff; // same size, different content
    await writeFile(file, bytes);
    const err = (await pullWasmImage(`${reg.host}/corrupt/layer:1`).catch((e) => e)) as WasmPullError;
    expect(err.message).toMatch(
      new RegExp(`^could not fetch Wasm binary: .*could not parse as compat variant: could not get layer content: error verifying sha256 checksum after reading ${layer.size} bytes; got "sha256:[a-f0-9]{64}", want "${layer.digest}"`),
    );
  });

  it("rejects a manifest whose content does not match the digest it is fetched by", async () => {
    const pushed = await pushWasmImage(`${reg.host}/corrupt/manifest:1`, { wasm: testModule(900, 77), name: "m", version: "1" }, { auth: {}, blobLocations: false });
    const file = reg.blobPath(pushed.manifestDigest);
    const text = (await readFile(file, "utf8")).replace('"m"', '"n"');
    await writeFile(file, text);
    await expect(pullWasmImage(pushed.pinned)).rejects.toThrow(
      `could not fetch Wasm OCI image: could not fetch manifest: manifest digest: "${sha256Digest(Buffer.from(text))}" does not match requested digest: "${pushed.manifestDigest}"`,
    );
  });

  it("checks sha256 against the manifest digest before any layer is downloaded", async () => {
    const pushed = await pushWasmImage(`${reg.host}/pin/check:1`, { wasm, name: "p", version: "1" }, { auth: {}, blobLocations: false });
    const urls: string[] = [];
    const fetchImpl: typeof fetch = (input, init) => {
      urls.push(String(input));
      return fetch(input, init);
    };
    const moduleHash = sha256Digest(wasm).slice(7); // the classic mistake (istio/istio#37565)
    const err = (await pullWasmImage(`oci://${reg.host}/pin/check:1`, { expectedSha256: moduleHash, fetchImpl }).catch((e) => e)) as WasmPullError;
    expect(err.result).toBe("checksum_mismatched");
    expect(err.message).toBe(`module downloaded from oci://${reg.host}/pin/check:1 has checksum ${pushed.manifestDigest.slice(7)}, which does not match: ${moduleHash}`);
    expect(urls.some((u) => u.includes("/blobs/"))).toBe(false);
  });

  it("caps the module size", async () => {
    await pushWasmImage(`${reg.host}/big/one:1`, { wasm: testModule(50_000, 4), name: "b", version: "1" }, { auth: {}, blobLocations: false });
    await expect(pullWasmImage(`${reg.host}/big/one:1`, { maxBytes: 10_000 })).rejects.toThrow(/over the 10000-byte limit/);
  });
});
