/**
 * Reads the WasmPlugin manifests of a `--plugins` directory: every `*.yaml`, `*.yml` and `*.json`
 * file directly in it (sorted by name; other files and sub-directories are ignored), each read
 * and validated as kubectl + the API server would (manager/src/k8s/wasmplugin). Documents of
 * other kinds are skipped. A resource defined twice (same namespace and name) is an error naming
 * both places. Any problem is a one-line UserError: `<file>:<line>:<col>: <field path>: <reason>`.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { UserError } from "../../errors.ts";
import { ManifestError, readPluginManifests, resourceName, type ExtensionPlugin } from "../../k8s/wasmplugin/index.ts";

const MANIFEST = /\.(ya?ml|json)$/i;

export async function readPluginDirectory(dir: string, defaultNamespace: string): Promise<ExtensionPlugin[]> {
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true })).filter((d) => d.isFile() && MANIFEST.test(d.name)).map((d) => d.name).sort();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new UserError(`--plugins ${dir}: ${err.code === "ENOENT" ? "no such directory" : err.code === "ENOTDIR" ? "not a directory" : err.message}`, { cause: e });
  }
  const out: ExtensionPlugin[] = [];
  const seen = new Map<string, string>();
  for (const name of names) {
    const file = path.join(dir, name);
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (e) {
      // A file removed between listing and reading (an editor's rename) is simply gone.
      if ((e as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw new UserError(`${file}: ${(e as Error).message}`, { cause: e });
    }
    let plugins: ExtensionPlugin[];
    try {
      plugins = readPluginManifests(text, file, defaultNamespace);
    } catch (e) {
      if (e instanceof ManifestError) throw new UserError(e.message, { cause: e });
      throw e;
    }
    for (const p of plugins) {
      const id = `${p.kind}/${resourceName(p)}`;
      const first = seen.get(id);
      if (first) throw new UserError(`${p.source}: metadata.name: ${p.kind} ${resourceName(p)} is already defined at ${first}`);
      seen.set(id, p.source);
      out.push(p);
    }
  }
  return out;
}
