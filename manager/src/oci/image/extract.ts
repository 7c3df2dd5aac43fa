/**
 * Getting the Wasm module out of an image manifest exactly as istio-agent's `binaryFetcher`
 * (pkg/wasm/imagefetcher.go) does, in its order and with its words:
 *
 * 1. manifest `mediaType` Docker schema 2 -> the Docker compat path only: the LAST layer must be
 *    `application/vnd.docker.image.rootfs.diff.tar.gzip`;
 * 2. otherwise the OCI compat path: the LAST layer must be
 *    `application/vnd.oci.image.layer.v1.tar+gzip` (earlier layers are ignored);
 * 3. if that fails, the oci variant: exactly 2 layers, one of them
 *    `application/vnd.module.wasm.content.layer.v1+wasm`, whose raw bytes are the module;
 * 4. compat layers must be gzip (not plain tar, not zstd) and hold an entry whose basename is
 *    `plugin.wasm`; the first such entry is the module.
 *
 * Failures are ImageFormatError with istio-agent's message (both variant errors joined on one
 * line). Sizes are capped: a layer above `maxBytes` is not fetched and decompression stops at
 * `maxBytes` of module (istio-agent's 256 MiB cap).
 */
import { gunzipSync } from "node:zlib";
import {
  DOCKER_LAYER_GZIP,
  DOCKER_MANIFEST,
  OCI_LAYER_GZIP,
  PLUGIN_FILE_NAME,
  WASM_CONTENT_LAYER,
} from "../media-types.ts";
import { findInTar, TarError } from "./tar.ts";

export class ImageFormatError extends Error {
  override readonly name = "ImageFormatError";
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { os?: string; architecture?: string; variant?: string };
}

