/**
 * Test support for grpc-auth in the proxy-wasm host: the release build of the filter (compiled once
 * per test file), a PolicyRunner per policy (manager/src/policy/wasm-runner.ts: the same runner
 * `meshwasm policy test` uses), and readers for the filter's counters.
 */
import { compileAssemblyScript } from "../../../manager/src/build/index.ts";
import { compilePolicy, loadPolicy, type Policy } from "../../../manager/src/policy/index.ts";
import { FILTER_ENTRY, PolicyRunner } from "../../../manager/src/policy/wasm-runner.ts";

let compiled: Promise<Uint8Array> | undefined;
/** The release build (as `meshwasm build` makes it). */
export function authWasm(): Promise<Uint8Array> {
  return (compiled ??= compileAssemblyScript(FILTER_ENTRY, { target: "grpc-auth" }));
}

export function policyOf(yaml: string): Policy {
  return loadPolicy(yaml, "policy.yaml").policy;
}

export async function runnerFor(yaml: string, opts: { logLevel?: number } = {}): Promise<{ runner: PolicyRunner; policy: Policy }> {
  const policy = policyOf(yaml);
  const runner = await PolicyRunner.create(compilePolicy(policy), { wasm: await authWasm(), ...(opts.logLevel !== undefined ? { logLevel: opts.logLevel } : {}) });
  return { runner, policy };
}

/** `wasmcustom.a=.=1;.;b=.=2;.;base` -> { name: "base", labels }. */
export function parseStatName(full: string): { name: string; labels: Record<string, string> } {
  const rest = full.startsWith("wasmcustom.") ? full.slice("wasmcustom.".length) : full;
  const parts = rest.split(";.;");
  const labels: Record<string, string> = {};
  for (const p of parts.slice(0, -1)) {
    const i = p.indexOf("=.=");
    labels[p.slice(0, i)] = p.slice(i + 3);
  }
  return { name: parts[parts.length - 1]!, labels };
}

/** Sum of the counters named `name` whose labels include `labels`. */
export function counter(runner: PolicyRunner, name: string, labels: Record<string, string> = {}): bigint {
  let sum = 0n;
  for (const [full, v] of runner.counters()) {
    const s = parseStatName(full);
    if (s.name === name && Object.entries(labels).every(([k, x]) => s.labels[k] === x)) sum += v;
  }
  return sum;
}

/** A decision counter: grpc_auth_decisions_total{auth_rule, auth_decision, grpc_code}. */
export function decisions(runner: PolicyRunner, rule: string, decision: string, code?: string): bigint {
  return counter(runner, "grpc_auth_decisions_total", { auth_rule: rule, auth_decision: decision, ...(code ? { grpc_code: code } : {}) });
}
