/**
 * Repository operations of the OCI Distribution API v1.1 (opencontainers/distribution-spec
 * spec.md) over a RegistryTransport: manifests (GET with the accepted media types, PUT by tag or
 * digest, HEAD), blobs (HEAD, GET with size and sha256 verification and a byte cap), and tags.
 *
 * Content is checked as go-containerregistry checks it: a manifest fetched by digest must hash
 * to that digest; a blob must have the descriptor's size and digest, read with a cap so that a
 * lying registry cannot exhaust memory. Errors are RegistryError with the registry's error code.
 */
import { createHash } from "node:crypto";
import { RegistryError, registryErrorDetail, repositoryScope, type RegistryTransport } from "./transport.ts";

/** Manifests larger than this are refused (containerd's limit; Wasm image manifests are < 2 KiB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export interface FetchedManifest {
  bytes: Uint8Array;
  /** Content-Type the registry answered with (parameters dropped). */
  contentType: string;
  /** `sha256:` of the bytes, computed here. */
  digest: string;
}

export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** Reads a body up to `limit` bytes; more is an error built by `tooLarge`. */
async function readLimited(res: Response, limit: number, tooLarge: (n: number) => Error): Promise<Uint8Array> {
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    res.body?.cancel().catch(() => {});
    throw tooLarge(declared);
  }
  if (!res.body) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      reader.cancel().catch(() => {});
      throw tooLarge(total);
    }
    chunks.push(value);
  }
  return chunks.length === 1 ? chunks[0]! : new Uint8Array(Buffer.concat(chunks));
}

export class RepositoryClient {
  constructor(
    readonly transport: RegistryTransport,
    readonly repository: string,
  ) {}

  private pull(): string[] {
    return [repositoryScope(this.repository, "pull")];
  }

  /** `registry/repository`, for messages. */
  get name(): string {
    return `${this.transport.registry}/${this.repository}`;
  }

  async fail(res: Response, what: string): Promise<never> {
    const detail = await registryErrorDetail(res);
    throw new RegistryError(`${what}: ${res.status} ${detail.text}`, res.status, detail.code);
  }

  /** GET a manifest by tag or digest; a digest reference is verified against the content. */
  async getManifest(reference: string, accept: string): Promise<FetchedManifest> {
    const res = await this.transport.request({
      method: "GET",
      path: `/v2/${this.repository}/manifests/${reference}`,
      headers: { accept },
      scopes: this.pull(),
    });
    if (!res.ok) await this.fail(res, `GET manifest ${this.name}:${reference}`);
    const bytes = await readLimited(res, MAX_MANIFEST_BYTES, (n) => new RegistryError(`manifest ${this.name}:${reference} is ${n} bytes, over the ${MAX_MANIFEST_BYTES}-byte limit`));
    const digest = sha256Digest(bytes);
    if (reference.startsWith("sha256:") && digest !== reference) {
      throw new RegistryError(`manifest digest: "${digest}" does not match requested digest: "${reference}" for "${this.name}@${reference}"`);
    }
    const contentType = (res.headers.get("content-type") ?? "").split(";")[0]!.trim();
    return { bytes, contentType, digest };
  }

  /** HEAD a manifest: its digest and type, or null when absent. */
  async headManifest(reference: string, accept: string): Promise<{ digest: string | null; contentType: string } | null> {
    const res = await this.transport.request({
      method: "HEAD",
      path: `/v2/${this.repository}/manifests/${reference}`,
      headers: { accept },
      scopes: this.pull(),
    });
    if (res.status === 404) return null;
    if (!res.ok) await this.fail(res, `HEAD manifest ${this.name}:${reference}`);
    return { digest: res.headers.get("docker-content-digest"), contentType: (res.headers.get("content-type") ?? "").split(";")[0]!.trim() };
  }

  /** PUT a manifest under `reference` (tag or digest); returns the digest the registry reports. */
  async putManifest(reference: string, bytes: Uint8Array, mediaType: string): Promise<string> {
    const res = await this.transport.request({
      method: "PUT",
      path: `/v2/${this.repository}/manifests/${reference}`,
      headers: { "content-type": mediaType },
      body: bytes,
      scopes: [repositoryScope(this.repository, "pull,push")],
    });
    if (res.status !== 201 && res.status !== 200) await this.fail(res, `PUT manifest ${this.name}:${reference}`);
    await res.arrayBuffer().catch(() => undefined);
    const ours = sha256Digest(bytes);
    const theirs = res.headers.get("docker-content-digest");
    if (theirs && theirs !== ours) throw new RegistryError(`registry ${this.transport.registry} stored manifest ${this.name}:${reference} as ${theirs}, but its content is ${ours}`);
    return ours;
  }

  /** HEAD a blob: its size, or null when the repository does not have it. */
  async headBlob(digest: string, scopes = this.pull()): Promise<number | null> {
    const res = await this.transport.request({ method: "HEAD", path: `/v2/${this.repository}/blobs/${digest}`, scopes });
    if (res.status === 404) return null;
    if (!res.ok) await this.fail(res, `HEAD blob ${this.name}@${digest}`);
    const size = Number(res.headers.get("content-length") ?? NaN);
    return Number.isFinite(size) ? size : -1;
  }

  /**
   * GET a blob and check it against its descriptor. `maxBytes` caps what is read (the descriptor
   * is not trusted for that).
   */
  async getBlob(digest: string, size: number, maxBytes: number): Promise<Uint8Array> {
    if (size > maxBytes) throw new RegistryError(`blob ${digest} of ${this.name} is ${size} bytes, over the ${maxBytes}-byte limit`);
    const res = await this.transport.request({ method: "GET", path: `/v2/${this.repository}/blobs/${digest}`, scopes: this.pull() });
    if (!res.ok) await this.fail(res, `GET blob ${this.name}@${digest}`);
    const bytes = await readLimited(res, Math.min(maxBytes, size), (n) =>
      new RegistryError(`error verifying size of blob ${digest}: got at least ${n} bytes, want ${size}`));
    if (bytes.byteLength !== size) throw new RegistryError(`error verifying size of blob ${digest}: got ${bytes.byteLength} bytes, want ${size}`);
    const actual = sha256Digest(bytes);
    if (actual !== digest) {
      throw new RegistryError(`error verifying sha256 checksum after reading ${size} bytes; got "${actual}", want "${digest}"`);
    }
    return bytes;
  }

  /** Tags of the repository (first page of up to `n`). */
  async listTags(n = 1000): Promise<string[]> {
    const res = await this.transport.request({ method: "GET", path: `/v2/${this.repository}/tags/list?n=${n}`, scopes: this.pull() });
    if (!res.ok) await this.fail(res, `GET tags of ${this.name}`);
    const body = (await res.json()) as { tags?: unknown };
    return Array.isArray(body.tags) ? body.tags.filter((t): t is string => typeof t === "string") : [];
  }
}
