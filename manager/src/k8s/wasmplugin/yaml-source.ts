/**
 * Kubernetes manifests read as kubectl reads them (sigs.k8s.io/yaml over go-yaml: YAML 1.1
 * scalars, so `yes`/`on` are booleans; duplicate keys refused; `---` separates documents; empty
 * documents skipped), keeping each node's position so that every later error can name
 * `file:line:col` and a field path.
 *
 * `parseManifests(text, file)` returns one `SourceDocument` per non-empty document: its plain
 * value and `positionOf(path)` / `keyPositionOf(path)` for a path of keys and indices (the
 * nearest existing ancestor when the path does not exist). Malformed YAML is a ManifestError at
 * the parser's position.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Node as YamlNode } from "yaml";

/** A key of a map-valued field (additionalProperties), written `[key]` as the API server does. */
export interface MapKey {
  mapKey: string;
}

export type FieldPath = ReadonlyArray<string | number | MapKey>;

export interface Position {
  line: number;
  col: number;
}

export interface SourceDocument {
  file: string;
  /** 0-based index among the file's documents. */
  index: number;
  value: unknown;
  positionOf(path: FieldPath): Position;
  keyPositionOf(path: FieldPath): Position;
}

/** A problem located in a manifest: `file:line:col: path: message` on one line. */
export class ManifestError extends Error {
  override readonly name = "ManifestError";
  constructor(
    readonly file: string,
    readonly position: Position,
    readonly fieldPath: string,
    readonly reason: string,
  ) {
    super(`${file}:${position.line}:${position.col}: ${fieldPath ? `${fieldPath}: ` : ""}${reason}`);
  }
}

/** `spec.match[0].ports[1].number`, `spec.selector.matchLabels[app]` */
export function formatPath(path: FieldPath): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : typeof p === "object" ? `[${p.mapKey}]` : out === "" ? p : `.${p}`;
  return out;
}

const firstLine = (s: string) => s.split("\n")[0]!.trim();

export function parseManifests(text: string, file: string): SourceDocument[] {
  const lineCounter = new LineCounter();
  const pos = (offset: number): Position => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, col: p.col };
  };
  const docs = parseAllDocuments(text, { lineCounter, uniqueKeys: true, prettyErrors: false, version: "1.1", merge: true });
  const out: SourceDocument[] = [];
  for (const doc of docs) {
    const err = doc.errors[0];
    if (err) throw new ManifestError(file, pos(err.pos[0]), "", firstLine(err.message));
    if (doc.contents === null) continue;
    const value = doc.toJS({ maxAliasCount: 100 }) as unknown;
    if (value === null || value === undefined) continue;
    const root = doc.contents as YamlNode;
    const walk = (path: FieldPath, wantKey: boolean): Position => {
      let node: YamlNode = root;
      let keyOffset: number | undefined;
      for (const raw of path) {
        const step = typeof raw === "object" ? raw.mapKey : raw;
        let next: YamlNode | undefined;
        keyOffset = undefined;
        if (isMap(node)) {
          for (const item of node.items) {
            if (isPair(item) && isScalar(item.key) && String(item.key.value) === String(step)) {
              keyOffset = (item.key as YamlNode).range?.[0];
              next = (item.value as YamlNode | null) ?? undefined;
              if (!next) return pos(keyOffset ?? 0);
              break;
            }
          }
        } else if (isSeq(node) && typeof step === "number") {
          next = (node.items[step] as YamlNode | undefined) ?? undefined;
        }
        if (!next) return pos(node.range?.[0] ?? 0);
        node = next;
      }
      if (wantKey && keyOffset !== undefined) return pos(keyOffset);
      return pos(node.range?.[0] ?? 0);
    };
    out.push({
      file,
      index: out.length,
      value,
      positionOf: (path) => walk(path, false),
      keyPositionOf: (path) => walk(path, true),
    });
  }
  return out;
}
