/**
 * `buildFilters`: release builds of every discovered filter (or those named) with the asc API,
 * written to `<outDir>/filters/<name>.wasm` (and `<name>.debug.wasm` with `debug`), plus
 * `<outDir>/manifest.json`.
 *
 * Each module is checked before it is written: the Wasm magic and version (`\0asm`, 1) and a
 * `proxy_abi_version_X_Y_Z` export, which the manifest records. A module's version is the filter's
 * own version (filter-meta.ts) plus the source commit as SemVer build metadata (git-info.ts).
 *
 * Reproducible: the manifest holds no time, host or absolute path, and asc is deterministic for
 * the same sources, options and compiler version, so two builds of the same source in different
 * folders at different times give identical bytes (test/build/reproducible.test.ts).
 * The size report also measures the SDK's own cost: size(noop) - size(empty AS module).
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { UserError } from "../errors.ts";
import { compileAssemblyScript, REPO_ROOT } from "./compile.ts";
import { discoverFilters, type FilterSource } from "./discover.ts";
import { filterDirOf, loadFilterMeta, type FilterDefaults } from "./filter-meta.ts";
import { buildVersion, sourceCommit } from "./git-info.ts";
import { wasmApi } from "./wasm-api.ts";

export interface BuildOptions {
  /** Repository root; default the one containing this package. */
  root?: string;
  /** Output directory; default `<root>/build`. */
  outDir?: string;
  /** Also build the debug variants. */
  debug?: boolean;
  /** Only these filter names (default: every discovered filter). */
  only?: string[];
  /** Measure the SDK's overhead (needs the `noop` filter among those built). Default true. */
  measureSdk?: boolean;
  /** Called as the build proceeds (the CLI draws progress from it). */
  onProgress?: (event: BuildProgress) => void;
}

export type BuildProgress =
  | { kind: "start"; total: number }
  | { kind: "compiling"; index: number; total: number; name: string; variant: "release" | "debug" }
  | { kind: "built"; index: number; total: number; module: BuiltModule };

export interface BuiltModule {
  name: string;
  variant: "release" | "debug";
  /** Path relative to outDir, forward slashes. */
  file: string;
  sha256: string;
  size: number;
  /** proxy-wasm ABI version from the module's export, e.g. "0_2_1". */
  abi: string;
  /** The filter's version plus `+<commit12>[.dirty]`. */
  version: string;
  /** The filter's own version (filter.json, else the package version). */
  filterVersion: string;
  versionSource: "filter.json" | "package.json";
  /** Full source commit, or null outside a git work tree. */
  commit: string | null;
  /** AssemblyScript compiler version. */
  assemblyscript: string;
  description?: string;
  defaults?: FilterDefaults;
}

export interface SdkOverhead {
  noopSize: number;
  emptySize: number;
  bytes: number;
}

export interface BuildResult {
  outDir: string;
  manifestPath: string;
  manifest: BuildManifest;
  modules: BuiltModule[];
  sdk?: SdkOverhead;
}

export interface BuildManifest {
  package: string;
  /** The package version. */
  version: string;
  commit: string | null;
  dirty: boolean;
  assemblyscript: string;
  modules: BuiltModule[];
}

const EMPTY_MODULE = "build/.empty-module.ts";
const WASM_HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

/**
 * The AssemblyScript compiler version the build uses (asc's `version`), read from the package's
 * package.json so that it is known without loading the compiler.
 */
export const ASSEMBLYSCRIPT_VERSION: string = (createRequire(import.meta.url)("assemblyscript/package.json") as { version: string }).version;

/** True when `bytes` starts with the Wasm magic `\0asm` and binary version 1. */
export function hasWasmHeader(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && WASM_HEADER.every((b, i) => bytes[i] === b);
}

