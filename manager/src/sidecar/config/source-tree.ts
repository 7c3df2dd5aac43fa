/**
 * Parses bootstrap text (YAML or JSON) into a position-annotated tree, so every later error
 * can name `<line>:<col>`. Malformed input is a ConfigError carrying the parser's own position
 * and message. JSON is checked with JSON.parse (strict, as Envoy's protobuf JSON parser is)
 * and then read with the YAML parser, of which JSON is a subset, to get positions.
 * Envoy reads YAML with yaml-cpp; scalars keep their YAML 1.2 core-schema types here and the
 * field readers apply protobuf JSON conversions (e.g. quoted integers) on top.
 */
import { LineCounter, parseDocument, isAlias, isMap, isScalar, isSeq, Scalar } from "yaml";
import type { Node as YamlNode } from "yaml";
import { ConfigError } from "./config-error.ts";
import { findJsonError } from "./json-check.ts";

export interface Position {
  line: number;
  col: number;
}

export interface MapEntry {
  key: string;
  keyPos: Position;
  value: TreeNode;
}

export type TreeNode =
  | (Position & { kind: "map"; entries: MapEntry[] })
  | (Position & { kind: "seq"; items: TreeNode[] })
  | (Position & { kind: "scalar"; value: string | number | boolean | null; quoted: boolean });

export type SourceFormat = "yaml" | "json";

export interface ParsedSource {
  root: TreeNode;
  format: SourceFormat;
}

/** Picks the format from the file name, else from the first non-blank character. */
export function detectFormat(sourceName: string, text: string): SourceFormat {
  const lower = sourceName.toLowerCase();
  if (lower.endsWith(".json")) return "json";
  if (lower.endsWith(".yaml") || lower.endsWith(".yml")) return "yaml";
  const first = text.trimStart()[0];
  return first === "{" || first === "[" ? "json" : "yaml";
}

export function parseSource(text: string, sourceName: string, format: SourceFormat): ParsedSource {
  const lineCounter = new LineCounter();
  const posOf = (offset: number): Position => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, col: p.col };
  };
  if (format === "json") checkJson(text, sourceName);
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, version: "1.2" });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      sourceName,
      doc.errors.map((e) => {
        const p = posOf(e.pos[0]);
        return { path: "", line: p.line, column: p.col, message: firstLine(e.message) };
      }),
    );
  }
  const convert = (node: unknown, fallback: Position): TreeNode => {
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
      const value = typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? v : v === null ? null : String(v);
      const quoted = yn.type === Scalar.QUOTE_DOUBLE || yn.type === Scalar.QUOTE_SINGLE;
      return { kind: "scalar", value, quoted, ...pos };
    }
    return { kind: "scalar", value: null, quoted: false, ...pos };
  };
  const root = convert(doc.contents, { line: 1, col: 1 });
  return { root, format };
}

/** The plain JavaScript value of a tree, for Bootstrap.raw (/config_dump). */
export function toPlain(node: TreeNode): unknown {
  switch (node.kind) {
    case "map":
      return Object.fromEntries(node.entries.map((e) => [e.key, toPlain(e.value)]));
    case "seq":
      return node.items.map(toPlain);
    case "scalar":
      return node.value;
  }
}

function checkJson(text: string, sourceName: string): void {
  const err = findJsonError(text);
  if (!err) return;
  const before = text.slice(0, err.offset).split("\n");
  const line = before.length;
  const column = before[before.length - 1]!.length + 1;
  throw new ConfigError(sourceName, [{ path: "", line, column, message: `invalid JSON: ${err.message}` }]);
}

function firstLine(s: string): string {
  return s.split("\n")[0]!.trim();
}
