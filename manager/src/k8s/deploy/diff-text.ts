/**
 * What `diff` and `deploy --dry-run` print (pure): an object as it is in the cluster against what
 * the API server says it would become (server-side dry run), both without server-kept fields
 * (status, managedFields, resourceVersion, uid, generation, creationTimestamp), as a unified diff
 * of their YAML (the longest common subsequence of lines, three lines of context), headed
 * `--- live/<kind>/<ns>/<name>` / `+++ desired/<kind>/<ns>/<name>` as `kubectl diff` heads its own.
 */
import { objectYaml } from "../render/output.ts";

const SERVER_META = ["managedFields", "resourceVersion", "uid", "generation", "creationTimestamp", "selfLink"];

/** The object without what the server keeps for itself; undefined stays undefined. */
export function normalize(object: unknown): Record<string, unknown> | undefined {
  if (!object || typeof object !== "object") return undefined;
  const { status: _s, ...rest } = object as Record<string, unknown>;
  const meta = { ...((rest.metadata as Record<string, unknown>) ?? {}) };
  for (const k of SERVER_META) delete meta[k];
  if (meta.annotations && Object.keys(meta.annotations as object).length === 0) delete meta.annotations;
  return { ...rest, metadata: meta };
}

function lcsTable(a: string[], b: string[]): Uint32Array {
  const w = b.length + 1;
  const t = new Uint32Array((a.length + 1) * w);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      t[i * w + j] = a[i] === b[j] ? t[(i + 1) * w + j + 1]! + 1 : Math.max(t[(i + 1) * w + j]!, t[i * w + j + 1]!);
    }
  }
  return t;
}

/** Unified diff of two texts; "" when equal. */
export function unifiedDiff(before: string, after: string, fromName: string, toName: string, context = 3): string {
  if (before === after) return "";
  const a = before === "" ? [] : before.replace(/\n$/, "").split("\n");
  const b = after === "" ? [] : after.replace(/\n$/, "").split("\n");
  const t = lcsTable(a, b);
  const w = b.length + 1;
  const ops: Array<{ op: " " | "-" | "+"; line: string; ai: number; bi: number }> = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) ops.push({ op: " ", line: a[i]!, ai: i++, bi: j++ });
    else if (i < a.length && (j >= b.length || t[(i + 1) * w + j]! >= t[i * w + j + 1]!)) ops.push({ op: "-", line: a[i]!, ai: i++, bi: j });
    else ops.push({ op: "+", line: b[j]!, ai: i, bi: j++ });
  }
  let out = `--- ${fromName}\n+++ ${toName}\n`;
  for (let k = 0; k < ops.length; ) {
    if (ops[k]!.op === " ") {
      k++;
      continue;
    }
    let start = Math.max(0, k - context);
    let end = k;
    while (end < ops.length) {
      if (ops[end]!.op !== " ") {
        end++;
        continue;
      }
      let run = 0;
      while (end + run < ops.length && ops[end + run]!.op === " ") run++;
      if (end + run >= ops.length || run > 2 * context) {
        end = Math.min(ops.length, end + context);
        break;
      }
      end += run;
    }
    const hunk = ops.slice(start, end);
    const aStart = hunk[0]!.ai;
    const bStart = hunk[0]!.bi;
    const aLen = hunk.filter((o) => o.op !== "+").length;
    const bLen = hunk.filter((o) => o.op !== "-").length;
    out += `@@ -${aLen ? aStart + 1 : aStart},${aLen} +${bLen ? bStart + 1 : bStart},${bLen} @@\n`;
    for (const o of hunk) out += `${o.op}${o.line}\n`;
    k = end;
    start = end;
  }
  return out;
}

/** The diff of one object (either side may be absent: a creation or a deletion). */
export function objectDiff(live: unknown, desired: unknown, id: string): string {
  const a = normalize(live);
  const b = normalize(desired);
  return unifiedDiff(a ? objectYaml(a) : "", b ? objectYaml(b) : "", a ? `live/${id}` : "/dev/null", b ? `desired/${id}` : "/dev/null");
}
