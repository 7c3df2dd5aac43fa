/**
 * Pulling a Wasm module from an OCI registry exactly as istio-agent does (pkg/wasm/cache.go
 * `getOrFetch` + imagefetcher.go `PrepareFetch`):
 *
 * 1. parse the reference (`oci://` optional) with go-containerregistry's rules;
 * 2. fetch the manifest (HTTPS, plain HTTP for local registries or when the server answers in
 *    plain HTTP); an image index or Docker manifest list is resolved to its `linux/amd64` child
 *    (a child without a platform counts as linux/amd64), nested indexes likewise;
 * 3. the image's manifest digest is the module's checksum: compared with `expectedSha256` BEFORE
 *    any layer is downloaded (istio/istio#37565);
 * 4. the module is taken out by istio-agent's variant rules (image/extract.ts) and must start
 *    with the Wasm magic `\0asm`; every blob is checked against its digest and size, and nothing
 *    beyond `maxBytes` (default 256 MiB) is read.
 *
 * Failures are WasmPullError with istio-agent's message and the `result` label istio-agent's
 * `wasm_remote_fetch_count` would count (manifest_failure, checksum_mismatched,
 * download_failure, fetch_failure). `resolveWasmImage` stops after step 3 and returns a lazy
 * `fetchBinary`, as `PrepareFetch` does, so a cache can be consulted by digest first.
 */
import { UserError } from "../errors.ts";
import { toResolver, type RegistryAuth } from "./auth/credentials.ts";
import { extractWasm, ImageFormatError, parseImageManifest, type Descriptor, type ImageManifest, type WasmVariant } from "./image/extract.ts";
import { hasWasmMagic } from "./image/compat-image.ts";
import {
  DEFAULT_MAX_WASM_BYTES,
  DOCKER_MANIFEST_LIST,
  DOCKER_MANIFEST_SCHEMA1,
  DOCKER_MANIFEST_SCHEMA1_SIGNED,
  MANIFEST_ACCEPT,
  OCI_INDEX,
} from "./media-types.ts";
import { formatReference, manifestReference, parseReference, type ImageReference } from "./reference.ts";
import { RepositoryClient, sha256Digest, type FetchedManifest } from "./registry/client.ts";
import { RegistryTransport, type TransportOptions } from "./registry/transport.ts";

export interface PullOptions {
  /** Credentials, a resolver (e.g. `dockerConfigKeychain(pullSecretJson)`), or the default keychain. */
  auth?: RegistryAuth;
  /** Allow plain HTTP to any registry. */
  insecure?: boolean;
  /** WasmPlugin `sha256`: the manifest digest, hex (a `sha256:` prefix is accepted). */
  expectedSha256?: string;
  /** Module size cap in bytes (istio-agent: 256 MiB). */
  maxBytes?: number;
  fetchImpl?: typeof fetch;
  /** Per-request timeout in milliseconds. */
  timeoutMs?: number;
  /** Reuse a transport (and its tokens) across pulls from the same registry. */
  transport?: RegistryTransport;
}

/** istio-agent's `wasm_remote_fetch_count` result label for a failure. */
export type FetchFailure = "manifest_failure" | "checksum_mismatched" | "download_failure" | "fetch_failure";

