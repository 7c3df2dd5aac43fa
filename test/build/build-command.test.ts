/**
 * `meshwasm build` as a user runs it (the real bin): plain progress lines when stderr is not a
 * terminal, `--json` prints only the manifest, an unknown filter is a one-line error and exit 1.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { progressPrinter } from "../../manager/src/cli/commands/build.ts";
import type { BuiltModule } from "../../manager/src/build/index.ts";

const BIN = "manager/bin/meshwasm.mjs";
const outs: string[] = [];

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

afterAll(async () => {
  await Promise.all(outs.map((d) => rm(d, { recursive: true, force: true })));
});

describe("meshwasm build", () => {
  it("--json prints the manifest only; progress goes to stderr as plain lines", async () => {
    const out = await mkdtemp(path.join(tmpdir(), "meshwasm-build-cli-"));
    outs.push(out);
    const r = await run(["build", "noop", "--json", "--out", out]);
    expect(r.code).toBe(0);
    const manifest = JSON.parse(r.stdout) as { modules: BuiltModule[] };
    expect(manifest.modules.map((m) => m.name)).toEqual(["noop"]);
    expect(r.stdout).toBe(await readFile(path.join(out, "manifest.json"), "utf8"));
    expect(r.stderr).toBe("");
  }, 120_000);

  it("without --json: one plain line per module, then the size report", async () => {
    const out = await mkdtemp(path.join(tmpdir(), "meshwasm-build-cli-"));
    outs.push(out);
    const r = await run(["build", "noop", "--out", out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^built filters\/noop\.wasm \(release\) \d+ bytes, abi 0_2_1, version 0\.1\.0(\+[0-9a-f]{12}(\.dirty)?)?, sha256 [0-9a-f]{64}\n$/);
    expect(r.stderr).not.toContain("\r");
    expect(r.stdout).toMatch(/module\s+variant\s+bytes/);
    expect(r.stdout).toMatch(/filters\/noop\.wasm\s+release/);
  }, 120_000);

  it("an unknown filter: one line, exit 1", async () => {
    const r = await run(["build", "no-such-filter"]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^meshwasm: unknown filter\(s\): no-such-filter \(found: .*noop/)]);
  }, 60_000);

  it("on a terminal redraws one progress line in place", () => {
    let written = "";
    const print = progressPrinter({ isTTY: true, write: (s: string) => (written += s) }, () => "unused");
    const module = { name: "a", variant: "release" } as BuiltModule;
    print({ kind: "start", total: 2 });
    print({ kind: "compiling", index: 1, total: 2, name: "a", variant: "release" });
    print({ kind: "built", index: 1, total: 2, module });
    print({ kind: "compiling", index: 2, total: 2, name: "b", variant: "release" });
    print({ kind: "built", index: 2, total: 2, module: { ...module, name: "b" } });
    expect(written).toBe(
      "\r\x1b[2K[1/2] compiling a (release)…\r\x1b[2K[1/2] built a (release)\r\x1b[2K[2/2] compiling b (release)…\r\x1b[2K[2/2] built b (release)\n",
    );
  });
});
