/**
 * istio-agent's Wasm module cache (istio/istio `pkg/wasm/cache.go` LocalFileCache.Get, the
 * version with pull policies and resource versions), for `oci://` and `http(s)://` modules:
 *
 * - Module key: the URL without tag or digest (OCI) or the URL (http), plus the checksum. A
 *   second map remembers, per URL with a tag (or per http URL), the checksum last fetched and the
 *   resource version each WasmPlugin last asked with.
 * - Lookup: the checksum is the WasmPlugin `sha256`, else the URL's `@sha256:` digest, else the
 *   remembered one, which is used when the pull policy allows (IfNotPresent; the default except
 *   for OCI tags `:latest`) or the plugin's resource version is unchanged (`Always` pulls again
 *   whenever the resource version changes).
 * - Miss: OCI resolves the manifest first (its digest is the checksum, compared with the wanted
 *   one before any layer is fetched), http downloads the body (its sha256 is the checksum); then
 *   the binary must start with `\0asm`. Every remote fetch is counted in
 *   `wasm_remote_fetch_count{result}`, every lookup in `wasm_cache_lookup_count{hit}`.
 * - Modules are kept in memory and, with `dir`, written as the agent writes them:
 *   `<dir>/<sha256(module name)>/<checksum>.wasm`. Entries unused for `expiryMs` (24 h) are
 *   purged every `purgeIntervalMs` (1 h).
 */
import { createHash } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { CredentialResolver } from "../../oci/index.ts";
import type { AgentMetrics, FetchResult } from "./agent-metrics.ts";
import { httpFetchModule, type HttpFetchOptions } from "./http-fetcher.ts";
import { resolveOciModule, type OciFetchOptions } from "./oci-fetcher.ts";

export type PullPolicy = "UNSPECIFIED_POLICY" | "IfNotPresent" | "Always";

export interface CacheGetOptions {
  /** WasmPlugin sha256 (hex), or "". */
  checksum: string;
  /** Fully qualified resource name (`<ns>.<name>`). */
  resourceName: string;
  resourceVersion: string;
  pullPolicy: PullPolicy;
  /** OCI credentials from the plugin's pull secret (istio-agent's keychain); default keychain without. */
  auth?: CredentialResolver;
}

export interface CachedModule {
  wasm: Uint8Array;
  /** OCI: the manifest digest (hex); http: the module's sha256. */
  checksum: string;
  /** The file the module was written to, when the cache has a directory. */
  file?: string;
}

export interface ModuleCacheOptions {
  metrics: AgentMetrics;
  dir?: string;
  expiryMs?: number;
  purgeIntervalMs?: number;
  http?: HttpFetchOptions;
  oci?: OciFetchOptions;
}

/** A fetch failure: the agent's message and the result label it was counted under. */
export class ModuleFetchError extends Error {
  override readonly name = "ModuleFetchError";
  constructor(message: string, readonly result: FetchResult | "unsupported") {
    super(message);
  }
}

interface Entry {
  module: CachedModule;
  last: number;
  urls: Set<string>;
}

const SHA256_DIGEST = /@sha256:([a-f0-9]{64})$/;

/** istio-agent's urlAsResourceName: an OCI reference without tag or digest. */
export function moduleName(url: string): string {
  if (!url.startsWith("oci://")) return url;
  let rest = url.slice("oci://".length).replace(/@sha256:[a-f0-9]+$/, "");
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > lastSlash) rest = rest.slice(0, colon);
  return `oci://${rest}`;
}

function ignoreResourceVersion(policy: PullPolicy, url: string): boolean {
  if (policy === "Always") return false;
  if (policy === "IfNotPresent") return true;
  return !url.startsWith("oci://") || !/:latest$/.test(new URL(`http://${url.slice("oci://".length)}`).pathname);
}

export class ModuleCache {
  private readonly modules = new Map<string, Entry>();
  private readonly checksums = new Map<string, { checksum: string; versions: Map<string, string> }>();
  private readonly purgeTimer: NodeJS.Timeout;

  constructor(private readonly opts: ModuleCacheOptions) {
    this.purgeTimer = setInterval(() => void this.purge(), opts.purgeIntervalMs ?? 3_600_000);
    this.purgeTimer.unref();
  }

  private key(name: string, checksum: string): string {
    return `${name}\n${checksum}`;
  }

  /** cache.go getEntry: the entry and the checksum the lookup settled on. */
  private lookup(url: string, o: CacheGetOptions, ignoreVersion: boolean): { entry?: Entry; checksum: string } {
    let checksum = o.checksum;
    if (checksum === "" && url.startsWith("oci://")) checksum = SHA256_DIGEST.exec(url)?.[1] ?? "";
    if (checksum === "") {
      const known = this.checksums.get(url);
      if (known) {
        if (ignoreVersion || known.versions.get(o.resourceName) === o.resourceVersion) checksum = known.checksum;
        known.versions.set(o.resourceName, o.resourceVersion);
      }
    }
    const entry = this.modules.get(this.key(moduleName(url), checksum));
    this.opts.metrics.cacheLookup(entry !== undefined);
    if (entry) {
      entry.last = Date.now();
      this.remember(url, checksum, o);
    }
    return { entry, checksum };
  }

