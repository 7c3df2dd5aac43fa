/**
 * Finds the filters to build: every `filters/<name>/assembly/index.ts` and
 * `filters/examples/<name>/assembly/index.ts` (never `filters/sdk`). Names must be unique,
 * kebab-case, and become the output name `build/filters/<name>.wasm`. Sorted by name.
 */
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { UserError } from "../errors.ts";

export interface FilterSource {
  name: string;
  /** Entry file relative to the repository root, with forward slashes. */
  entry: string;
}

const NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

async function subdirs(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return [];
  }
}

export async function discoverFilters(root: string): Promise<FilterSource[]> {
  const found: FilterSource[] = [];
  for (const base of ["filters", "filters/examples"]) {
    for (const dir of await subdirs(path.join(root, base))) {
      if (base === "filters" && (dir === "sdk" || dir === "examples")) continue;
      const entry = `${base}/${dir}/assembly/index.ts`;
      if (!(await isFile(path.join(root, entry)))) continue;
      if (!NAME.test(dir)) throw new UserError(`filter folder name "${dir}" is not kebab-case (${entry})`);
      const clash = found.find((f) => f.name === dir);
      if (clash) throw new UserError(`two filters are named "${dir}": ${clash.entry} and ${entry}`);
      found.push({ name: dir, entry });
    }
  }
  return found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
