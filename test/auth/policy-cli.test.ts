/**
 * `meshwasm policy` through the bin, as a user runs it: check (and --config), test on the example
 * policy and cases (a table, exit 0; a wrong expectation, exit 1 naming the case's line), explain,
 * hash from standard input (the hashes verify), and one-line errors with file:line:col.
 */
import { spawn } from "node:child_process";
import { pbkdf2Sync, createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authWasm } from "../../filters/grpc-auth/test/harness.ts";

const BIN = "manager/bin/meshwasm.mjs";
const POLICY = "filters/grpc-auth/examples/demo-policy.yaml";
const CASES = "filters/grpc-auth/examples/demo-cases.yaml";

function run(args: string[], stdin = ""): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

let dir: string;
let wasm: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "meshwasm-policy-cli-"));
  wasm = join(dir, "grpc-auth.wasm");
  await writeFile(wasm, await authWasm());
}, 180_000);
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe("meshwasm policy", () => {
  it("check validates and prints the canonical pluginConfig", async () => {
    const ok = await run(["policy", "check", POLICY]);
    expect(ok).toMatchObject({ code: 0, stdout: `${POLICY}: valid GrpcAuthPolicy "demo-inventory": 8 rules, 2 API key(s), 2 user(s), 1 JWT provider(s)\n` });
    const cfg = await run(["policy", "check", POLICY, "--config"]);
    expect(cfg.code).toBe(0);
    expect(JSON.parse(cfg.stdout)).toMatchObject({ version: 1, policy: "demo-inventory" });
  });

  it("check names file, line, column and field of a bad policy, on one line, exit 1", async () => {
    const bad = join(dir, "bad.yaml");
    await writeFile(bad, `apiVersion: meshwasm.io/v1alpha1\nkind: GrpcAuthPolicy\nmetadata: { name: b }\nspec:\n  rules:\n    - { name: r, action: ALLOW, methods: ["/a.B/C*"] }\n`);
    const r = await run(["policy", "check", bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`meshwasm: ${bad}:6:43: spec.rules[0].methods[0]: expected /package.Service/Method, /package.Service/*, /package.* or * (a method wildcard is the whole segment: "/a.B/*")\n`);
  });

  it("test runs the example cases on the filter: a table and exit 0", async () => {
    const r = await run(["policy", "test", POLICY, "--cases", CASES, "--module", wasm]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\s+case\s+method\s+expected\s+got\s+result\n/);
    expect(r.stdout).toContain("13 cases, 13 passed, 0 failed");
    expect(r.stdout).toMatch(/5\s+the reporting key may not reserve\s+\/meshwasm.demo.v1.Inventory\/ReserveItem\s+PERMISSION_DENIED no-reservations-for-reporting\s+PERMISSION_DENIED no-reservations-for-reporting\s+pass/);
  });

  it("test exits 1 and names the case and its line when an expectation does not hold", async () => {
    const cases = join(dir, "cases.yaml");
    await writeFile(cases, `cases:\n  - name: fine\n    method: /grpc.health.v1.Health/Check\n    expect: { code: OK }\n  - name: wrong\n    method: /meshwasm.demo.v1.Inventory/GetItem\n    expect: { code: OK, rule: inventory-read }\n`);
    const r = await run(["policy", "test", POLICY, "--cases", cases, "--module", wasm]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${cases}:5: case "wrong": code: expected OK, got UNAUTHENTICATED; rule: expected inventory-read, got _default`);
    expect(r.stdout).toContain("2 cases, 1 passed, 1 failed");
  });

  it("test rejects a malformed cases file with its position", async () => {
    const cases = join(dir, "bad-cases.yaml");
    await writeFile(cases, `cases:\n  - name: x\n    method: /a.B/C\n    expect: { code: MAYBE }\n`);
    const r = await run(["policy", "test", POLICY, "--cases", cases, "--module", wasm]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^meshwasm: ${cases.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}:4:21: cases\\[0\\]\\.expect\\.code: expected a gRPC status: 0-16 or one of OK, CANCELLED`));
  });

  it("explain says which rule decides and why, from the filter's own trace", async () => {
    const r = await run(["policy", "explain", POLICY, "--method", "/meshwasm.demo.v1.Inventory/ReserveItem", "--api-key", "demo-reporting-key-55b0e1", "--module", wasm]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("decision:    DENY (PERMISSION_DENIED, 7)\nrule:        no-reservations-for-reporting\n");
    expect(r.stdout).toContain('  "no-reservations-for-reporting" DENY: matched');
    expect(r.stdout).toContain('why:         DENY rule "no-reservations-for-reporting" (method pattern /meshwasm.demo.v1.Inventory/ReserveItem) matched: DENY rules are evaluated first');
    expect(r.stdout).not.toContain("warning");
    expect(r.stdout).not.toContain("demo-reporting-key-55b0e1");
    const json = await run(["policy", "explain", POLICY, "--method", "/meshwasm.demo.v1.Inventory/GetItem", "--json", "--module", wasm]);
    expect(JSON.parse(json.stdout)).toMatchObject({ allowed: false, code: 16, rule: "_default", agrees: true });
  });

  it("hash turns each line of standard input into a hash that verifies", async () => {
    const keys = await run(["policy", "hash", "api-key"], "key-one\nkey-two\n");
    expect(keys.code).toBe(0);
    expect(keys.stdout).toBe(["key-one", "key-two"].map((k) => createHash("sha256").update(k).digest("hex") + "\n").join(""));
    const pw = await run(["policy", "hash", "password", "--iterations", "1000"], "correct horse\n");
    expect(pw.code).toBe(0);
    const m = /^\$pbkdf2-sha256\$i=1000\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)\n$/.exec(pw.stdout)!;
    expect(m).not.toBeNull();
    expect(pbkdf2Sync("correct horse", Buffer.from(m[1]!, "base64"), 1000, 32, "sha256").toString("base64").replace(/=+$/, "")).toBe(m[2]);
    expect(await run(["policy", "hash", "password", "--iterations", "10"], "x\n")).toMatchObject({ code: 1, stderr: "meshwasm: --iterations: expected an integer in [1000, 10000000]\n" });
    expect(await run(["policy", "hash", "api-key"], "")).toMatchObject({ code: 1, stderr: "meshwasm: policy hash: no api-key on standard input\n" });
  });
});