  /** cache.go updateChecksum: tagged OCI URLs and http URLs remember their last checksum. */
  private remember(url: string, checksum: string, o: CacheGetOptions): boolean {
    const needed = !url.startsWith("oci://") || !url.includes("@");
    if (needed) {
      let known = this.checksums.get(url);
      if (!known) this.checksums.set(url, (known = { checksum, versions: new Map() }));
      known.checksum = checksum;
      known.versions.set(o.resourceName, o.resourceVersion);
    }
    return needed;
  }

  private fail(message: string, result: FetchResult): never {
    this.opts.metrics.remoteFetch(result);
    throw new ModuleFetchError(message, result);
  }

  async get(url: string, o: CacheGetOptions): Promise<CachedModule> {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
    if (scheme !== "oci" && scheme !== "http" && scheme !== "https") {
      throw new ModuleFetchError(`unsupported Wasm module downloading URL scheme: ${scheme ?? ""}`, "unsupported");
    }
    const first = this.lookup(url, o, ignoreResourceVersion(o.pullPolicy, url));
    if (first.entry) return first.entry.module;
    let wanted = first.checksum;
    let wasm: Uint8Array;
    let fetched: string;
    if (scheme === "oci") {
      let resolved: Awaited<ReturnType<typeof resolveOciModule>>;
      try {
        resolved = await resolveOciModule(url, o.auth ? { ...this.opts.oci, auth: o.auth } : this.opts.oci);
      } catch (e) {
        return this.fail(`could not fetch Wasm OCI image: ${(e as Error).message}`, "manifest_failure");
      }
      fetched = resolved.checksum;
      if (wanted === "") {
        const again = this.lookup(url, { ...o, checksum: fetched }, true);
        if (again.entry) return again.entry.module;
        wanted = fetched;
      } else if (fetched !== wanted) {
        return this.fail(`module downloaded from ${url} has checksum ${fetched}, which does not match: ${wanted}`, "checksum_mismatched");
      }
      try {
        wasm = await resolved.fetchBinary();
      } catch (e) {
        const result = (e as { result?: FetchResult }).result;
        return this.fail(`could not fetch Wasm binary: ${(e as Error).message}`, result === "fetch_failure" ? "fetch_failure" : "download_failure");
      }
    } else {
      try {
        wasm = await httpFetchModule(url, this.opts.http);
      } catch (e) {
        return this.fail((e as Error).message, "download_failure");
      }
      fetched = createHash("sha256").update(wasm).digest("hex");
      if (wanted === "") {
        const again = this.lookup(url, { ...o, checksum: fetched }, true);
        if (again.entry) return again.entry.module;
      } else if (fetched !== wanted) {
        return this.fail(`module downloaded from ${url} has checksum ${fetched}, which does not match: ${wanted}`, "checksum_mismatched");
      }
    }
    if (!(wasm.length >= 8 && wasm[0] === 0 && wasm[1] === 0x61 && wasm[2] === 0x73 && wasm[3] === 0x6d)) {
      return this.fail(`fetched Wasm binary from ${url} is invalid`, "fetch_failure");
    }
    this.opts.metrics.remoteFetch("success");
    return this.add(url, fetched, wasm, o);
  }

  private async add(url: string, checksum: string, wasm: Uint8Array, o: CacheGetOptions): Promise<CachedModule> {
    const needed = this.remember(url, checksum, o);
    const name = moduleName(url);
    const key = this.key(name, checksum);
    const existing = this.modules.get(key);
    if (existing) {
      existing.last = Date.now();
      if (needed) existing.urls.add(url);
      return existing.module;
    }
    const module: CachedModule = { wasm, checksum };
    if (this.opts.dir) {
      const dir = path.join(this.opts.dir, createHash("sha256").update(name).digest("hex"));
      await mkdir(dir, { recursive: true });
      module.file = path.join(dir, `${checksum}.wasm`);
      await writeFile(module.file, wasm);
    }
    this.modules.set(key, { module, last: Date.now(), urls: new Set(needed ? [url] : []) });
    this.opts.metrics.setCacheEntries(this.modules.size);
    return module;
  }

  /** Drops entries unused for the expiry (and their files and remembered checksums). */
  async purge(now = Date.now()): Promise<void> {
    const expiry = this.opts.expiryMs ?? 24 * 3_600_000;
    for (const [key, entry] of this.modules) {
      if (now - entry.last <= expiry) continue;
      if (entry.module.file) await rm(entry.module.file, { force: true });
      for (const url of entry.urls) this.checksums.delete(url);
      this.modules.delete(key);
    }
    this.opts.metrics.setCacheEntries(this.modules.size);
  }

  get size(): number {
    return this.modules.size;
  }

  close(): void {
    clearInterval(this.purgeTimer);
  }
}
