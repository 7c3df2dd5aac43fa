/**
 * Blob upload as the OCI Distribution spec (§ "Pushing blobs") describes it:
 *
 * - `HEAD` first: a blob the repository already has is not sent again;
 * - cross-repository mount `POST /blobs/uploads/?mount=<digest>&from=<repo>` for each candidate
 *   source repository on the same registry (201 = mounted; 202 = the registry opened an upload
 *   session instead, which is then used);
 * - monolithic: `POST` then one `PUT <location>?digest=`;
 * - chunked (blobs larger than `chunkSize`): `POST`, `PATCH` chunks with `Content-Range`, then
 *   `PUT <location>?digest=`. A chunk that fails (connection cut, 5xx, 416) is resumed: the
 *   session's status (`GET <location>`, `Range: 0-<n-1>`) says how much the registry holds and
 *   the upload continues from there. A session the registry no longer accepts is cancelled and
 *   the blob restarted in a new one, up to `attempts` sessions; after that the session is
 *   deleted and the error says nothing was published.
 */
import { RegistryError, registryErrorDetail, repositoryScope } from "./transport.ts";
import type { RepositoryClient } from "./client.ts";

export type BlobOutcome = "exists" | "mounted" | "uploaded";

export interface UploadOptions {
  /** Blobs larger than this go up in chunks of this size. Default 8 MiB. */
  chunkSize?: number;
  /** Other repositories of the same registry that may hold the blob (mount sources). */
  mountFrom?: string[];
  /** Upload sessions to try before giving up. Default 3. */
  attempts?: number;
}

export interface UploadReport {
  outcome: BlobOutcome;
  /** Repository the blob was mounted from. */
  mountedFrom?: string;
  /** Chunks resumed in the same session after a failure. */
  resumes: number;
  /** Sessions abandoned and started over. */
  restarts: number;
  chunks: number;
}

export const DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024;

class SessionLost extends Error {}

function contentRange(start: number, end: number): string {
  return `${start}-${end}`;
}

/**
 * Bytes the registry holds per its `Range: 0-<end>` header. Distribution writes `0-0` both for
 * an empty upload and for one byte, so `0-0` counts as `committed` when that is 0 (the only
 * case in which the ambiguity arises for us: our chunks are never one byte after a failure).
 */
function uploadedBytes(res: Response, committed: number): number | null {
  const range = res.headers.get("range");
  const m = range ? /^(?:bytes=)?0-(\d+)$/.exec(range.trim()) : null;
  if (!m) return range === null ? null : 0;
  const end = Number(m[1]);
  return end === 0 && committed === 0 ? 0 : end + 1;
}

export class BlobUploader {
  constructor(private readonly repo: RepositoryClient) {}

  private get push(): string[] {
    return [repositoryScope(this.repo.repository, "pull,push")];
  }

  private resolve(location: string | null, base: string): string {
    if (!location) throw new RegistryError(`registry ${this.repo.transport.registry} opened an upload without a Location header`);
    return new URL(location, base).href;
  }

  /** Uploads `bytes` as `digest` unless present; see the module comment. */
  async upload(digest: string, bytes: Uint8Array, opts: UploadOptions = {}): Promise<UploadReport> {
    const report: UploadReport = { outcome: "uploaded", resumes: 0, restarts: 0, chunks: 0 };
    const present = await this.repo.headBlob(digest, this.push);
    if (present !== null) {
      if (present !== -1 && present !== bytes.byteLength) {
        throw new RegistryError(`registry ${this.repo.transport.registry} holds ${digest} in ${this.repo.repository} with size ${present}, expected ${bytes.byteLength}`);
      }
      report.outcome = "exists";
      return report;
    }
    const base = await this.repo.transport.baseUrl();
    let location: string | undefined;
    for (const from of opts.mountFrom ?? []) {
      if (from === this.repo.repository) continue;
      let res: Response;
      try {
        res = await this.repo.transport.request({
          method: "POST",
          path: `/v2/${this.repo.repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`,
          scopes: [...this.push, repositoryScope(from, "pull")],
        });
      } catch (e) {
        // No pull right on the source (the registry denies the whole request): upload instead.
        if (e instanceof RegistryError && (e.status === 401 || e.status === 403)) continue;
        throw e;
      }
      await res.arrayBuffer().catch(() => undefined);
      if (res.status === 201) {
        report.outcome = "mounted";
        report.mountedFrom = from;
        return report;
      }
      if (res.status === 202) {
        location = this.resolve(res.headers.get("location"), base);
        break;
      }
      // Any other answer: mounting is not possible from there; try the next source.
    }
    const attempts = Math.max(1, opts.attempts ?? 3);
    let lastError: unknown;
    for (let session = 0; session < attempts; session++) {
      if (session > 0) report.restarts++;
      try {
        location ??= await this.open(base);
        const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
        if (bytes.byteLength > chunkSize) {
          location = await this.sendChunks(location, bytes, chunkSize, report, base, (l) => (location = l));
          await this.finish(location, digest, undefined);
        } else {
          await this.finish(location, digest, bytes);
        }
        return report;
      } catch (e) {
        lastError = e;
        if (location) await this.cancel(location);
        location = undefined;
        // Authentication and authorization failures will not change with a new session.
        if (e instanceof RegistryError && (e.status === 401 || e.status === 403 || e.status === 405)) break;
      }
    }
    const why = lastError instanceof Error ? lastError.message : String(lastError);
    throw new RegistryError(`could not upload blob ${digest} to ${this.repo.name} (${report.restarts + 1} session(s)): ${why}; the upload was cancelled and nothing was published`);
  }

