/**
 * Typed reading of a YAML document with positions: each accessor checks one field and, when it is
 * wrong, throws a one-line UserError `file:line:col: field.path: what is wrong`. Used for the
 * meshwasm deployment file (config.ts); the positions come from the manifest reader
 * (k8s/wasmplugin/yaml-source.ts), which reads YAML as kubectl does.
 */
import { UserError } from "../../errors.ts";
import { formatPath, type FieldPath, type SourceDocument } from "../wasmplugin/yaml-source.ts";

export type Obj = Record<string, unknown>;

export class FieldReader {
  constructor(readonly doc: SourceDocument) {}

  /** `file:line:col` of the value at `path` (its nearest existing ancestor). */
  where(path: FieldPath): string {
    const p = this.doc.positionOf(path);
    return `${this.doc.file}:${p.line}:${p.col}`;
  }

  fail(path: FieldPath, message: string, atKey = false): never {
    const p = atKey ? this.doc.keyPositionOf(path) : this.doc.positionOf(path);
    throw new UserError(`${this.doc.file}:${p.line}:${p.col}: ${formatPath(path) ? `${formatPath(path)}: ` : ""}${message}`);
  }

  get(path: FieldPath): unknown {
    let v: unknown = this.doc.value;
    for (const step of path) {
      if (v === null || typeof v !== "object") return undefined;
      v = (v as Record<string, unknown>)[typeof step === "object" ? step.mapKey : step];
    }
    return v;
  }

  /** Refuses keys of the object at `path` that are not in `allowed`. */
  keys(path: FieldPath, allowed: readonly string[]): void {
    const v = this.get(path);
    if (v === undefined) return;
    for (const k of Object.keys(this.object(path) ?? {})) if (!allowed.includes(k)) this.fail([...path, k], `unknown field (expected one of ${allowed.join(", ")})`, true);
  }

  object(path: FieldPath, required = false): Obj | undefined {
    const v = this.get(path);
    if (v === undefined || v === null) return required ? this.fail(path, "Required value") : undefined;
    if (typeof v !== "object" || Array.isArray(v)) this.fail(path, `expected a mapping, got ${describe(v)}`);
    return v as Obj;
  }

  list(path: FieldPath, required = false): unknown[] | undefined {
    const v = this.get(path);
    if (v === undefined || v === null) return required ? this.fail(path, "Required value") : undefined;
    if (!Array.isArray(v)) this.fail(path, `expected a list, got ${describe(v)}`);
    return v as unknown[];
  }

  string(path: FieldPath, opts: { required?: boolean; pattern?: RegExp; patternText?: string } = {}): string | undefined {
    const v = this.get(path);
    if (v === undefined || v === null) return opts.required ? this.fail(path, "Required value") : undefined;
    if (typeof v !== "string") this.fail(path, `expected a string, got ${describe(v)}`);
    if (opts.pattern && !opts.pattern.test(v as string)) this.fail(path, `${JSON.stringify(v)} is not ${opts.patternText ?? `a match for ${opts.pattern}`}`);
    return v as string;
  }

  enumOf<T extends string>(path: FieldPath, values: readonly T[]): T | undefined {
    const v = this.string(path);
    if (v === undefined) return undefined;
    if (!values.includes(v as T)) this.fail(path, `unsupported value ${JSON.stringify(v)}: expected one of ${values.join(", ")}`);
    return v as T;
  }

  integer(path: FieldPath, min: number, max: number): number | undefined {
    const v = this.get(path);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v)) this.fail(path, `expected an integer, got ${describe(v)}`);
    if ((v as number) < min || (v as number) > max) this.fail(path, `${v} is out of range [${min}, ${max}]`);
    return v as number;
  }

  number(path: FieldPath, min: number, max: number): number | undefined {
    const v = this.get(path);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isFinite(v)) this.fail(path, `expected a number, got ${describe(v)}`);
    if ((v as number) < min || (v as number) > max) this.fail(path, `${v} is out of range [${min}, ${max}]`);
    return v as number;
  }

  /** A duration `90s`, `2m`, `500ms` or a number of seconds, in milliseconds. */
  duration(path: FieldPath, minMs: number, maxMs: number): number | undefined {
    const v = this.get(path);
    if (v === undefined || v === null) return undefined;
    let ms: number | undefined;
    if (typeof v === "number" && Number.isFinite(v)) ms = v * 1000;
    else if (typeof v === "string") {
      const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(v.trim());
      if (m) ms = Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
    }
    if (ms === undefined) this.fail(path, `expected a duration such as "30s", "2m" or "500ms", got ${describe(v)}`);
    if (ms! < minMs || ms! > maxMs) this.fail(path, `${JSON.stringify(v)} is out of range [${minMs / 1000}s, ${maxMs / 1000}s]`);
    return ms;
  }

  /** A map of string to string (labels). */
  stringMap(path: FieldPath): Record<string, string> | undefined {
    const o = this.object(path);
    if (!o) return undefined;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(o)) {
      if (typeof v !== "string") this.fail([...path, { mapKey: k }], `expected a string value, got ${describe(v)}`);
      out[k] = v as string;
    }
    return out;
  }
}

export function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return `${typeof v} ${JSON.stringify(v)}`;
}
