/**
 * Field readers over the position-annotated tree, applying the protobuf JSON mapping Envoy uses
 * (MessageUtil::loadFromJson with case_insensitive_enum_parsing): field names in snake_case or
 * lowerCamelCase, null meaning "not set", integers as numbers or decimal strings, enums by name
 * in any letter case or by number, durations as "<seconds>[.<fraction>]s".
 * Every reader records problems in the Ctx instead of throwing, so all errors are collected.
 * A field left unread when a message is finished is "not supported by the local sidecar" when
 * Envoy has it, else "unknown field".
 */
import type { ConfigIssue } from "./config-error.ts";
import type { MapEntry, Position, SourceFormat, TreeNode } from "./source-tree.ts";
import { envoyFieldsOf } from "./envoy-fields.ts";

export const NOT_SUPPORTED = "not supported by the local sidecar";

export class Ctx {
  readonly issues: ConfigIssue[] = [];
  /** Every cluster named by a route, checked against static_resources.clusters at the end. */
  readonly clusterRefs: Array<{ name: string; path: string; at: Position }> = [];
  constructor(
    readonly format: SourceFormat,
    readonly baseDir: string,
    readonly env: Record<string, string | undefined>,
  ) {}

  error(path: string, at: Position, message: string): void {
    this.issues.push({ path, line: at.line, column: at.col, message });
  }
}

/** A value in the tree with its field path. */
export interface At {
  node: TreeNode;
  path: string;
}