export interface ImageManifest {
  schemaVersion: number;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export type WasmVariant = "compat-docker" | "compat-oci" | "oci";

/** Fetches (and verifies) a layer's bytes. */
export type LayerFetcher = (layer: Descriptor) => Promise<Uint8Array>;

const DIGEST = /^sha256:[a-f0-9]{64}$/;

function checkDescriptor(d: unknown, where: string): Descriptor {
  if (typeof d !== "object" || d === null) throw new ImageFormatError(`${where}: expected a descriptor object`);
  const o = d as Record<string, unknown>;
  if (typeof o.mediaType !== "string") throw new ImageFormatError(`${where}.mediaType: expected a string`);
  if (typeof o.digest !== "string" || !DIGEST.test(o.digest)) throw new ImageFormatError(`${where}.digest: expected sha256:<64 hex digits>`);
  if (typeof o.size !== "number" || !Number.isSafeInteger(o.size) || o.size < 0) throw new ImageFormatError(`${where}.size: expected a non-negative integer`);
  return o as unknown as Descriptor;
}

/** Parses an image manifest body (OCI or Docker schema 2); errors name the field. */
export function parseImageManifest(bytes: Uint8Array): ImageManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (e) {
    throw new ImageFormatError(`manifest is not JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new ImageFormatError("manifest: expected a JSON object");
  const o = raw as Record<string, unknown>;
  if (o.schemaVersion !== 2) throw new ImageFormatError(`manifest.schemaVersion: expected 2, got ${JSON.stringify(o.schemaVersion)}`);
  if (o.mediaType !== undefined && typeof o.mediaType !== "string") throw new ImageFormatError("manifest.mediaType: expected a string");
  if (!Array.isArray(o.layers)) throw new ImageFormatError("manifest.layers: expected an array");
  const config = checkDescriptor(o.config, "manifest.config");
  const layers = o.layers.map((l, i) => checkDescriptor(l, `manifest.layers[${i}]`));
  const annotations = typeof o.annotations === "object" && o.annotations !== null ? (o.annotations as Record<string, string>) : undefined;
  return { schemaVersion: 2, ...(typeof o.mediaType === "string" ? { mediaType: o.mediaType } : {}), config, layers, ...(annotations ? { annotations } : {}) };
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Go's gzip + tar walk of `extractWasmPluginBinary`. */
export function extractPluginBinary(layer: Uint8Array, maxBytes: number): Uint8Array {
  if (layer.length < 10 || layer[0] !== 0x1f || layer[1] !== 0x8b || layer[2] !== 8) {
    throw new ImageFormatError(layer.length < 10 ? "failed to parse layer as tar.gz: unexpected EOF" : "failed to parse layer as tar.gz: gzip: invalid header");
  }
  let tar: Uint8Array;
  try {
    // The tar framing adds at most a few blocks per entry; cap well above the module cap.
    tar = gunzipSync(layer, { maxOutputLength: maxBytes + 64 * 1024 * 1024 });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ERR_BUFFER_TOO_LARGE") throw new ImageFormatError(`layer unpacks to more than the ${maxBytes}-byte Wasm binary limit`);
    throw new ImageFormatError(`gzip: ${message(e)}`);
  }
  let wasm: Uint8Array | null;
  try {
    wasm = findInTar(tar, PLUGIN_FILE_NAME);
  } catch (e) {
    if (e instanceof TarError) throw new ImageFormatError(e.message);
    throw e;
  }
  if (wasm === null) throw new ImageFormatError(`${PLUGIN_FILE_NAME} not found in the archive`);
  if (wasm.byteLength > maxBytes) throw new ImageFormatError(`${PLUGIN_FILE_NAME} is ${wasm.byteLength} bytes, over the ${maxBytes}-byte Wasm binary limit`);
  return wasm;
}

async function extractCompat(m: ImageManifest, fetchLayer: LayerFetcher, want: string, maxBytes: number): Promise<Uint8Array> {
  if (m.layers.length === 0) throw new ImageFormatError("number of layers must be greater than zero");
  const layer = m.layers[m.layers.length - 1]!;
  if (layer.mediaType !== want) throw new ImageFormatError(`invalid media type ${layer.mediaType} (expect ${want})`);
  let bytes: Uint8Array;
  try {
    bytes = await fetchLayer(layer);
  } catch (e) {
    throw new ImageFormatError(`could not get layer content: ${message(e)}`);
  }
  try {
    return extractPluginBinary(bytes, maxBytes);
  } catch (e) {
    throw new ImageFormatError(`could not extract wasm binary: ${message(e)}`);
  }
}

async function extractOciArtifact(m: ImageManifest, fetchLayer: LayerFetcher, maxBytes: number): Promise<Uint8Array> {
  if (m.layers.length !== 2) throw new ImageFormatError(`number of layers must be 2 but got ${m.layers.length}`);
  const layer = m.layers.find((l) => l.mediaType === WASM_CONTENT_LAYER);
  if (!layer) throw new ImageFormatError(`could not find the layer of type ${WASM_CONTENT_LAYER}`);
  if (layer.size > maxBytes) throw new ImageFormatError(`could not extract wasm binary: layer is ${layer.size} bytes, over the ${maxBytes}-byte Wasm binary limit`);
  try {
    return await fetchLayer(layer);
  } catch (e) {
    throw new ImageFormatError(`could not get layer content: ${message(e)}`);
  }
}

/**
 * The module in an image, by istio-agent's rules; ImageFormatError (without istio-agent's outer
 * "could not fetch Wasm binary: " prefix) when none of the variants fits.
 */
export async function extractWasm(m: ImageManifest, fetchLayer: LayerFetcher, maxBytes: number): Promise<{ wasm: Uint8Array; variant: WasmVariant }> {
  if (m.mediaType === DOCKER_MANIFEST) {
    try {
      return { wasm: await extractCompat(m, fetchLayer, DOCKER_LAYER_GZIP, maxBytes), variant: "compat-docker" };
    } catch (e) {
      throw new ImageFormatError(`could not extract Wasm file from the image as Docker container ${message(e)}`);
    }
  }
  let compatError: unknown;
  try {
    return { wasm: await extractCompat(m, fetchLayer, OCI_LAYER_GZIP, maxBytes), variant: "compat-oci" };
  } catch (e) {
    compatError = e;
  }
  try {
    return { wasm: await extractOciArtifact(m, fetchLayer, maxBytes), variant: "oci" };
  } catch (e) {
    throw new ImageFormatError(
      `the given image is in invalid format as an OCI image: 2 errors occurred: ` +
        `could not parse as compat variant: ${message(compatError)}; could not parse as oci variant: ${message(e)}`,
    );
  }
}
