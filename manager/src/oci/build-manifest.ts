/**
 * Reads what `meshwasm build` wrote for one filter: `build/manifest.json` (a `modules[]` list
 * with name, variant, file, sha256, size, abi, version and, when known, commit and description)
 * and the module file it names, checked against the recorded sha256 and size so a stale or
 * edited build is never published. Errors name the file and the field path.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { UserError } from "../errors.ts";

/** `<repository root>/build`, where `meshwasm build` writes. */
export const DEFAULT_BUILD_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../build");

export interface BuiltFilter {
  name: string;
  version: string;
  sha256: string;
  size: number;
  abi: string | null;
  commit: string | null;
  description?: string;
  /** Absolute path of the module. */
  file: string;
  wasm: Uint8Array;
}

function field<T>(obj: Record<string, unknown>, key: string, where: string, check: (v: unknown) => v is T, what: string): T {
  const v = obj[key];
  if (!check(v)) throw new UserError(`${where}.${key}: expected ${what}, got ${JSON.stringify(v)}`);
  return v;
}

const isString = (v: unknown): v is string => typeof v === "string" && v !== "";
const isSize = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/** Loads filter `name` (release variant) from `<buildDir>/manifest.json`. */
export async function loadBuiltFilter(buildDir: string, name: string): Promise<BuiltFilter> {
  const manifestPath = path.join(buildDir, "manifest.json");
  let text: string;
  try {
    text = await readFile(manifestPath, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new UserError(`${manifestPath} not found: run \`meshwasm build\` first`);
    throw new UserError(`cannot read ${manifestPath}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${manifestPath}: not valid JSON (${(e as Error).message})`);
  }
  const modules = (raw as { modules?: unknown } | null)?.modules;
  if (!Array.isArray(modules)) throw new UserError(`${manifestPath}: modules: expected an array`);
  const index = modules.findIndex((m) => (m as { name?: unknown })?.name === name && ((m as { variant?: unknown }).variant ?? "release") === "release");
  if (index < 0) {
    const names = modules.map((m) => (m as { name?: unknown })?.name).filter((n) => typeof n === "string");
    throw new UserError(`no filter "${name}" in ${manifestPath} (built: ${[...new Set(names)].join(", ") || "none"})`);
  }
  const m = modules[index] as Record<string, unknown>;
  const where = `${manifestPath}: modules[${index}]`;
  const file = field(m, "file", where, isString, "a path");
  const sha256 = field(m, "sha256", where, (v): v is string => typeof v === "string" && /^[a-f0-9]{64}$/.test(v), "64 hex digits");
  const size = field(m, "size", where, isSize, "a byte count");
  const version = field(m, "version", where, isString, "a version string");
  const abi = typeof m.abi === "string" ? m.abi : null;
  const commit = typeof m.commit === "string" && m.commit ? m.commit : null;
  const abs = path.resolve(buildDir, file);
  let wasm: Uint8Array;
  try {
    wasm = new Uint8Array(await readFile(abs));
  } catch (e) {
    throw new UserError(`${where}.file: cannot read ${abs}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const actual = createHash("sha256").update(wasm).digest("hex");
  if (actual !== sha256 || wasm.byteLength !== size) {
    throw new UserError(`${abs} does not match ${manifestPath} (sha256 ${actual.slice(0, 12)}… != ${sha256.slice(0, 12)}…): run \`meshwasm build\` again`);
  }
  return {
    name,
    version,
    sha256,
    size,
    abi,
    commit,
    ...(typeof m.description === "string" ? { description: m.description } : {}),
    file: abs,
    wasm,
  };
}
