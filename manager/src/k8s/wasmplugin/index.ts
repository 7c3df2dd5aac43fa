/**
 * WasmPlugin resources, pure: read manifests with positions, validate them against the vendored
 * Istio CRD schema and CEL rules, and plan where istiod would place them in a proxy's filter
 * chain. No I/O beyond what the caller hands in.
 */
export { parseManifests, ManifestError, formatPath } from "./yaml-source.ts";
export type { SourceDocument, FieldPath, Position } from "./yaml-source.ts";
export { readExtensionPlugin, crdFor } from "./resource.ts";
export { validateSchema } from "./schema-validator.ts";
export type { SchemaIssue } from "./schema-validator.ts";
export { evaluateRule } from "./cel-rules.ts";
export { parseRequestUri, isUrl, GoUrlError } from "./go-url.ts";
export { planFilterChain, matchesListener, workloadMismatch, configOrder, envoyPluginConfig, structJson, DEFAULT_ROOT_NAMESPACE, PHASE_ORDER } from "./plan.ts";
export type { Workload, ListenerInfo, ListenerClass, EnvoyWasmPlugin } from "./plan.ts";
export { resourceName, envoyFilterName } from "./model.ts";
export type * from "./model.ts";
export { ISTIO_API_VERSION, ISTIO_EXTENSION_CRDS } from "../crds/istio-extensions.gen.ts";

import { parseManifests } from "./yaml-source.ts";
import { readExtensionPlugin } from "./resource.ts";
import type { ExtensionPlugin } from "./model.ts";

/** Every WasmPlugin / TrafficExtension in a manifest file's text, validated (throws ManifestError). */
export function readPluginManifests(text: string, file: string, defaultNamespace: string): ExtensionPlugin[] {
  const out: ExtensionPlugin[] = [];
  for (const doc of parseManifests(text, file)) {
    const p = readExtensionPlugin(doc, defaultNamespace);
    if (p) out.push(p);
  }
  return out;
}
