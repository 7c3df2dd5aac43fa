/**
 * Builds the *compat* Wasm image (solo-io/wasm spec-compat.md, the format istio-agent's
 * `extractOCIStandardImage` reads) reproducibly:
 *
 * - one layer `application/vnd.oci.image.layer.v1.tar+gzip`: a tar holding only `plugin.wasm`
 *   with fixed metadata (tar.ts), gzip-compressed at level 9 with a fixed header (mtime 0, no
 *   file name, XFL 2, OS 255 "unknown" as Go's compress/gzip writes it);
 * - an OCI image config (`linux/amd64`, what `docker build` of `FROM scratch` + `COPY
 *   plugin.wasm` gives, with the layer's diff_id) and no timestamps or history;
 * - an OCI image manifest (no index, no attestations) annotated with
 *   `module.wasm.image/variant: compat`, the ABI (`module.wasm.runtime/abi_version`) and the OCI
 *   `title`, `version`, `revision` (source commit) keys, in a fixed key order.
 *
 * The same module and metadata give the same bytes and so the same manifest digest with a given
 * zlib (Node ships its own, so per Node release line).
 */
import { gzipSync } from "node:zlib";
import { UserError } from "../../errors.ts";
import { sha256Digest } from "../registry/client.ts";
import {
  ANNOTATION_ABI_VERSION,
  ANNOTATION_DESCRIPTION,
  ANNOTATION_REVISION,
  ANNOTATION_RUNTIME_TYPE,
  ANNOTATION_TITLE,
  ANNOTATION_VARIANT,
  ANNOTATION_VERSION,
  OCI_CONFIG,
  OCI_LAYER_GZIP,
  OCI_MANIFEST,
  PLUGIN_FILE_NAME,
} from "../media-types.ts";
import { singleFileTar } from "./tar.ts";

export interface Blob {
  mediaType: string;
  digest: string;
  size: number;
  bytes: Uint8Array;
}

export interface CompatImageInput {
  wasm: Uint8Array;
  /** Filter name: the `org.opencontainers.image.title` annotation. */
  name: string;
  /** Module version: `org.opencontainers.image.version`. */
  version: string;
  /** Source commit: `org.opencontainers.image.revision`. */
  revision?: string | null;
  /** proxy-wasm ABI as in the build manifest (`0_2_1`). */
  abi?: string | null;
  description?: string;
}

export interface CompatImage {
  config: Blob;
  layer: Blob;
  manifest: Blob;
}

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

export function hasWasmMagic(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && WASM_MAGIC.every((b, i) => bytes[i] === b);
}

function blob(mediaType: string, bytes: Uint8Array): Blob {
  return { mediaType, digest: sha256Digest(bytes), size: bytes.byteLength, bytes };
}

/** gzip with settings fixed for reproducibility (see the module comment). */
export function reproducibleGzip(data: Uint8Array): Uint8Array {
  const gz = new Uint8Array(gzipSync(data, { level: 9, memLevel: 8, windowBits: 15, strategy: 0 }));
  gz.fill(0, 4, 8); // MTIME
  gz[8] = 2; // XFL: maximum compression
  gz[9] = 255; // OS: unknown
  return gz;
}

function descriptor(b: Blob): { mediaType: string; digest: string; size: number } {
  return { mediaType: b.mediaType, digest: b.digest, size: b.size };
}

/** Builds the compat image for a module; a module without the Wasm magic is a UserError. */
export function buildCompatImage(input: CompatImageInput): CompatImage {
  if (!hasWasmMagic(input.wasm)) throw new UserError(`${input.name}: not a Wasm module (it does not start with the \\0asm magic)`);
  const tar = singleFileTar(PLUGIN_FILE_NAME, input.wasm);
  const layer = blob(OCI_LAYER_GZIP, reproducibleGzip(tar));
  const configJson = {
    architecture: "amd64",
    os: "linux",
    config: {},
    rootfs: { type: "layers", diff_ids: [sha256Digest(tar)] },
  };
  const config = blob(OCI_CONFIG, Buffer.from(JSON.stringify(configJson)));
  const annotations: Record<string, string> = {};
  if (input.abi) annotations[ANNOTATION_ABI_VERSION] = `proxy_abi_version_${input.abi}`;
  annotations[ANNOTATION_RUNTIME_TYPE] = "envoy_proxy";
  annotations[ANNOTATION_VARIANT] = "compat";
  if (input.description) annotations[ANNOTATION_DESCRIPTION] = input.description;
  if (input.revision) annotations[ANNOTATION_REVISION] = input.revision;
  annotations[ANNOTATION_TITLE] = input.name;
  annotations[ANNOTATION_VERSION] = input.version;
  const manifestJson = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: descriptor(config),
    layers: [descriptor(layer)],
    annotations,
  };
  const manifest = blob(OCI_MANIFEST, Buffer.from(JSON.stringify(manifestJson)));
  return { config, layer, manifest };
}
