/**
 * The objects a revision is applied as (pure): for each of the revision's targets, the rendered
 * object with the target's name, its per-workload selector (if any), the `meshwasm.io/workload`
 * label and the `meshwasm.io/revision` annotation. Also: a revision made from a rendered plugin,
 * and whether a live object already holds what a revision would write.
 */
import type { ExtensionObject, RenderedPlugin } from "../render/render.ts";
import { GROUP_VERSION, REVISION_ANNOTATION, WORKLOAD_LABEL } from "../render/render.ts";
import { specForObject, type ObjectTarget, type Revision } from "../history/model.ts";
import type { LiveObject } from "../cluster/client.ts";

export function objectFor(revision: Revision, target: ObjectTarget, namespace: string): ExtensionObject {
  return {
    apiVersion: GROUP_VERSION,
    kind: revision.kind,
    metadata: {
      name: target.name,
      namespace,
      labels: { ...revision.labels, ...(target.workload ? { [WORKLOAD_LABEL]: target.workload } : {}) },
      annotations: { ...revision.annotations, [REVISION_ANNOTATION]: String(revision.revision) },
    },
    spec: specForObject(revision, target),
  };
}

export function revisionFrom(rendered: RenderedPlugin, number: number, objects: ObjectTarget[], who: string, when: Date): Revision {
  return {
    revision: number,
    kind: rendered.object.kind,
    filter: rendered.filter,
    digest: rendered.digest,
    ...(rendered.version ? { version: rendered.version } : {}),
    configSha256: rendered.configSha256,
    labels: { ...rendered.object.metadata.labels },
    annotations: { ...(rendered.object.metadata.annotations ?? {}) },
    spec: rendered.object.spec,
    objects,
    who,
    when: when.toISOString(),
    outcome: "in-progress",
  };
}

/** Canonical JSON (sorted keys) for comparisons. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

/** Same kind, spec, targets, labels and annotations: applying `b` after `a` changes nothing. */
export function sameContent(a: Revision, b: Revision): boolean {
  const key = (r: Revision) => canonical([r.kind, r.spec, r.objects, r.labels, r.annotations]);
  return key(a) === key(b);
}

/** Whether a live object holds the spec, labels and annotations `desired` would apply. */
export function liveMatches(live: LiveObject | undefined, desired: ExtensionObject): boolean {
  if (!live) return false;
  const meta = live.metadata ?? {};
  const sub = (want: Record<string, string> | undefined, have: Record<string, string> | undefined) => Object.entries(want ?? {}).every(([k, v]) => have?.[k] === v);
  return canonical(live.spec ?? {}) === canonical(desired.spec) && sub(desired.metadata.labels, meta.labels) && sub(desired.metadata.annotations, meta.annotations);
}
