/**
 * envoy.config.core.v3.DataSource read at configuration time, as Envoy's
 * Config::DataSource::read does: exactly one of `filename` (read now; a relative name is
 * resolved against the config file's folder, as the sidecar does for Wasm files),
 * `inline_string`, `inline_bytes` (base64) or `environment_variable` (the variable must be
 * set). `watched_directory` (reloading) is not supported. Errors name the field path.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Ctx, Message, str, stringValue } from "./fields.ts";
import { decodeBase64 } from "./typed-config.ts";

export interface DataSourceValue {
  bytes: Uint8Array;
  /** Where it came from, for messages: the resolved file name, "<inline>" or "$VARIABLE". */
  source: string;
}

const SPECIFIERS = ["filename", "inline_bytes", "inline_string", "environment_variable"];

export function readDataSource(ctx: Ctx, m: Message): DataSourceValue | undefined {
  const given = SPECIFIERS.filter((k) => m.has(k));
  if (given.length > 1) ctx.error(m.pathOf(given[1]!), m.posOf(given[1]!), `only one of ${given.join(", ")} may be set`);
  let out: DataSourceValue | undefined;
  const fileAt = m.get("filename");
  if (fileAt) {
    const filename = stringValue(ctx, fileAt);
    if (filename !== undefined) {
      const full = resolve(ctx.baseDir, filename);
      try {
        out = { bytes: new Uint8Array(readFileSync(full)), source: full };
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        ctx.error(fileAt.path, fileAt.node, `cannot read ${full}: ${err.code === "ENOENT" ? "no such file" : err.message}`);
      }
    }
  }
  const bytesAt = m.get("inline_bytes");
  if (bytesAt) {
    const bytes = decodeBase64(ctx, bytesAt);
    if (bytes) out = { bytes, source: "<inline>" };
  }
  const inline = str(m, "inline_string");
  if (inline !== undefined) out = { bytes: new TextEncoder().encode(inline), source: "<inline>" };
  const envAt = m.get("environment_variable");
  if (envAt) {
    const name = stringValue(ctx, envAt);
    if (name !== undefined) {
      const value = ctx.env[name];
      if (value === undefined) ctx.error(envAt.path, envAt.node, `environment variable ${JSON.stringify(name)} is not set`);
      else out = { bytes: new TextEncoder().encode(value), source: `$${name}` };
    }
  }
  m.unsupported("watched_directory");
  m.done();
  if (given.length === 0) {
    m.required("filename", "one of filename, inline_string, inline_bytes or environment_variable is required");
    return undefined;
  }
  return given.length === 1 ? out : undefined;
}

/** The DataSource as text (UTF-8). */
export function readDataSourceText(ctx: Ctx, m: Message): string | undefined {
  const v = readDataSource(ctx, m);
  return v === undefined ? undefined : new TextDecoder().decode(v.bytes);
}