export class WasmPullError extends UserError {
  constructor(
    message: string,
    readonly result: FetchFailure,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface ResolvedImage {
  ref: ImageReference;
  /** `sha256:<hex>` of the image manifest: what WasmPlugin `sha256` pins (hex part). */
  manifestDigest: string;
  manifest: ImageManifest;
  /** Set when the reference named an index that was resolved to its linux/amd64 child. */
  indexDigest?: string;
  warnings: string[];
  /** Downloads and checks the module (istio-agent's lazy binaryFetcher). */
  fetchBinary(): Promise<PulledImage>;
}

export interface PulledImage {
  ref: ImageReference;
  wasm: Uint8Array;
  manifestDigest: string;
  manifest: ImageManifest;
  indexDigest?: string;
  variant: WasmVariant;
  /** sha256 hex of the module bytes (what an https:// WasmPlugin would pin). */
  wasmSha256: string;
  warnings: string[];
}

const MAX_INDEX_DEPTH = 4;

function isIndex(m: FetchedManifest): boolean {
  if (m.contentType === OCI_INDEX || m.contentType === DOCKER_MANIFEST_LIST) return true;
  try {
    const body = JSON.parse(Buffer.from(m.bytes).toString("utf8")) as { mediaType?: unknown; manifests?: unknown; layers?: unknown };
    return body.mediaType === OCI_INDEX || body.mediaType === DOCKER_MANIFEST_LIST || (Array.isArray(body.manifests) && body.layers === undefined);
  } catch {
    return false;
  }
}

/** go-containerregistry's childByPlatform for linux/amd64 (variant not required). */
function pickLinuxAmd64(index: FetchedManifest, where: string): Descriptor {
  let parsed: { manifests?: unknown };
  try {
    parsed = JSON.parse(Buffer.from(index.bytes).toString("utf8")) as typeof parsed;
  } catch (e) {
    throw new ImageFormatError(`index is not JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(parsed.manifests)) throw new ImageFormatError("index.manifests: expected an array");
  for (const child of parsed.manifests as Array<Record<string, unknown>>) {
    if (typeof child !== "object" || child === null) continue;
    const p = (child.platform ?? { os: "linux", architecture: "amd64" }) as { os?: unknown; architecture?: unknown };
    if (p.os === "linux" && p.architecture === "amd64") {
      if (typeof child.digest !== "string" || !/^sha256:[a-f0-9]{64}$/.test(child.digest)) throw new ImageFormatError("index child digest: expected sha256:<64 hex digits>");
      return child as unknown as Descriptor;
    }
  }
  throw new ImageFormatError(`no child with platform linux/amd64 in index ${where}`);
}

function normalizeExpected(sha: string | undefined): string | undefined {
  if (sha === undefined || sha === "") return undefined;
  const hex = sha.startsWith("sha256:") ? sha.slice(7) : sha;
  if (!/^[a-f0-9]{64}$/.test(hex)) throw new UserError(`sha256 must be 64 lowercase hex digits (the manifest digest), got "${sha}"`);
  return hex;
}

function reason(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Steps 1-3: the manifest digest and a lazy module fetcher. */
export async function resolveWasmImage(url: string, opts: PullOptions = {}): Promise<ResolvedImage> {
  let ref: ImageReference;
  try {
    ref = parseReference(url);
  } catch (e) {
    throw new WasmPullError(`could not fetch Wasm OCI image: could not parse url in image reference: ${reason(e)}`, "manifest_failure", { cause: e });
  }
  const expected = normalizeExpected(opts.expectedSha256);
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_WASM_BYTES;
  const transportOpts: TransportOptions = { insecure: opts.insecure, httpFallback: true, fetchImpl: opts.fetchImpl, timeoutMs: opts.timeoutMs };
  const transport = opts.transport ?? new RegistryTransport(ref.registry, toResolver(opts.auth), transportOpts);
  const repo = new RepositoryClient(transport, ref.repository);

  let top: FetchedManifest;
  try {
    top = await repo.getManifest(manifestReference(ref), MANIFEST_ACCEPT);
  } catch (e) {
    throw new WasmPullError(`could not fetch Wasm OCI image: could not fetch manifest: ${reason(e)}`, "manifest_failure", { cause: e });
  }

  let image = top;
  let indexDigest: string | undefined;
  let manifest: ImageManifest;
  try {
    for (let depth = 0; isIndex(image); depth++) {
      if (depth >= MAX_INDEX_DEPTH) throw new ImageFormatError(`indexes nested more than ${MAX_INDEX_DEPTH} deep`);
      indexDigest ??= image.digest;
      const child = pickLinuxAmd64(image, `${formatReference(ref)}`);
      image = await repo.getManifest(child.digest, MANIFEST_ACCEPT);
    }
    if (image.contentType === DOCKER_MANIFEST_SCHEMA1 || image.contentType === DOCKER_MANIFEST_SCHEMA1_SIGNED) {
      throw new ImageFormatError(`unsupported manifest media type ${image.contentType} (Docker schema 1)`);
    }
    manifest = parseImageManifest(image.bytes);
  } catch (e) {
    throw new WasmPullError(`could not fetch Wasm OCI image: could not fetch image: ${reason(e)}`, "manifest_failure", { cause: e });
  }

  const manifestDigest = image.digest;
  const actualHex = manifestDigest.slice("sha256:".length);
  if (expected !== undefined && expected !== actualHex) {
    throw new WasmPullError(`module downloaded from ${url} has checksum ${actualHex}, which does not match: ${expected}`, "checksum_mismatched");
  }

  const fetchBinary = async (): Promise<PulledImage> => {
    let extracted: { wasm: Uint8Array; variant: WasmVariant };
    try {
      extracted = await extractWasm(manifest, (layer) => repo.getBlob(layer.digest, layer.size, maxBytes), maxBytes);
    } catch (e) {
      throw new WasmPullError(`could not fetch Wasm binary: ${reason(e)}`, "download_failure", { cause: e });
    }
    if (!hasWasmMagic(extracted.wasm)) throw new WasmPullError(`fetched Wasm binary from ${url} is invalid`, "fetch_failure");
    return {
      ref,
      wasm: extracted.wasm,
      manifestDigest,
      manifest,
      ...(indexDigest ? { indexDigest } : {}),
      variant: extracted.variant,
      wasmSha256: sha256Digest(extracted.wasm).slice(7),
      warnings: [...transport.warnings],
    };
  };
  return { ref, manifestDigest, manifest, ...(indexDigest ? { indexDigest } : {}), warnings: transport.warnings, fetchBinary };
}

/** Steps 1-4: the checked module. */
export async function pullWasmImage(url: string, opts: PullOptions = {}): Promise<PulledImage> {
  const resolved = await resolveWasmImage(url, opts);
  return resolved.fetchBinary();
}
