/**
 * One manifest document -> a validated `ExtensionPlugin`, or the errors the API server (and
 * `kubectl apply`'s strict field validation) would give, each located `file:line:col` with its
 * field path.
 *
 * - `apiVersion` / `kind` must name a vendored CRD (WasmPlugin, TrafficExtension) and one of its
 *   served versions; any other kind is `null` (not ours: `--plugins` ignores it).
 * - `metadata`: `name` required, an RFC 1123 subdomain; `namespace` an RFC 1123 label; label
 *   values as Kubernetes allows; unknown metadata fields are errors.
 * - The rest of the object is validated against the CRD's OpenAPI schema and its CEL rules
 *   (schema-validator.ts), then read into the model (model.ts).
 */
import { createHash } from "node:crypto";
import { ISTIO_EXTENSION_CRDS } from "../crds/istio-extensions.gen.ts";
import type { CrdDefinition } from "../crds/types.ts";
import type { EnvVar, ExtensionPlugin, PolicyTargetRef, TrafficSelector } from "./model.ts";
import { validateSchema, type SchemaIssue } from "./schema-validator.ts";
import { formatPath, ManifestError, type SourceDocument } from "./yaml-source.ts";

const META_FIELDS = new Set(["name", "generateName", "namespace", "labels", "annotations", "uid", "resourceVersion", "generation",
  "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences", "finalizers", "managedFields", "selfLink"]);
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** The CRD for `apiVersion`/`kind`, or null when it is not one of ours. */
export function crdFor(apiVersion: unknown, kind: unknown): { crd: CrdDefinition; version: string } | null {
  const crd = typeof kind === "string" ? ISTIO_EXTENSION_CRDS[kind] : undefined;
  if (!crd || typeof apiVersion !== "string") return null;
  const [group, version] = apiVersion.split("/");
  if (group !== crd.group || !version) return null;
  return { crd, version };
}

function metadataIssues(meta: unknown): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  if (meta === undefined || meta === null) return [{ path: ["metadata", "name"], message: "Required value: name or generateName is required" }];
  if (typeof meta !== "object" || Array.isArray(meta)) return [{ path: ["metadata"], message: 'Invalid value: must be of type object' }];
  const m = meta as Record<string, unknown>;
  for (const k of Object.keys(m)) if (!META_FIELDS.has(k)) issues.push({ path: ["metadata", k], atKey: true, message: "unknown field" });
  if (typeof m.name !== "string" || m.name === "") issues.push({ path: ["metadata", "name"], message: "Required value: name or generateName is required" });
  else if (m.name.length > 253 || !DNS1123_SUBDOMAIN.test(m.name)) {
    issues.push({ path: ["metadata", "name"], message: `Invalid value: ${JSON.stringify(m.name)}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character` });
  }
  if (m.namespace !== undefined && (typeof m.namespace !== "string" || m.namespace.length > 63 || !DNS1123_LABEL.test(m.namespace))) {
    issues.push({ path: ["metadata", "namespace"], message: `Invalid value: ${JSON.stringify(m.namespace)}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character` });
  }
  if (m.labels !== undefined) {
    if (typeof m.labels !== "object" || m.labels === null || Array.isArray(m.labels)) issues.push({ path: ["metadata", "labels"], message: "Invalid value: must be of type object" });
    else for (const [, v] of Object.entries(m.labels)) {
      if (typeof v !== "string" || v.length > 63 || !LABEL_VALUE.test(v)) issues.push({ path: ["metadata", "labels"], message: `Invalid value: ${JSON.stringify(v)}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character` });
    }
  }
  return issues;
}

