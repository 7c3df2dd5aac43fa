/**
 * Module customization hook (Node's `module.register`, https://nodejs.org/api/module.html#customization-hooks)
 * that loads ES modules from node_modules as plain Node would, ahead of tsx's hooks.
 *
 * Contract: for a `file:` URL under a `node_modules` folder that resolved to format "module" and
 * ends in .js or .mjs, `load` returns the file's bytes unchanged (short-circuit); every other URL
 * goes on to the next hook (tsx for the project's TypeScript, then Node's default).
 *
 * Why: tsx rewrites the dynamic imports of every ES module it loads and attaches a generated source
 * map, dependencies included. For binaryen's 13.5 MB index.js (loaded by `assemblyscript/asc`)
 * that took about 9 CPU-seconds and 1.5 GB of memory, against 0.5 s for Node alone. Published
 * packages need neither TypeScript nor tsx's import rewriting, so they skip it. Written as plain
 * JavaScript: it runs on Node's hooks thread, before and apart from the TypeScript it speeds up.
 */
import { readFile } from "node:fs/promises";

const PLAIN_MODULE = /\/node_modules\/.+\.m?js$/;

/** @type {import("node:module").LoadHook} */
export async function load(url, context, nextLoad) {
  if (context.format === "module" && url.startsWith("file:")) {
    const file = new URL(url);
    if (file.search === "" && PLAIN_MODULE.test(file.pathname)) {
      return { format: "module", source: await readFile(file), shortCircuit: true };
    }
  }
  return nextLoad(url, context);
}
