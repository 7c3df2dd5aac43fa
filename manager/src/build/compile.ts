/**
 * In-memory AssemblyScript compilation through the compiler API (`asc.main`). Nothing is written
 * to disk: asc's writeFile hook captures the binary. asc's implicit asconfig.json lookup is
 * disabled (a config name that resolves to nothing), so exactly the flags given apply.
 * The compiler (assemblyscript + binaryen, 14 MB of JavaScript) is imported on the first compile,
 * so importing this module (for REPO_ROOT, say) costs nothing.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { UserError } from "../errors.ts";
import { loadAsConfig, resolveTarget, toAscArgs } from "./asconfig.ts";

/** Repository root (where asconfig.json and filters/ live). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

const NO_CONFIG = "<no-asconfig>.json";
const OUT_NAME = "module.wasm";

export interface CompileOptions {
  /** asconfig.json target to use (default "release"); missing targets fall back to release/debug. */
  target?: string;
  /** Compile the debug variant (falls back to the "debug" target). */
  debug?: boolean;
  /** Extra asc flags, appended last. */
  extraArgs?: string[];
  /** asconfig keys to ignore (e.g. "use" for a module that does not include the SDK). */
  omitOptions?: string[];
  /** Repository root; default REPO_ROOT. */
  root?: string;
  /** Virtual source files (path relative to root -> text), for modules that exist only in memory. */
  sources?: Record<string, string>;
  /** Told of every source file asc asks for (absolute path) and what it got (null: no such file). */
  onRead?: (file: string, text: string | null) => void;
}

/** Compiles `entryFile` (relative to the root, or absolute) and returns the .wasm bytes. */
export async function compileAssemblyScript(entryFile: string, options: CompileOptions = {}): Promise<Uint8Array> {
  const root = options.root ?? REPO_ROOT;
  const config = await loadAsConfig(root);
  const fallback = options.debug ? "debug" : "release";
  const { options: ascOptions } = resolveTarget(config, options.target ?? fallback, fallback);
  const entry = path.isAbsolute(entryFile) ? path.relative(root, entryFile) : entryFile;
  const argv = [
    entry.split(path.sep).join("/"),
    "--baseDir", root,
    "--config", NO_CONFIG,
    "--outFile", OUT_NAME,
    ...toAscArgs(ascOptions, [...(options.omitOptions ?? []), "outFile", "textFile", "sourceMap", "bindings"]),
    ...(options.extraArgs ?? []),
  ];
  let binary: Uint8Array | undefined;
  const log: string[] = [];
  const sink = { write: (chunk: string | Uint8Array) => { log.push(String(chunk)); return true; } };
  const virtual = options.sources ?? {};
  const { default: asc } = await import("assemblyscript/asc");
  const result = await asc.main(argv, {
    stdout: sink,
    stderr: sink,
    readFile: async (filename: string, baseDir: string) => {
      if (filename === NO_CONFIG) return null;
      const file = path.resolve(baseDir, filename);
      const rel = path.relative(root, file).split(path.sep).join("/");
      if (rel in virtual) return virtual[rel]!;
      const text = await readFile(file, "utf8").catch(() => null);
      options.onRead?.(file, text);
      return text;
    },
    writeFile: (filename: string, contents: Uint8Array | string) => {
      if (path.basename(filename) === OUT_NAME && typeof contents !== "string") binary = contents;
    },
  });
  if (result.error || !binary) {
    const detail = log.join("").trim() || String(result.error ?? "no output produced");
    throw new UserError(`could not compile ${entry}:\n${detail}`, { cause: result.error ?? undefined });
  }
  return binary;
}