/** Validates one document; null when it is not a WasmPlugin/TrafficExtension. */
export function readExtensionPlugin(doc: SourceDocument, defaultNamespace: string): ExtensionPlugin | null {
  const value = doc.value as Record<string, unknown>;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ManifestError(doc.file, doc.positionOf([]), "", "expected a Kubernetes object (a YAML mapping)");
  }
  const target = crdFor(value.apiVersion, value.kind);
  if (!target) return null;
  const fail = (issues: SchemaIssue[]): never => {
    const first = issues[0]!;
    const pos = first.atKey ? doc.keyPositionOf(first.path) : doc.positionOf(first.path);
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
    throw new ManifestError(doc.file, pos, formatPath(first.path), `${first.message}${more}`);
  };
  const version = target.crd.versions.find((v) => v.name === target.version && v.served);
  if (!version) {
    fail([{ path: ["apiVersion"], message: `Unsupported value: ${JSON.stringify(value.apiVersion)}: served versions: ${target.crd.versions.filter((v) => v.served).map((v) => `${target.crd.group}/${v.name}`).join(", ")}` }]);
  }
  const { apiVersion: _a, kind: _k, metadata, ...body } = value;
  const issues = [...metadataIssues(metadata), ...validateSchema(body, version!.schema)];
  if (issues.length) fail(issues);
  const meta = metadata as Record<string, unknown>;
  const spec = body.spec as Record<string, unknown>;
  const kind = target.crd.kind as "WasmPlugin" | "TrafficExtension";
  const wasm = kind === "WasmPlugin" ? spec : (spec.wasm as Record<string, unknown> | undefined);
  if (!wasm) {
    throw new ManifestError(doc.file, doc.keyPositionOf(["spec", "lua"]), "spec.lua", "a Lua TrafficExtension is not supported by the local sidecar (only Wasm)");
  }
  const pos = doc.positionOf([]);
  const created = typeof meta.creationTimestamp === "string" ? Date.parse(meta.creationTimestamp) : NaN;
  const selector = (spec.selector as { matchLabels?: Record<string, string> } | undefined)?.matchLabels;
  const refs = [...((spec.targetRefs as PolicyTargetRef[] | undefined) ?? []), ...(spec.targetRef ? [spec.targetRef as PolicyTargetRef] : [])];
  const env = (((wasm.vmConfig as { env?: Array<Partial<EnvVar>> } | undefined)?.env) ?? []).map((e) => ({
    name: e.name!,
    valueFrom: e.valueFrom ?? "INLINE",
    value: e.value ?? "",
  }));
  const match: TrafficSelector[] = ((spec.match as Array<{ mode?: TrafficSelector["mode"]; ports?: Array<{ number: number }> }> | undefined) ?? []).map((m) => ({
    mode: m.mode ?? "UNDEFINED",
    ports: (m.ports ?? []).map((p) => p.number),
  }));
  return {
    kind,
    name: meta.name as string,
    namespace: (meta.namespace as string | undefined) ?? defaultNamespace,
    createdAt: Number.isNaN(created) ? 0 : created,
    resourceVersion: typeof meta.resourceVersion === "string" ? meta.resourceVersion : createHash("sha256").update(JSON.stringify(spec)).digest("hex").slice(0, 16),
    url: wasm.url as string,
    sha256: (wasm.sha256 as string | undefined) ?? "",
    imagePullPolicy: (wasm.imagePullPolicy as ExtensionPlugin["imagePullPolicy"] | undefined) ?? "UNSPECIFIED_POLICY",
    imagePullSecret: (wasm.imagePullSecret as string | undefined) ?? "",
    ...(wasm.pluginConfig !== undefined ? { pluginConfig: wasm.pluginConfig as Record<string, unknown> } : {}),
    pluginName: (wasm.pluginName as string | undefined) ?? "",
    // TrafficExtension names the unspecified phase UNSPECIFIED; WasmPlugin UNSPECIFIED_PHASE.
    phase: spec.phase === "UNSPECIFIED" ? "UNSPECIFIED_PHASE" : ((spec.phase as ExtensionPlugin["phase"] | undefined) ?? "UNSPECIFIED_PHASE"),
    priority: typeof spec.priority === "number" ? spec.priority : null,
    failStrategy: (wasm.failStrategy as ExtensionPlugin["failStrategy"] | undefined) ?? "FAIL_CLOSE",
    type: (wasm.type as ExtensionPlugin["type"] | undefined) ?? "UNSPECIFIED_PLUGIN_TYPE",
    env,
    match,
    ...(selector !== undefined || spec.selector !== undefined ? { selector: selector ?? {} } : {}),
    targetRefs: refs.map((r) => ({ group: r.group ?? "", kind: r.kind, name: r.name })),
    source: `${doc.file}:${pos.line}:${pos.col}`,
  };
}
