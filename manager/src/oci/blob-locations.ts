/**
 * Remembers which repositories of a registry received which blobs, so a later push of the same
 * blob to another repository can mount it instead of uploading it (what docker's distribution
 * metadata service does). A small JSON file; bounded (8 repositories per blob, 2,000 blobs per
 * registry, oldest dropped); a missing or corrupt file is an empty record (it is only a hint).
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

type Record_ = Record<string, Record<string, string[]>>;

const MAX_REPOS = 8;
const MAX_BLOBS = 2000;

/** `$XDG_CACHE_HOME/meshwasm/oci-blob-locations.json` (default `~/.cache/...`). */
export function defaultBlobLocationsFile(env: NodeJS.ProcessEnv = process.env): string {
  const cache = env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache");
  return path.join(cache, "meshwasm", "oci-blob-locations.json");
}

export class BlobLocations {
  constructor(readonly file: string) {}

  private async read(): Promise<Record_> {
    try {
      const parsed = JSON.parse(await readFile(this.file, "utf8")) as unknown;
      return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Record_) : {};
    } catch {
      return {};
    }
  }

  /** Repositories of `registry` known to hold `digest`, most recent first. */
  async sources(registry: string, digest: string): Promise<string[]> {
    const all = await this.read();
    const repos = all[registry]?.[digest];
    return Array.isArray(repos) ? repos.filter((r) => typeof r === "string") : [];
  }

  /** Records that `repository` of `registry` now holds `digests`. */
  async remember(registry: string, repository: string, digests: string[]): Promise<void> {
    const all = await this.read();
    const reg = (all[registry] ??= {});
    for (const d of digests) {
      const repos = (reg[d] ?? []).filter((r) => r !== repository);
      delete reg[d];
      reg[d] = [repository, ...repos].slice(0, MAX_REPOS);
    }
    const keys = Object.keys(reg);
    for (const k of keys.slice(0, Math.max(0, keys.length - MAX_BLOBS))) delete reg[k];
    await mkdir(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(all));
    await rename(tmp, this.file);
  }
}
