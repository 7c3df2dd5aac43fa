/**
 * Offline validation of rendered objects before anything is applied: each object is read back
 * from its YAML exactly as `kubectl apply` and the API server would read it (k8s/wasmplugin:
 * metadata rules, the OpenAPI schema with strict fields, the CEL rules, on the CRD the cluster
 * test harness serves), then checked against the real CRD of the targeted Istio release
 * (istio/versions.ts: schema and CEL rules of that release's istio.io/api) and the feature floors
 * of that release (FAIL_RELOAD from 1.27, TrafficExtension from 1.30). A failure is one line naming
 * the deployment file entry that produced the object, the object's field path and the reason.
 */
import { UserError } from "../../errors.ts";
import { crdForTarget, FEATURE_FLOORS, type IstioVersion } from "../istio/versions.ts";
import { readExtensionPlugin } from "../wasmplugin/resource.ts";
import { validateSchema } from "../wasmplugin/schema-validator.ts";
import { formatPath, ManifestError, parseManifests } from "../wasmplugin/yaml-source.ts";
import type { ExtensionPlugin } from "../wasmplugin/model.ts";
import { objectYaml } from "./output.ts";
import type { ExtensionObject } from "./render.ts";

export interface ValidationTarget {
  istioVersion: IstioVersion;
}

/** Validates one object; `origin` names what produced it (`meshwasm.yaml:12:5: plugins[1] (grpc-metrics)`). */
export function validateRendered(object: ExtensionObject, origin: string, target: ValidationTarget): ExtensionPlugin {
  const { crd, release } = crdForTarget(object.kind, target.istioVersion);
  const label = `${origin}: ${object.kind} ${object.metadata.namespace}/${object.metadata.name}`;
  const text = objectYaml(object);
  let model: ExtensionPlugin | null;
  try {
    model = readExtensionPlugin(parseManifests(text, "rendered")[0]!, object.metadata.namespace);
  } catch (e) {
    if (e instanceof ManifestError) throw new UserError(`${label}: ${e.fieldPath ? `${e.fieldPath}: ` : ""}${e.reason}`, { cause: e });
    throw e;
  }
  const { apiVersion: _a, kind: _k, metadata: _m, ...body } = object;
  const version = crd.versions.find((v) => `${crd.group}/${v.name}` === object.apiVersion && v.served);
  if (!version) throw new UserError(`${label}: apiVersion ${object.apiVersion} is not served by istio.io/api ${release}`);
  const issues = validateSchema(body, version.schema);
  if (issues.length) {
    const first = issues[0]!;
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
    throw new UserError(`${label}: ${formatPath(first.path)}: ${first.message}${more} (istio.io/api ${release} CRD)`);
  }
  if (model!.failStrategy === "FAIL_RELOAD" && target.istioVersion.minor < FEATURE_FLOORS.failReload) {
    throw new UserError(`${label}: spec.${object.kind === "WasmPlugin" ? "" : "wasm."}failStrategy: FAIL_RELOAD needs Istio >= 1.${FEATURE_FLOORS.failReload}; the target is Istio ${target.istioVersion.text}`);
  }
  return model!;
}
