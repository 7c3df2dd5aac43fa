/**
 * Rendered objects as YAML that kubectl, Argo CD and Flux read back exactly: YAML 1.1 output (so
 * strings such as "yes", "on" or "0777" are quoted and stay strings for sigs.k8s.io/yaml), keys in
 * the order the renderer built them, no line folding, documents separated by `---`, a trailing
 * newline. `renderFileName` gives the file of one object when writing a folder.
 */
import { Document } from "yaml";

export function objectYaml(object: unknown): string {
  const doc = new Document(object, { version: "1.1" });
  return doc.toString({ lineWidth: 0, minContentWidth: 0 });
}

/** A multi-document stream, with an optional comment header (each line prefixed "# "). */
export function yamlStream(objects: unknown[], header: string[] = []): string {
  const head = header.map((l) => `# ${l}\n`).join("");
  return head + objects.map((o) => `---\n${objectYaml(o)}`).join("");
}

export function renderFileName(object: { kind: string; metadata: { name: string } }): string {
  return `${object.kind.toLowerCase()}-${object.metadata.name}.yaml`;
}