  private async open(base: string): Promise<string> {
    const res = await this.repo.transport.request({ method: "POST", path: `/v2/${this.repo.repository}/blobs/uploads/`, scopes: this.push });
    if (res.status !== 202) await this.repo.fail(res, `POST blob upload to ${this.repo.name}`);
    await res.arrayBuffer().catch(() => undefined);
    return this.resolve(res.headers.get("location"), base);
  }

  private async finish(location: string, digest: string, body: Uint8Array | undefined): Promise<void> {
    const url = new URL(location);
    url.searchParams.set("digest", digest);
    const headers: Record<string, string> = { "content-type": "application/octet-stream" };
    if (body === undefined) headers["content-length"] = "0";
    const res = await this.repo.transport.request({ method: "PUT", path: url.href, headers, body: body ?? new Uint8Array(0), scopes: this.push });
    if (res.status !== 201) await this.repo.fail(res, `PUT blob ${digest} to ${this.repo.name}`);
    await res.arrayBuffer().catch(() => undefined);
  }

  /** PATCHes the chunks, resuming from the registry's offset after a failed chunk. */
  private async sendChunks(
    location: string,
    bytes: Uint8Array,
    chunkSize: number,
    report: UploadReport,
    base: string,
    moved: (location: string) => void,
  ): Promise<string> {
    let offset = 0;
    let current = location;
    let failuresHere = 0;
    while (offset < bytes.byteLength) {
      const end = Math.min(offset + chunkSize, bytes.byteLength);
      let res: Response | undefined;
      let failure: unknown;
      try {
        res = await this.repo.transport.request({
          method: "PATCH",
          path: current,
          headers: { "content-type": "application/octet-stream", "content-range": contentRange(offset, end - 1) },
          body: bytes.subarray(offset, end),
          scopes: this.push,
        });
      } catch (e) {
        failure = e;
      }
      if (res && res.status === 202) {
        await res.arrayBuffer().catch(() => undefined);
        current = this.resolve(res.headers.get("location"), base);
        moved(current);
        const held = uploadedBytes(res, end);
        offset = held ?? end;
        report.chunks++;
        failuresHere = 0;
        continue;
      }
      if (res) {
        const detail = await registryErrorDetail(res);
        failure = new RegistryError(`PATCH chunk ${offset}-${end - 1} to ${this.repo.name}: ${res.status} ${detail.text}`, res.status, detail.code);
        if (res.status < 500 && res.status !== 416) throw failure;
      }
      // The chunk failed: ask the session how much it holds and resume from there.
      if (++failuresHere > 2) throw failure;
      const held = await this.status(current, offset);
      if (held === null) throw new SessionLost(failure instanceof Error ? failure.message : String(failure));
      if (held > bytes.byteLength) throw new SessionLost(`the registry reports ${held} bytes of a ${bytes.byteLength}-byte blob`);
      offset = held;
      report.resumes++;
    }
    return current;
  }

  private async status(location: string, committed: number): Promise<number | null> {
    let res: Response;
    try {
      res = await this.repo.transport.request({ method: "GET", path: location, scopes: this.push });
    } catch {
      return null;
    }
    await res.arrayBuffer().catch(() => undefined);
    if (res.status !== 204 && res.status !== 200) return null;
    return uploadedBytes(res, committed) ?? 0;
  }

  private async cancel(location: string): Promise<void> {
    try {
      const res = await this.repo.transport.request({ method: "DELETE", path: location, scopes: this.push });
      await res.arrayBuffer().catch(() => undefined);
    } catch {
      /* best effort: the registry purges abandoned uploads itself */
    }
  }
}