/** The ABI version a module declares through its `proxy_abi_version_X_Y_Z` export, or null. */
export function abiVersionOf(wasm: Uint8Array): string | null {
  const mod = new wasmApi.Module(wasm);
  for (const e of wasmApi.Module.exports(mod)) {
    const m = /^proxy_abi_version_(\d+_\d+_\d+)$/.exec(e.name);
    if (m && e.kind === "function") return m[1]!;
  }
  return null;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

async function packageInfo(root: string): Promise<{ name: string; version: string }> {
  const pkg = JSON.parse(await readFile(path.join(root, "package.json"), "utf8")) as { name?: string; version?: string };
  return { name: pkg.name ?? "meshwasm", version: pkg.version ?? "0.0.0" };
}

function selectFilters(all: FilterSource[], only?: string[]): FilterSource[] {
  if (!only || only.length === 0) return all;
  const missing = only.filter((n) => !all.some((f) => f.name === n));
  if (missing.length) throw new UserError(`unknown filter(s): ${missing.join(", ")} (found: ${all.map((f) => f.name).join(", ")})`);
  return all.filter((f) => only.includes(f.name));
}

/** Checks a compiled module as the build requires; returns its ABI version. */
export function checkModule(entry: string, wasm: Uint8Array): string {
  if (!hasWasmHeader(wasm)) throw new UserError(`${entry}: the compiler output is not a Wasm 1.0 module (no \\0asm magic)`);
  const abi = abiVersionOf(wasm);
  if (abi === null) throw new UserError(`${entry} does not export proxy_abi_version_*: re-export "sdk/abi/exports" from it`);
  return abi;
}

export async function buildFilters(options: BuildOptions = {}): Promise<BuildResult> {
  const root = options.root ?? REPO_ROOT;
  const outDir = options.outDir ?? path.join(root, "build");
  const progress = options.onProgress ?? (() => {});
  const pkg = await packageInfo(root);
  const filters = selectFilters(await discoverFilters(root), options.only);
  if (filters.length === 0) throw new UserError("no filters found (filters/*/assembly/index.ts)");
  const source = await sourceCommit(root);
  const metas = await Promise.all(filters.map((f) => loadFilterMeta(root, filterDirOf(f.entry), pkg.version)));
  await mkdir(path.join(outDir, "filters"), { recursive: true });

  const variants: Array<"release" | "debug"> = options.debug ? ["release", "debug"] : ["release"];
  const total = filters.length * variants.length;
  progress({ kind: "start", total });
  const modules: BuiltModule[] = [];
  for (const [i, f] of filters.entries()) {
    const meta = metas[i]!;
    for (const variant of variants) {
      const index = modules.length + 1;
      progress({ kind: "compiling", index, total, name: f.name, variant });
      const wasm = await compileAssemblyScript(f.entry, {
        root,
        target: variant === "release" ? f.name : `${f.name}-debug`,
        debug: variant === "debug",
      });
      const abi = checkModule(f.entry, wasm);
      const file = `filters/${f.name}${variant === "debug" ? ".debug" : ""}.wasm`;
      await writeFile(path.join(outDir, file), wasm);
      const built: BuiltModule = {
        name: f.name,
        variant,
        file,
        sha256: sha256Hex(wasm),
        size: wasm.byteLength,
        abi,
        version: buildVersion(meta.version, source),
        filterVersion: meta.version,
        versionSource: meta.versionSource,
        commit: source.commit,
        assemblyscript: ASSEMBLYSCRIPT_VERSION,
        ...(meta.description !== undefined ? { description: meta.description } : {}),
        ...(meta.defaults ? { defaults: meta.defaults } : {}),
      };
      modules.push(built);
      progress({ kind: "built", index, total, module: built });
    }
  }

  const manifest: BuildManifest = {
    package: pkg.name,
    version: pkg.version,
    commit: source.commit,
    dirty: source.dirty,
    assemblyscript: ASSEMBLYSCRIPT_VERSION,
    modules,
  };
  const manifestPath = path.join(outDir, "manifest.json");
  await writeFile(manifestPath, JSON.stringify(manifest, null, 2) + "\n");

  let sdk: SdkOverhead | undefined;
  const noop = modules.find((m) => m.name === "noop" && m.variant === "release");
  if (noop && options.measureSdk !== false) {
    const empty = await compileAssemblyScript(EMPTY_MODULE, { root, omitOptions: ["use"], sources: { [EMPTY_MODULE]: "\n" } });
    sdk = { noopSize: noop.size, emptySize: empty.byteLength, bytes: noop.size - empty.byteLength };
  }
  return { outDir, manifestPath, manifest, modules, sdk };
}
