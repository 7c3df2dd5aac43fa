/**
 * `buildFilters`: compiles every discovered filter with the asc API, writes
 * `<outDir>/filters/<name>.wasm` (and `<name>.debug.wasm` with `debug`), and a reproducible
 * `<outDir>/manifest.json` (no timestamps: the same sources give the same bytes and digests).
 * Each module is checked to declare a proxy-wasm ABI version export, which the manifest records.
 * The size report also measures the SDK's own cost: size(noop) - size(empty AS module), both with
 * the release options.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { UserError } from "../errors.ts";
import { compileAssemblyScript, REPO_ROOT } from "./compile.ts";
import { discoverFilters, type FilterSource } from "./discover.ts";
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
}

export interface BuiltModule {
  name: string;
  variant: "release" | "debug";
  /** Path relative to outDir, forward slashes. */
  file: string;
  sha256: string;
  size: number;
  abi: string;
  version: string;
}

export interface SdkOverhead {
  noopSize: number;
  emptySize: number;
  bytes: number;
}

export interface BuildResult {
  outDir: string;
  manifestPath: string;
  modules: BuiltModule[];
  sdk?: SdkOverhead;
}

export interface BuildManifest {
  package: string;
  version: string;
  modules: BuiltModule[];
}

const EMPTY_MODULE = "build/.empty-module.ts";

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
  if (!only) return all;
  const missing = only.filter((n) => !all.some((f) => f.name === n));
  if (missing.length) throw new UserError(`unknown filter(s): ${missing.join(", ")} (found: ${all.map((f) => f.name).join(", ")})`);
  return all.filter((f) => only.includes(f.name));
}

async function buildOne(root: string, outDir: string, f: FilterSource, variant: "release" | "debug", version: string): Promise<BuiltModule> {
  const wasm = await compileAssemblyScript(f.entry, {
    root,
    target: variant === "release" ? f.name : `${f.name}-debug`,
    debug: variant === "debug",
  });
  const abi = abiVersionOf(wasm);
  if (abi === null) throw new UserError(`${f.entry} does not export proxy_abi_version_*: re-export "sdk/abi/exports" from it`);
  const file = `filters/${f.name}${variant === "debug" ? ".debug" : ""}.wasm`;
  await writeFile(path.join(outDir, file), wasm);
  return { name: f.name, variant, file, sha256: sha256Hex(wasm), size: wasm.byteLength, abi, version };
}

export async function buildFilters(options: BuildOptions = {}): Promise<BuildResult> {
  const root = options.root ?? REPO_ROOT;
  const outDir = options.outDir ?? path.join(root, "build");
  const pkg = await packageInfo(root);
  const filters = selectFilters(await discoverFilters(root), options.only);
  if (filters.length === 0) throw new UserError("no filters found (filters/*/assembly/index.ts)");
  await mkdir(path.join(outDir, "filters"), { recursive: true });

  const modules: BuiltModule[] = [];
  for (const f of filters) {
    modules.push(await buildOne(root, outDir, f, "release", pkg.version));
    if (options.debug) modules.push(await buildOne(root, outDir, f, "debug", pkg.version));
  }

  const manifest: BuildManifest = { package: pkg.name, version: pkg.version, modules };
  const manifestPath = path.join(outDir, "manifest.json");
  await writeFile(manifestPath, JSON.stringify(manifest, null, 2) + "\n");

  let sdk: SdkOverhead | undefined;
  const noop = modules.find((m) => m.name === "noop" && m.variant === "release");
  if (noop && options.measureSdk !== false) {
    const empty = await compileAssemblyScript(EMPTY_MODULE, { root, omitOptions: ["use"], sources: { [EMPTY_MODULE]: "\n" } });
    sdk = { noopSize: noop.size, emptySize: empty.byteLength, bytes: noop.size - empty.byteLength };
  }
  return { outDir, manifestPath, modules, sdk };
}
