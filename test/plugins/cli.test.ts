/**
 * `meshwasm sidecar --plugins DIR` as a user runs it (the real bin): a WasmPlugin that violates
 * the CRD schema, a bad --labels value, and --labels without --plugins each print one line and
 * exit 1; a valid directory starts and prints the listener.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { envoyConfig, writeEnvoyConfig, type WrittenConfig } from "../support/envoy-config.ts";
import { parseLabels } from "../../manager/src/sidecar/plugins/cli-options.ts";
import { wasmPluginYaml } from "./support.ts";

const BIN = "manager/bin/meshwasm.mjs";

function run(args: string[], untilStdout?: RegExp): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      if (untilStdout?.test(stdout)) child.kill("SIGTERM");
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

let written: WrittenConfig | undefined;
let dir: string | undefined;
afterEach(async () => {
  await written?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
  written = undefined;
  dir = undefined;
});

async function setup(files: Record<string, string>): Promise<{ config: string; dir: string }> {
  written = await writeEnvoyConfig(envoyConfig({ clusters: [{ name: "backend", ports: [1] }] }));
  dir = await mkdtemp(path.join(tmpdir(), "meshwasm-plugins-cli-"));
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return { config: written.path, dir };
}

function expectOneLineError(r: { code: number | null; stderr: string }, pattern: RegExp): void {
  expect(r.code).toBe(1);
  const lines = r.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^meshwasm: /);
  expect(lines[0]).toMatch(pattern);
}

describe("meshwasm sidecar --plugins", () => {
  it("a WasmPlugin violating the CRD schema: one line with file:line:col and the field path, exit 1", async () => {
    const s = await setup({ "guard.yaml": wasmPluginYaml({ name: "guard", url: "ftp://example.com/guard.wasm" }) });
    const r = await run(["sidecar", "-c", s.config, "--plugins", s.dir]);
    expectOneLineError(r, /guard\.yaml:6:8: spec\.url: Invalid value: "ftp:\/\/example\.com\/guard\.wasm": url must have schema one of \[http, https, file, oci\]$/);
  }, 40_000);

  it("a bad --labels value, and --labels without --plugins: one line, exit 1", async () => {
    const s = await setup({});
    expectOneLineError(await run(["sidecar", "-c", s.config, "--plugins", s.dir, "--labels", "app=check out"]), /--labels: "check out" is not a valid value for label app$/);
    expectOneLineError(await run(["sidecar", "-c", s.config, "--labels", "app=x"]), /--labels needs --plugins DIR$/);
    expectOneLineError(await run(["sidecar", "-c", s.config, "--plugins", path.join(s.dir, "nope")]), /--plugins .*nope: no such directory$/);
  }, 60_000);

  it("starts with a valid directory", async () => {
    const s = await setup({ "none.yaml": "# no plugins yet\n" });
    const r = await run(["sidecar", "-c", s.config, "--plugins", s.dir, "--labels", "app=checkout", "--labels", "version=v2"], /listener /);
    expect(r.stdout).toMatch(/^listener ingress on 127\.0\.0\.1:\d+$/m);
  }, 40_000);
});

describe("parseLabels", () => {
  it("reads k=v lists, later keys winning, and checks keys as Kubernetes does", () => {
    expect(parseLabels(["app=checkout, version=v1", "version=v2,example.com/team=core"])).toEqual({ app: "checkout", version: "v2", "example.com/team": "core" });
    expect(() => parseLabels(["app"])).toThrow(/expected key=value, got "app"/);
    expect(() => parseLabels(["-bad=x"])).toThrow(/"-bad" is not a valid label key/);
    expect(() => parseLabels(["Example.com/x=y"])).toThrow(/not a valid label key/);
  });
});
