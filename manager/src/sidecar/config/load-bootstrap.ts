/**
 * loadBootstrapFile: reads an Envoy bootstrap (YAML or JSON) from disk and parses it, resolving
 * relative Wasm file names against the config file's directory. An unreadable file is a
 * ConfigError at 1:1 naming the reason.
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { Bootstrap } from "./model.ts";
import { ConfigError } from "./config-error.ts";
import { parseBootstrap } from "./parse-bootstrap.ts";

export async function loadBootstrapFile(path: string, env?: Record<string, string | undefined>): Promise<Bootstrap> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const reason = err.code === "ENOENT" ? "no such file" : err.message;
    throw new ConfigError(path, [{ path: "", line: 1, column: 1, message: `cannot read config: ${reason}` }]);
  }
  return parseBootstrap(text, { sourceName: path, baseDir: dirname(resolve(path)), ...(env ? { env } : {}) });
}
