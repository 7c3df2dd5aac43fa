/**
 * Reads asconfig.json and turns one target into asc command-line flags.
 *
 * asc's own `--config/--target` handling merges array options (e.g. `use`) and cannot drop one,
 * and targets cannot carry entries, so the build resolves targets itself: options ⊕
 * targets[<filter>] (or the generic `release` / `debug` target) and passes explicit flags with
 * asc's own config lookup disabled. The same resolution serves tests (`compileAssemblyScript`).
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { UserError } from "../errors.ts";

export type AscOptionValue = boolean | number | string | string[];
export type AscOptions = Record<string, AscOptionValue>;

export interface AsConfig {
  options?: AscOptions;
  targets?: Record<string, AscOptions>;
}

export async function loadAsConfig(root: string): Promise<AsConfig> {
  const file = path.join(root, "asconfig.json");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new UserError(`could not read asconfig.json: ${(err as Error).message}`, { cause: err });
  }
  try {
    return JSON.parse(text) as AsConfig;
  } catch (err) {
    throw new UserError(`asconfig.json is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

/** Options of `target` merged over the shared options; falls back to `fallback` when absent. */
export function resolveTarget(config: AsConfig, target: string, fallback: string): { name: string; options: AscOptions } {
  const targets = config.targets ?? {};
  const name = target in targets ? target : fallback;
  if (!(name in targets)) throw new UserError(`asconfig.json has no target "${target}" or "${fallback}"`);
  return { name, options: { ...(config.options ?? {}), ...targets[name] } };
}

/** asc flags for `options` (booleans as switches, arrays repeated); `omit` drops keys. */
export function toAscArgs(options: AscOptions, omit: readonly string[] = []): string[] {
  const args: string[] = [];
  for (const [key, value] of Object.entries(options)) {
    if (omit.includes(key)) continue;
    if (value === false) continue;
    if (value === true) args.push(`--${key}`);
    else if (Array.isArray(value)) for (const v of value) args.push(`--${key}`, v);
    else args.push(`--${key}`, String(value));
  }
  return args;
}
