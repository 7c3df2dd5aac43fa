/**
 * Policy sources read with positions: YAML 1.2 (core schema) or JSON text -> a tree whose every
 * node knows its line and column, through the `yaml` package's document API (LineCounter). JSON
 * is read by the same parser (JSON is YAML 1.2) after JSON.parse has accepted it, so a JSON
 * policy also gets positions. Duplicate keys are errors, as in kubectl and Envoy.
 *
 * `PolicyError` is the one error type of manager/src/policy: every problem found, each as
 * `<file>:<line>:<col>: <field path>: <message>`; its message is the first one on one line
 * (and how many more). Values of fields are never echoed in messages (a policy may hold keys).
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, Scalar, type Node as YamlNode } from "yaml";
import { UserError } from "../errors.ts";

export interface Position {
  line: number;
  col: number;
}

export interface MapEntry {
  key: string;
  keyPos: Position;
  value: SourceNode;
}

export type SourceNode =
  | (Position & { kind: "map"; entries: MapEntry[] })
  | (Position & { kind: "seq"; items: SourceNode[] })
  | (Position & { kind: "scalar"; value: string | number | boolean | null; quoted: boolean });

export interface PolicyIssue {
  line: number;
  col: number;
  /** `spec.rules[2].methods[0]`; "" for syntax errors. */
  path: string;
  message: string;
}

export function formatIssue(file: string, issue: PolicyIssue): string {
  const where = `${file}:${issue.line}:${issue.col}`;
  return issue.path ? `${where}: ${issue.path}: ${issue.message}` : `${where}: ${issue.message}`;
}

/** Every problem of one policy (or cases) file; the message names the first. */
export class PolicyError extends UserError {
  constructor(
    readonly file: string,
    readonly issues: PolicyIssue[],
  ) {
    super(
      issues.length === 0
        ? `${file}: invalid policy`
        : formatIssue(file, issues[0]!) + (issues.length > 1 ? ` (and ${issues.length - 1} more)` : ""),
    );
  }
  /** Every issue, one per line. */
  lines(): string[] {
    return this.issues.map((i) => formatIssue(this.file, i));
  }
}

const firstLine = (s: string) => s.split("\n")[0]!.trim();

/** JSON.parse's complaint about `text` at an offset, or undefined when it parses. */
function jsonError(text: string): { offset: number; message: string } | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch (e) {
    const message = (e as Error).message;
    const m = /position (\d+)/.exec(message);
    return { offset: m ? Number(m[1]) : 0, message: message.replace(/ in JSON at position \d+.*$/, "").replace(/ \(line \d+ column \d+\)$/, "") };
  }
}

/** Parses policy text (YAML, or JSON when `json` or the text starts with "{") into a tree. */
export function parseSource(text: string, file: string, json = /^\s*\{/.test(text)): SourceNode {
  const lineCounter = new LineCounter();
  const posOf = (offset: number): Position => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, col: p.col };
  };
  if (json) {
    const err = jsonError(text);
    if (err) {
      const before = text.slice(0, err.offset).split("\n");
      throw new PolicyError(file, [{ line: before.length, col: before[before.length - 1]!.length + 1, path: "", message: `invalid JSON: ${err.message}` }]);
    }
  }
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, version: "1.2" });
  if (doc.errors.length > 0) {
    throw new PolicyError(
      file,
      doc.errors.map((e) => ({ ...posOf(e.pos[0]), path: "", message: `invalid YAML: ${firstLine(e.message)}` })),
    );
  }
  const convert = (node: unknown, fallback: Position): SourceNode => {
    if (isAlias(node)) return convert(node.resolve(doc), fallback);
    const yn = node as YamlNode | null | undefined;
    const pos = yn?.range ? posOf(yn.range[0]) : fallback;
    if (isMap(yn)) {
      const entries: MapEntry[] = [];
      for (const pair of yn.items) {
        const keyNode = pair.key as YamlNode | null;
        const keyPos = keyNode?.range ? posOf(keyNode.range[0]) : pos;
        const key = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
        entries.push({ key, keyPos, value: convert(pair.value, keyPos) });
      }
      return { kind: "map", entries, ...pos };
    }
    if (isSeq(yn)) return { kind: "seq", items: yn.items.map((i) => convert(i, pos)), ...pos };
    if (isScalar(yn)) {
      const v = yn.value;
      const value = typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? v : v === null || v === undefined ? null : String(v);
      const quoted = yn.type === Scalar.QUOTE_DOUBLE || yn.type === Scalar.QUOTE_SINGLE;
      return { kind: "scalar", value, quoted, ...pos };
    }
    return { kind: "scalar", value: null, quoted: false, ...pos };
  };
  return convert(doc.contents, { line: 1, col: 1 });
}

/** `a.b[2].c`: the path of a key under `base`. */
export function keyPath(base: string, key: string): string {
  const plain = /^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key);
  if (!plain) return `${base}[${JSON.stringify(key)}]`;
  return base === "" ? key : `${base}.${key}`;
}

export function indexPath(base: string, i: number): string {
  return `${base}[${i}]`;
}

const kindName = (n: SourceNode): string => {
  if (n.kind === "map") return "mapping";
  if (n.kind === "seq") return "list";
  if (n.value === null) return "null";
  return typeof n.value === "string" ? "string" : typeof n.value;
};

/**
 * Collects issues while a tree is read. Readers return undefined after recording an issue, so
 * validation continues and reports every problem in one run.
 */
