/**
 * grpc-auth policies: read (GrpcAuthPolicy YAML or gRFC A43 JSON), validate with file:line:col and
 * field paths, compile to the filter's canonical pluginConfig, evaluate with the TypeScript
 * reference evaluator, and run through the real filter (.wasm) in the proxy-wasm host.
 *
 * `loadPolicy(text, file)` picks the format: a document with `apiVersion`/`kind` is a
 * GrpcAuthPolicy; a JSON object with `allow_rules` or `deny_rules` and no `apiVersion` is gRFC A43.
 */
import { readFile } from "node:fs/promises";
import { UserError } from "../errors.ts";
import type { Policy } from "./model.ts";
import { readA43 } from "./read-a43.ts";
import { readPolicy } from "./read-policy.ts";
import { parseSource, type SourceNode } from "./source.ts";

export * from "./model.ts";
export { compilePolicy, canonicalJson, pluginConfigObject } from "./compile.ts";
export { PolicyError, formatIssue, type PolicyIssue } from "./source.ts";
export { hashApiKey, hashPassword, DEFAULT_ITERATIONS } from "./secrets.ts";

export type PolicyFormat = "GrpcAuthPolicy" | "gRFC A43";

function isA43(root: SourceNode): boolean {
  if (root.kind !== "map") return false;
  const keys = root.entries.map((e) => e.key);
  return !keys.includes("apiVersion") && !keys.includes("kind") && (keys.includes("allow_rules") || keys.includes("deny_rules"));
}

/** Reads policy text; throws PolicyError (a UserError) with every problem found. */
export function loadPolicy(text: string, file: string): { policy: Policy; format: PolicyFormat } {
  const root = parseSource(text, file);
  if (isA43(root)) return { policy: readA43(root, file), format: "gRFC A43" };
  return { policy: readPolicy(root, file), format: "GrpcAuthPolicy" };
}

export async function loadPolicyFile(file: string): Promise<{ policy: Policy; format: PolicyFormat }> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new UserError(`${file}: cannot read the policy: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return loadPolicy(text, file);
}
