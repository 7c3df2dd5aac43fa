/**
 * A filter's own identity: `filters/<name>/filter.json` (or `filters/examples/<name>/filter.json`)
 * beside its `assembly/` folder.
 *
 * ```json
 * { "name": "grpc-auth", "version": "0.3.1", "description": "per-RPC authentication",
 *   "defaults": { "phase": "AUTHN", "priority": 1000, "failStrategy": "FAIL_CLOSE" } }
 * ```
 *
 * - `name` must equal the folder name; `version` is a SemVer 2.0.0 version without build metadata
 *   (the build appends `+<commit>`); `description` is free text; `defaults` are the WasmPlugin
 *   placement defaults a deployment starts from (`phase` AUTHN | AUTHZ | STATS | UNSPECIFIED_PHASE,
 *   `priority` an int32, `failStrategy` FAIL_CLOSE | FAIL_OPEN | FAIL_RELOAD). Unknown keys are errors.
 * - A filter without filter.json takes the package version (`versionSource: "package.json"`), so a
 *   filter being written still builds; the build report says so.
 * Errors are one line: `<file>: <field path>: <what is wrong>`.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { UserError } from "../errors.ts";

export type Phase = "AUTHN" | "AUTHZ" | "STATS" | "UNSPECIFIED_PHASE";
export type FailStrategy = "FAIL_CLOSE" | "FAIL_OPEN" | "FAIL_RELOAD";

export interface FilterDefaults {
  phase?: Phase;
  priority?: number;
  failStrategy?: FailStrategy;
}

export interface FilterMeta {
  name: string;
  version: string;
  description?: string;
  defaults?: FilterDefaults;
  /** Where the version came from. */
  versionSource: "filter.json" | "package.json";
}

export const FILTER_META_FILE = "filter.json";

/** SemVer 2.0.0 (semver.org's regex) without the `+build` part. */
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?$/;
const PHASES: readonly Phase[] = ["AUTHN", "AUTHZ", "STATS", "UNSPECIFIED_PHASE"];
const STRATEGIES: readonly FailStrategy[] = ["FAIL_CLOSE", "FAIL_OPEN", "FAIL_RELOAD"];

/** The folder of a filter from its entry (`<dir>/assembly/index.ts`). */
export function filterDirOf(entry: string): string {
  return path.posix.dirname(path.posix.dirname(entry));
}

function checkKeys(obj: Record<string, unknown>, allowed: readonly string[], where: string, fail: (p: string, m: string) => never): void {
  for (const key of Object.keys(obj)) if (!allowed.includes(key)) fail(where ? `${where}.${key}` : key, "unknown field");
}

/** Validates the parsed filter.json of folder `dirName`; `file` is for messages. */
export function parseFilterMeta(raw: unknown, dirName: string, file: string): FilterMeta {
  const fail = (field: string, message: string): never => {
    throw new UserError(`${file}: ${field ? `${field}: ` : ""}${message}`);
  };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail("", "expected a JSON object");
  const obj = raw as Record<string, unknown>;
  checkKeys(obj, ["name", "version", "description", "defaults"], "", fail);
  if (obj.name !== dirName) fail("name", `must be the folder name "${dirName}", got ${JSON.stringify(obj.name)}`);
  if (typeof obj.version !== "string" || !SEMVER.test(obj.version)) {
    fail("version", `expected a SemVer version such as "1.2.3" (no +build part), got ${JSON.stringify(obj.version)}`);
  }
  if (obj.description !== undefined && typeof obj.description !== "string") fail("description", "expected a string");
  let defaults: FilterDefaults | undefined;
  if (obj.defaults !== undefined) {
    if (typeof obj.defaults !== "object" || obj.defaults === null || Array.isArray(obj.defaults)) fail("defaults", "expected an object");
    const d = obj.defaults as Record<string, unknown>;
    checkKeys(d, ["phase", "priority", "failStrategy"], "defaults", fail);
    if (d.phase !== undefined && !PHASES.includes(d.phase as Phase)) fail("defaults.phase", `expected one of ${PHASES.join(", ")}`);
    const p = d.priority;
    if (p !== undefined && !(typeof p === "number" && Number.isInteger(p) && p >= -(2 ** 31) && p <= 2 ** 31 - 1)) {
      fail("defaults.priority", "expected a 32-bit integer");
    }
    if (d.failStrategy !== undefined && !STRATEGIES.includes(d.failStrategy as FailStrategy)) {
      fail("defaults.failStrategy", `expected one of ${STRATEGIES.join(", ")}`);
    }
    defaults = { ...(d as FilterDefaults) };
  }
  return {
    name: obj.name as string,
    version: obj.version as string,
    ...(obj.description !== undefined ? { description: obj.description as string } : {}),
    ...(defaults ? { defaults } : {}),
    versionSource: "filter.json",
  };
}

/** Reads `<root>/<filterDir>/filter.json`; falls back to the package version when it is absent. */
export async function loadFilterMeta(root: string, filterDir: string, packageVersion: string): Promise<FilterMeta> {
  const rel = `${filterDir}/${FILTER_META_FILE}`;
  const name = path.posix.basename(filterDir);
  let text: string;
  try {
    text = await readFile(path.join(root, rel), "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { name, version: packageVersion, versionSource: "package.json" };
    throw new UserError(`${rel}: ${(e as Error).message}`, { cause: e });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${rel}: not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  return parseFilterMeta(raw, name, rel);
}