export class Issues {
  readonly list: PolicyIssue[] = [];
  add(at: Position, path: string, message: string): undefined {
    this.list.push({ line: at.line, col: at.col, path, message });
    return undefined;
  }
  get ok(): boolean {
    return this.list.length === 0;
  }
  throwIfAny(file: string): void {
    if (this.list.length > 0) {
      const sorted = [...this.list].sort((a, b) => a.line - b.line || a.col - b.col);
      throw new PolicyError(file, sorted);
    }
  }
}

/** A mapping being read: field access with types, unknown-field and required checks. */
export class MapReader {
  readonly seen = new Set<string>();
  constructor(
    readonly node: SourceNode & { kind: "map" },
    readonly path: string,
    readonly issues: Issues,
  ) {}

  static of(node: SourceNode, path: string, issues: Issues): MapReader | undefined {
    if (node.kind !== "map") return issues.add(node, path, `expected a mapping, got ${kindName(node)}`);
    return new MapReader(node, path, issues);
  }

  entry(key: string): MapEntry | undefined {
    this.seen.add(key);
    return this.node.entries.find((e) => e.key === key);
  }
  has(key: string): boolean {
    return this.node.entries.some((e) => e.key === key);
  }
  at(key: string): string {
    return keyPath(this.path, key);
  }
  /** Records an unknown field for every key not in `known`. */
  unknown(known: string[]): void {
    for (const e of this.node.entries) {
      if (!known.includes(e.key)) this.issues.add(e.keyPos, keyPath(this.path, e.key), `unknown field (known: ${known.join(", ")})`);
    }
  }
  fail(key: string, message: string): undefined {
    const e = this.node.entries.find((x) => x.key === key);
    return this.issues.add(e ? e.value : this.node, this.at(key), message);
  }
  /** The value node, or undefined (recorded when required). A YAML null counts as absent. */
  valueNode(key: string, required: boolean, what: string): SourceNode | undefined {
    const e = this.entry(key);
    if (!e || (e.value.kind === "scalar" && e.value.value === null)) {
      if (required) this.issues.add(e ? e.value : this.node, this.at(key), `missing, expected ${what}`);
      return undefined;
    }
    return e.value;
  }
  string(key: string, required = false): string | undefined {
    const n = this.valueNode(key, required, "a string");
    return n && readString(n, this.at(key), this.issues);
  }
  boolean(key: string): boolean | undefined {
    const n = this.valueNode(key, false, "true or false");
    if (!n) return undefined;
    if (n.kind !== "scalar" || typeof n.value !== "boolean") return this.issues.add(n, this.at(key), `expected true or false, got ${kindName(n)}`);
    return n.value;
  }
  integer(key: string, min: number, max: number, required = false): number | undefined {
    const n = this.valueNode(key, required, "an integer");
    if (!n) return undefined;
    if (n.kind !== "scalar" || typeof n.value !== "number" || !Number.isSafeInteger(n.value)) {
      return this.issues.add(n, this.at(key), `expected an integer, got ${kindName(n)}`);
    }
    if (n.value < min || n.value > max) return this.issues.add(n, this.at(key), `expected an integer in [${min}, ${max}], got ${n.value}`);
    return n.value;
  }
  oneOf<T extends string>(key: string, allowed: readonly T[], required = false): T | undefined {
    const n = this.valueNode(key, required, `one of ${allowed.join(", ")}`);
    if (!n) return undefined;
    if (n.kind !== "scalar" || typeof n.value !== "string" || !allowed.includes(n.value as T)) {
      return this.issues.add(n, this.at(key), `expected one of ${allowed.join(", ")}`);
    }
    return n.value as T;
  }
  map(key: string, required = false): MapReader | undefined {
    const n = this.valueNode(key, required, "a mapping");
    return n && MapReader.of(n, this.at(key), this.issues);
  }
  /** A list's items with their paths; undefined when absent or not a list. */
  list(key: string, required = false, nonEmpty = false): Array<{ node: SourceNode; path: string }> | undefined {
    const n = this.valueNode(key, required, "a list");
    if (!n) return undefined;
    if (n.kind !== "seq") return this.issues.add(n, this.at(key), `expected a list, got ${kindName(n)}`);
    if (nonEmpty && n.items.length === 0) return this.issues.add(n, this.at(key), "must not be empty");
    return n.items.map((node, i) => ({ node, path: indexPath(this.at(key), i) }));
  }
  /** A list of strings (every bad item recorded); undefined when absent or any item is bad. */
  strings(key: string, required = false, nonEmpty = false): Array<{ value: string; node: SourceNode; path: string }> | undefined {
    const items = this.list(key, required, nonEmpty);
    if (!items) return undefined;
    const out: Array<{ value: string; node: SourceNode; path: string }> = [];
    let good = true;
    for (const it of items) {
      const s = readString(it.node, it.path, this.issues);
      if (s === undefined) good = false;
      else out.push({ value: s, node: it.node, path: it.path });
    }
    return good ? out : undefined;
  }
}

export function readString(n: SourceNode, path: string, issues: Issues): string | undefined {
  if (n.kind !== "scalar" || typeof n.value !== "string") return issues.add(n, path, `expected a string, got ${kindName(n)}`);
  return n.value;
}

/** The plain value of a tree (for JWKs handed to node:crypto and for canonical output). */
export function toPlain(node: SourceNode): unknown {
  switch (node.kind) {
    case "map":
      return Object.fromEntries(node.entries.map((e) => [e.key, toPlain(e.value)]));
    case "seq":
      return node.items.map(toPlain);
    case "scalar":
      return node.value;
  }
}