/** Protobuf's json_name: "port_value" -> "portValue", "consecutive_5xx" -> "consecutive5xx". */
export function jsonName(field: string): string {
  return field.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

export function joinPath(parent: string, key: string): string {
  return parent ? `${parent}.${key}` : key;
}

/** One protobuf message being read: tracks which fields were consumed. */
export class Message {
  private readonly used = new Set<MapEntry>();
  private readonly duplicates = new Set<MapEntry>();
  constructor(
    readonly ctx: Ctx,
    readonly node: TreeNode & { kind: "map" },
    readonly path: string,
    /** Envoy message type, e.g. "envoy.config.listener.v3.Listener"; selects the known-field list. */
    readonly type: string,
    /** Path prefix for fields (differs from `path` when a TypedStruct wraps the body). */
    readonly fieldPrefix: string = path,
  ) {}

  private entry(name: string): MapEntry | undefined {
    const camel = jsonName(name);
    let found: MapEntry | undefined;
    for (const e of this.node.entries) {
      if (e.key === name || e.key === camel) {
        if (found) {
          if (!this.duplicates.has(e)) {
            this.duplicates.add(e);
            this.ctx.error(joinPath(this.fieldPrefix, e.key), e.keyPos, `field given twice (also as ${found.key})`);
          }
          this.used.add(e);
          continue;
        }
        found = e;
      }
    }
    return found;
  }

  /** True when the field is present and not null. Does not consume it. */
  has(name: string): boolean {
    const e = this.entry(name);
    return e !== undefined && !(e.value.kind === "scalar" && e.value.value === null);
  }

  /** Consumes the field; undefined when absent or null. */
  get(name: string): At | undefined {
    const e = this.entry(name);
    if (!e) return undefined;
    this.used.add(e);
    if (e.value.kind === "scalar" && e.value.value === null) return undefined;
    return { node: e.value, path: joinPath(this.fieldPrefix, e.key) };
  }

  /** Path a missing field would have (for "required" errors). */
  pathOf(name: string): string {
    return joinPath(this.fieldPrefix, name);
  }

  /** Position of the field's key, or of the message when absent. */
  posOf(name: string): Position {
    return this.entry(name)?.keyPos ?? this.node;
  }

  /** Marks a present field as consumed and reports it as unsupported. */
  unsupported(name: string, why?: string): void {
    const e = this.entry(name);
    if (!e) return;
    this.used.add(e);
    this.ctx.error(joinPath(this.fieldPrefix, e.key), e.keyPos, why ? `${NOT_SUPPORTED}: ${why}` : NOT_SUPPORTED);
  }

  required(name: string, what = "is required"): void {
    this.ctx.error(this.pathOf(name), this.node, what);
  }

  /** Reports every field not consumed. */
  done(): void {
    const known = envoyFieldsOf(this.type);
    for (const e of this.node.entries) {
      if (this.used.has(e) || e.key === "@type") continue;
      const isEnvoy = known.some((f) => f === e.key || jsonName(f) === e.key);
      this.ctx.error(joinPath(this.fieldPrefix, e.key), e.keyPos, isEnvoy ? NOT_SUPPORTED : "unknown field");
    }
  }
}

/** Opens a message value; reports "expected object" otherwise. */
export function asMessage(ctx: Ctx, at: At, type: string): Message | undefined {
  if (at.node.kind !== "map") {
    ctx.error(at.path, at.node, "expected object");
    return undefined;
  }
  return new Message(ctx, at.node, at.path, type);
}

export function msg(m: Message, name: string, type: string): Message | undefined {
  const at = m.get(name);
  return at ? asMessage(m.ctx, at, type) : undefined;
}

export function list(m: Message, name: string): At[] {
  const at = m.get(name);
  if (!at) return [];
  if (at.node.kind !== "seq") {
    m.ctx.error(at.path, at.node, "expected list");
    return [];
  }
  return at.node.items.map((node, i) => ({ node, path: `${at.path}[${i}]` }));
}

export function listOfMessages(m: Message, name: string, type: string): Message[] {
  const out: Message[] = [];
  for (const at of list(m, name)) {
    const sub = asMessage(m.ctx, at, type);
    if (sub) out.push(sub);
  }
  return out;
}

// ---- scalars ---------------------------------------------------------------------------------

export function stringValue(ctx: Ctx, at: At): string | undefined {
  if (at.node.kind === "scalar" && typeof at.node.value === "string") return at.node.value;
  ctx.error(at.path, at.node, "expected string");
  return undefined;
}

export function str(m: Message, name: string, opts: { required?: boolean; minLen?: number } = {}): string | undefined {
  const at = m.get(name);
  if (!at) {
    if (opts.required) m.required(name);
    return undefined;
  }
  const v = stringValue(m.ctx, at);
  if (v !== undefined && opts.minLen !== undefined && v.length < opts.minLen) {
    m.ctx.error(at.path, at.node, opts.minLen === 1 ? "must not be empty" : `must be at least ${opts.minLen} characters`);
    return undefined;
  }
  return v;
}

export function stringList(m: Message, name: string): Array<{ value: string; at: At }> {
  const out: Array<{ value: string; at: At }> = [];
  for (const at of list(m, name)) {
    const v = stringValue(m.ctx, at);
    if (v !== undefined) out.push({ value: v, at });
  }
  return out;
}

export function intValue(ctx: Ctx, at: At, range: { min?: number; max?: number } = {}): number | undefined {
  const n = at.node;
  let v: number | undefined;
  if (n.kind === "scalar") {
    if (typeof n.value === "number" && Number.isInteger(n.value)) v = n.value;
    else if (typeof n.value === "string" && /^-?\d+$/.test(n.value.trim())) v = Number(n.value.trim());
  }
  if (v === undefined) {
    ctx.error(at.path, n, "expected integer");
    return undefined;
  }
  const { min, max } = range;
  if ((min !== undefined && v < min) || (max !== undefined && v > max)) {
    const msgText =
      min !== undefined && max !== undefined
        ? `must be between ${min} and ${max}`
        : min !== undefined
          ? `must be at least ${min}`
          : `must be at most ${max}`;
    ctx.error(at.path, n, `${msgText} (got ${v})`);
    return undefined;
  }
  return v;
}

export const UINT32_MAX = 4294967295;

/** uint32 / UInt32Value field. */
export function u32(m: Message, name: string, range: { min?: number; max?: number } = {}): number | undefined {
  const at = m.get(name);
  if (!at) return undefined;
  return intValue(m.ctx, at, { min: range.min ?? 0, max: range.max ?? UINT32_MAX });
}

/** A double / DoubleValue: a JSON number or a numeric string. */
export function numberValue(ctx: Ctx, at: At): number | undefined {
  const n = at.node;
  if (n.kind === "scalar") {
    if (typeof n.value === "number") return n.value;
    if (typeof n.value === "string" && n.value.trim() !== "" && Number.isFinite(Number(n.value))) return Number(n.value);
  }
  ctx.error(at.path, n, "expected number");
  return undefined;
}

const YAML_TRUE = new Set(["true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y"]);
const YAML_FALSE = new Set(["false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N"]);

export function bool(m: Message, name: string): boolean | undefined {
  const at = m.get(name);
  if (!at) return undefined;
  const n = at.node;
  if (n.kind === "scalar") {
    if (typeof n.value === "boolean") return n.value;
    // yaml-cpp (Envoy's YAML reader) also decodes these plain scalars as booleans.
    if (m.ctx.format === "yaml" && typeof n.value === "string" && !n.quoted) {
      if (YAML_TRUE.has(n.value)) return true;
      if (YAML_FALSE.has(n.value)) return false;
    }
  }
  m.ctx.error(at.path, n, "expected boolean");
  return undefined;
}

/**
 * An enum field: a name in any letter case (Envoy parses JSON with case_insensitive_enum_parsing)
 * or its number. `values[i]` is the name of number i (undefined for gaps).
 */
export function enumValue<T extends string>(
  m: Message,
  name: string,
  values: ReadonlyArray<T | undefined>,
): T | undefined {
  const at = m.get(name);
  if (!at) return undefined;
  return enumOf(m.ctx, at, values);
}

export function enumOf<T extends string>(ctx: Ctx, at: At, values: ReadonlyArray<T | undefined>): T | undefined {
  const n = at.node;
  const names = values.filter((v): v is T => v !== undefined);
  if (n.kind === "scalar") {
    if (typeof n.value === "number" && Number.isInteger(n.value)) {
      const v = values[n.value];
      if (v !== undefined) return v;
    } else if (typeof n.value === "string") {
      const upper = n.value.toUpperCase();
      const v = names.find((x) => x === upper);
      if (v !== undefined) return v;
      if (/^\d+$/.test(n.value) && values[Number(n.value)] !== undefined) return values[Number(n.value)];
    }
  }
  ctx.error(at.path, n, `invalid value ${JSON.stringify(n.kind === "scalar" ? n.value : n.kind)}; expected one of ${names.join(", ")}`);
  return undefined;
}

// ---- durations -------------------------------------------------------------------------------

const DURATION = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;
/** Protobuf's Duration range: +-315,576,000,000 seconds. */
const MAX_DURATION_SECONDS = 315576000000;

/** A google.protobuf.Duration in ms: "1.5s" or {seconds, nanos}. */
export function durationValue(ctx: Ctx, at: At): number | undefined {
  const n = at.node;
  if (n.kind === "scalar" && typeof n.value === "string") {
    const m = DURATION.exec(n.value.trim());
    if (m) {
      const seconds = Number(m[2]);
      if (seconds > MAX_DURATION_SECONDS) {
        ctx.error(at.path, n, "duration out of range");
        return undefined;
      }
      const nanos = m[3] ? Number(m[3].padEnd(9, "0")) : 0;
      const ms = seconds * 1000 + nanos / 1e6;
      return m[1] ? -ms : ms;
    }
  }
  if (n.kind === "map") {
    const msgr = new Message(ctx, n, at.path, "google.protobuf.Duration");
    const sAt = msgr.get("seconds");
    const nAt = msgr.get("nanos");
    const seconds = sAt ? intValue(ctx, sAt, { min: -MAX_DURATION_SECONDS, max: MAX_DURATION_SECONDS }) : 0;
    const nanos = nAt ? intValue(ctx, nAt, { min: -999999999, max: 999999999 }) : 0;
    msgr.done();
    if (seconds === undefined || nanos === undefined) return undefined;
    return seconds * 1000 + nanos / 1e6;
  }
  ctx.error(at.path, n, `invalid duration ${JSON.stringify(n.kind === "scalar" ? n.value : n.kind)}; expected e.g. "0.25s", "1s", "3600s"`);
  return undefined;
}

/** A Duration field in ms. Rejects negative values; `gt0` also rejects zero (PGV `gt: {}`). */
export function duration(m: Message, name: string, opts: { gt0?: boolean; required?: boolean; minMs?: number } = {}): number | undefined {
  const at = m.get(name);
  if (!at) {
    if (opts.required) m.required(name);
    return undefined;
  }
  const ms = durationValue(m.ctx, at);
  if (ms === undefined) return undefined;
  if (ms < 0) {
    m.ctx.error(at.path, at.node, "must not be negative");
    return undefined;
  }
  if (opts.gt0 && ms === 0) {
    m.ctx.error(at.path, at.node, "must be greater than 0s");
    return undefined;
  }
  if (opts.minMs !== undefined && ms < opts.minMs) {
    m.ctx.error(at.path, at.node, `must be at least ${opts.minMs / 1000}s`);
    return undefined;
  }
  return ms;
}
