/**
 * Regenerates `crds-by-version.gen.json`: the WasmPlugin and TrafficExtension CRD schemas (OpenAPI
 * v3 with their x-kubernetes-validations CEL rules, descriptions dropped) of several Istio
 * releases, taken from `kubernetes/customresourcedefinitions.gen.yaml` of the Go module
 * `istio.io/api` at each version (`go mod download -json istio.io/api@<version>`, the Go module
 * proxy, checksum-verified). `meshwasm render --istio-version` validates against them.
 *
 *   npx tsx manager/src/k8s/istio/generate-crds.ts [vX.Y.Z ...]
 *
 * Identical schemas are stored once (keyed by their sha256) so that releases that did not change
 * the CRDs cost nothing. Only these module versions exist on the proxy as tagged releases
 * (istio/api tags most releases without the `v` Go needs); the default list is all of them.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";

const run = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const KINDS = ["WasmPlugin", "TrafficExtension"];
const DEFAULT_VERSIONS = ["v1.24.2", "v1.29.8", "v1.30.8", "v1.31.4", "v1.32.0"];

function stripDescriptions(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(stripDescriptions);
  if (node && typeof node === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) if (k !== "description") out[k] = stripDescriptions(v);
    return out;
  }
  return node;
}

interface RawCrd {
  kind?: string;
  spec?: {
    group: string;
    names: { kind: string; plural: string };
    scope: string;
    versions: Array<{ name: string; served: boolean; storage: boolean; schema: { openAPIV3Schema: unknown } }>;
  };
}

async function crdsOf(version: string): Promise<Record<string, unknown>> {
  const { stdout } = await run("go", ["mod", "download", "-json", `istio.io/api@${version}`], { maxBuffer: 1 << 20 });
  const dir = (JSON.parse(stdout) as { Dir: string }).Dir;
  const text = await readFile(path.join(dir, "kubernetes/customresourcedefinitions.gen.yaml"), "utf8");
  const out: Record<string, unknown> = {};
  for (const doc of parseAllDocuments(text)) {
    const crd = doc.toJS() as RawCrd;
    if (crd?.kind !== "CustomResourceDefinition" || !crd.spec || !KINDS.includes(crd.spec.names.kind)) continue;
    out[crd.spec.names.kind] = {
      group: crd.spec.group,
      kind: crd.spec.names.kind,
      plural: crd.spec.names.plural,
      scope: crd.spec.scope,
      versions: crd.spec.versions.map((v) => ({ name: v.name, served: v.served, storage: v.storage, schema: stripDescriptions(v.schema.openAPIV3Schema) })),
    };
  }
  if (!out.WasmPlugin) throw new Error(`istio.io/api@${version} has no WasmPlugin CRD`);
  return out;
}

async function main(): Promise<void> {
  const versions = process.argv.length > 2 ? process.argv.slice(2) : DEFAULT_VERSIONS;
  const schemas: Record<string, unknown> = {};
  const releases: Record<string, Record<string, string>> = {};
  for (const version of versions) {
    const crds = await crdsOf(version);
    releases[version] = {};
    for (const [kind, crd] of Object.entries(crds)) {
      const json = JSON.stringify(crd);
      const id = createHash("sha256").update(json).digest("hex").slice(0, 16);
      schemas[id] = crd;
      releases[version]![kind] = id;
    }
  }
  const out = { source: "istio.io/api kubernetes/customresourcedefinitions.gen.yaml (descriptions dropped)", releases, schemas };
  await writeFile(path.join(HERE, "crds-by-version.gen.json"), JSON.stringify(out) + "\n");
  process.stdout.write(`wrote crds-by-version.gen.json: ${versions.join(", ")} (${Object.keys(schemas).length} distinct schemas)\n`);
}

await main();
