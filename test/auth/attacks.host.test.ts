/**
 * The attack suite (attack-cases.ts) in the proxy-wasm host: each case through the real filter,
 * asserting the exact grpc-status, the rule (filter state wasm.grpc_auth_rule and the grpc-message)
 * and that grpc_auth_decisions_total{auth_rule, auth_decision, grpc_code} moved by exactly one —
 * and that the reference evaluator agrees. Plus the values only a host can inject (NUL, CR, LF).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluate } from "../../manager/src/policy/evaluate.ts";
import type { Policy } from "../../manager/src/policy/index.ts";
import type { AuthCall, PolicyRunner } from "../../manager/src/policy/wasm-runner.ts";
import { decisions, runnerFor } from "../../filters/grpc-auth/test/harness.ts";
import { fixturePolicyYaml, ISS } from "../../filters/grpc-auth/test/fixture.ts";
import { ATTACKS, GO_CODES, HOST_ONLY, now, type AttackCase } from "./attack-cases.ts";

let runner: PolicyRunner;
let policy: Policy;
beforeAll(async () => {
  ({ runner, policy } = await runnerFor(fixturePolicyYaml()));
}, 180_000);
afterAll(async () => runner?.close());

function toCall(c: AttackCase): AuthCall {
  const metadata: Array<[string, string]> = [...(c.metadata ?? [])].map(([k, v]) => [k.toLowerCase(), v]);
  if (c.token) metadata.push(["authorization", `Bearer ${c.token()}`]);
  const call: AuthCall = { path: c.path, metadata, nowSeconds: now() };
  if (c.peer !== undefined) call.peer = c.peer;
  if (c.mesh) call.jwtAuthn = { payload: { iss: ISS.mesh, exp: now() + 600, ...c.mesh } };
  if (c.contentType !== undefined) call.contentType = c.contentType;
  return call;
}

describe("attack suite in the proxy-wasm host", () => {
  for (const c of [...ATTACKS, ...HOST_ONLY]) {
    it(c.name, () => {
      const decision = c.expect.code === 0 ? "allowed" : "denied";
      const before = decisions(runner, c.expect.rule, decision, GO_CODES[c.expect.code]);
      const call = toCall(c);
      const o = runner.run(call);
      expect({ code: o.code, rule: o.rule }).toEqual({ code: c.expect.code, rule: c.expect.rule });
      if (c.expect.code !== 0) {
        expect(o.message).toContain(`(rule "${c.expect.rule}")`);
        if (c.expect.message) expect(o.message).toContain(c.expect.message);
      }
      expect(decisions(runner, c.expect.rule, decision, GO_CODES[c.expect.code])).toBe(before + 1n);
      const ref = evaluate(policy, call);
      expect({ code: ref.code, rule: ref.rule }).toEqual({ code: c.expect.code, rule: c.expect.rule });
    });
  }
});
