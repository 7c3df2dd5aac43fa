import fc from "fast-check";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { sha256Digest } from "../registry/client.ts";
import { extractPluginBinary, extractWasm, ImageFormatError, parseImageManifest, type Descriptor, type ImageManifest } from "./extract.ts";
import { singleFileTar } from "./tar.ts";

const WASM = Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 2, 3]);
const OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";
const DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip";
const WASM_LAYER = "application/vnd.module.wasm.content.layer.v1+wasm";

function desc(mediaType: string, bytes: Uint8Array): Descriptor & { bytes: Uint8Array } {
  return { mediaType, digest: sha256Digest(bytes), size: bytes.length, bytes };
}

function image(layers: Array<Descriptor & { bytes: Uint8Array }>, mediaType = "application/vnd.oci.image.manifest.v1+json") {
  const config = desc("application/vnd.oci.image.config.v1+json", Buffer.from("{}"));
  const manifest: ImageManifest = { schemaVersion: 2, mediaType, config, layers: layers.map(({ bytes: _b, ...d }) => d) };
  const blobs = new Map(layers.map((l) => [l.digest, l.bytes]));
  return { manifest, fetch: async (d: Descriptor) => blobs.get(d.digest)! };
}

const compatLayer = (type = OCI_LAYER, name = "plugin.wasm", data = WASM) => desc(type, gzipSync(singleFileTar(name, data)));

describe("extractWasm follows istio-agent's variant order", () => {
  const cases: Array<{ name: string; layers: Array<Descriptor & { bytes: Uint8Array }>; mediaType?: string; want: string | RegExp }> = [
    { name: "OCI compat", layers: [compatLayer()], want: "compat-oci" },
    { name: "OCI compat, ./plugin.wasm", layers: [compatLayer(OCI_LAYER, "./plugin.wasm")], want: "compat-oci" },
    { name: "OCI compat, earlier layers ignored", layers: [desc("application/x-junk", Buffer.from("x")), compatLayer()], want: "compat-oci" },
    { name: "Docker compat", layers: [compatLayer(DOCKER_LAYER)], mediaType: "application/vnd.docker.distribution.manifest.v2+json", want: "compat-docker" },
    {
      name: "Docker manifest with an OCI layer",
      layers: [compatLayer(OCI_LAYER)],
      mediaType: "application/vnd.docker.distribution.manifest.v2+json",
      want: `could not extract Wasm file from the image as Docker container invalid media type ${OCI_LAYER} (expect ${DOCKER_LAYER})`,
    },
    { name: "oci variant (wasme)", layers: [desc("application/vnd.module.wasm.config.v1+json", Buffer.from("{}")), desc(WASM_LAYER, WASM)], want: "oci" },
    {
      name: "single-layer Wasm artifact",
      layers: [desc("application/vnd.wasm.content.layer.v1+wasm", WASM)],
      want: "the given image is in invalid format as an OCI image: 2 errors occurred: could not parse as compat variant: invalid media type application/vnd.wasm.content.layer.v1+wasm (expect application/vnd.oci.image.layer.v1.tar+gzip); could not parse as oci variant: number of layers must be 2 but got 1",
    },
    { name: "three artifact layers", layers: [desc("a/b", WASM), desc(WASM_LAYER, WASM), desc("c/d", WASM)], want: /number of layers must be 2 but got 3/ },
    { name: "two layers, no wasm layer", layers: [desc("a/b", WASM), desc("c/d", WASM)], want: /could not find the layer of type application\/vnd.module.wasm.content.layer.v1\+wasm/ },
    { name: "no layers", layers: [], want: /could not parse as compat variant: number of layers must be greater than zero/ },
    { name: "plain tar, not gzip", layers: [desc(OCI_LAYER, singleFileTar("plugin.wasm", WASM))], want: /could not extract wasm binary: failed to parse layer as tar.gz: gzip: invalid header/ },
    { name: "zstd layer", layers: [desc("application/vnd.oci.image.layer.v1.tar+zstd", WASM)], want: /invalid media type application\/vnd.oci.image.layer.v1.tar\+zstd/ },
    { name: "no plugin.wasm", layers: [compatLayer(OCI_LAYER, "filter.wasm")], want: /could not extract wasm binary: plugin.wasm not found in the archive/ },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const { manifest, fetch } = image(c.layers, c.mediaType);
      const run = extractWasm(manifest, fetch, 1 << 20);
      if (typeof c.want === "string" && !c.want.includes(" ")) {
        const got = await run;
        expect(got.variant).toBe(c.want);
        expect(got.wasm).toEqual(WASM);
      } else {
        await expect(run).rejects.toThrow(c.want);
      }
    });
  }

  it("caps the module size", async () => {
    const big = new Uint8Array(4096);
    big.set(WASM);
    const { manifest, fetch } = image([compatLayer(OCI_LAYER, "plugin.wasm", big)]);
    await expect(extractWasm(manifest, fetch, 1024)).rejects.toThrow(/over the 1024-byte Wasm binary limit/);
    const { manifest: m2, fetch: f2 } = image([desc("x/y", WASM), desc(WASM_LAYER, big)]);
    await expect(extractWasm(m2, f2, 1024)).rejects.toThrow(/layer is 4096 bytes, over the 1024-byte Wasm binary limit/);
  });
});

describe("parseImageManifest", () => {
  it("names the bad field", () => {
    const bad = (o: unknown) => () => parseImageManifest(Buffer.from(JSON.stringify(o)));
    expect(bad({ schemaVersion: 1 })).toThrow("manifest.schemaVersion: expected 2, got 1");
    expect(bad({ schemaVersion: 2, config: {}, layers: [] })).toThrow("manifest.config.mediaType: expected a string");
    expect(bad({ schemaVersion: 2, config: { mediaType: "a", digest: "sha256:" + "0".repeat(64), size: 1 }, layers: [{ mediaType: "b", digest: "md5:x", size: 1 }] }))
      .toThrow("manifest.layers[0].digest: expected sha256:<64 hex digits>");
    expect(() => parseImageManifest(Buffer.from("{"))).toThrow(/manifest is not JSON/);
  });
});

describe("extractPluginBinary", () => {
  it("never throws anything but ImageFormatError on arbitrary layers (20,000 inputs)", () => {
    const valid = gzipSync(Buffer.concat([singleFileTar("a", WASM), singleFileTar("plugin.wasm", WASM)]));
    const arb = fc.oneof(
      fc.uint8Array({ maxLength: 600 }),
      fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }).map((edits) => {
        const b = Uint8Array.from(valid);
        for (const [i, v] of edits) b[i] = v;
        return b;
      }),
      fc.uint8Array({ maxLength: 3000 }).map((junk) => gzipSync(junk)),
    );
    fc.assert(
      fc.property(arb, (bytes) => {
        try {
          return extractPluginBinary(bytes, 1 << 16) instanceof Uint8Array;
        } catch (e) {
          return e instanceof ImageFormatError;
        }
      }),
      { numRuns: 20_000 },
    );
  });
});
