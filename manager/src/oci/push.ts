/**
 * Publishing a module as an Istio *compat* image (image/compat-image.ts) to `REPO[:TAG]`:
 *
 * 1. build the image in memory (reproducible: same module and metadata, same manifest digest);
 * 2. upload the config and layer blobs (registry/upload.ts: skipped when present, mounted from
 *    another repository of the registry when one is known to hold them, monolithic or chunked);
 * 3. check that the registry now holds every blob with the right size;
 * 4. only then `PUT` the manifest under the tag (default: the module version, `+` -> `_`), and
 *    check the digest the registry reports.
 *
 * So a failure at any step leaves no tag pointing at a manifest whose blobs are missing: tags
 * appear only in step 4, after step 3 succeeded. Returns the manifest digest.
 */
import { UserError } from "../errors.ts";
import { toResolver, type RegistryAuth } from "./auth/credentials.ts";
import { BlobLocations, defaultBlobLocationsFile } from "./blob-locations.ts";
import { buildCompatImage, type Blob, type CompatImageInput } from "./image/compat-image.ts";
import { digestReference, parseReference, tagFromVersion, type ImageReference } from "./reference.ts";
import { RepositoryClient } from "./registry/client.ts";
import { RegistryTransport, repositoryScope } from "./registry/transport.ts";
import { BlobUploader, type UploadReport } from "./registry/upload.ts";

export interface PushOptions {
  auth?: RegistryAuth;
  /** Allow plain HTTP to any registry (localhost, loopback and RFC 1918 are always allowed). */
  insecure?: boolean;
  fetchImpl?: typeof fetch;
  timeoutMs?: number;
  /** Blobs above this size are uploaded in chunks of it. Default 8 MiB. */
  chunkSize?: number;
  /** Repositories of the same registry to try mounting blobs from. */
  mountFrom?: string[];
  /** Where pushed blobs are remembered for later mounts; false to neither read nor write. */
  blobLocations?: BlobLocations | false;
  /** Reuse a transport (and its tokens). */
  transport?: RegistryTransport;
  onProgress?: (event: PushProgress) => void;
}

export type PushProgress =
  | { kind: "blob"; role: "config" | "layer"; digest: string; size: number; report: UploadReport }
  | { kind: "manifest"; digest: string; tag: string };

export type PushInput = CompatImageInput;

export interface PushedBlob extends UploadReport {
  role: "config" | "layer";
  digest: string;
  size: number;
}

export interface PushResult {
  ref: ImageReference & { tag: string };
  tag: string;
  /** `sha256:<hex>`: what a WasmPlugin pins (`url: oci://…@sha256:…`, `sha256: <hex>`). */
  manifestDigest: string;
  /** `registry/repository@sha256:<hex>`. */
  pinned: string;
  manifestSize: number;
  blobs: PushedBlob[];
}

/** True when the reference text names a tag (the part after the last `/` has a `:`). */
function hasExplicitTag(target: string): boolean {
  const lastPart = target.slice(target.lastIndexOf("/") + 1);
  return lastPart.includes(":");
}

/** Pushes `input` as a compat image to `target` (`REPO[:TAG]`, `oci://` optional). */
export async function pushWasmImage(target: string, input: PushInput, opts: PushOptions = {}): Promise<PushResult> {
  const parsed = parseReference(target);
  if (parsed.digest) throw new UserError(`push target "${target}" names a digest: give REPO or REPO:TAG (the digest is computed)`);
  const tag = hasExplicitTag(target.replace(/^oci:\/\//i, "")) ? parsed.tag! : tagFromVersion(input.version);
  const ref = { ...parsed, tag };
  const image = buildCompatImage(input);

  const transport = opts.transport ?? new RegistryTransport(ref.registry, toResolver(opts.auth), { insecure: opts.insecure, fetchImpl: opts.fetchImpl, timeoutMs: opts.timeoutMs });
  const repo = new RepositoryClient(transport, ref.repository);
  const uploader = new BlobUploader(repo);
  const locations = opts.blobLocations === false ? undefined : opts.blobLocations ?? new BlobLocations(defaultBlobLocationsFile());

  const blobs: PushedBlob[] = [];
  const roles: Array<["config" | "layer", Blob]> = [["config", image.config], ["layer", image.layer]];
  for (const [role, blob] of roles) {
    const known = locations ? await locations.sources(ref.registry, blob.digest) : [];
    const mountFrom = [...new Set([...(opts.mountFrom ?? []), ...known])].filter((r) => r !== ref.repository);
    const report = await uploader.upload(blob.digest, blob.bytes, { chunkSize: opts.chunkSize, mountFrom });
    blobs.push({ role, digest: blob.digest, size: blob.size, ...report });
    opts.onProgress?.({ kind: "blob", role, digest: blob.digest, size: blob.size, report });
  }

  for (const [role, blob] of roles) {
    const size = await repo.headBlob(blob.digest, [repositoryScope(ref.repository, "pull,push")]);
    if (size === null || (size !== -1 && size !== blob.size)) {
      throw new UserError(`registry ${ref.registry} does not hold the ${role} blob ${blob.digest} of ${ref.repository} after upload${size === null ? "" : ` (size ${size}, expected ${blob.size})`}: the manifest was not pushed`);
    }
  }

  const manifestDigest = await repo.putManifest(tag, image.manifest.bytes, image.manifest.mediaType);
  if (manifestDigest !== image.manifest.digest) throw new UserError(`internal: manifest digest changed during push`);
  opts.onProgress?.({ kind: "manifest", digest: manifestDigest, tag });
  if (locations) await locations.remember(ref.registry, ref.repository, [image.config.digest, image.layer.digest]).catch(() => undefined);

  return {
    ref,
    tag,
    manifestDigest,
    pinned: digestReference(ref, manifestDigest),
    manifestSize: image.manifest.size,
    blobs,
  };
}
