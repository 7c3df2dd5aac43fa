/**
 * `meshwasm sidecar -c <file>` on bad input, run as a user runs it (the real bin through tsx):
 * a user's mistake prints exactly one line naming the file and what is wrong, no stack trace,
 * and exits with status 1.
 */
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { join } from "node:path";
import { envoyConfig, wasmFilter, writeEnvoyConfig, type WrittenConfig } from "../support/envoy-config.ts";

const BIN = "manager/bin/meshwasm.mjs";

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

let written: WrittenConfig | undefined;
let blocker: Server | undefined;
afterEach(async () => {
  await written?.cleanup();
  written = undefined;
  await new Promise<void>((r) => (blocker ? blocker.close(() => r()) : r()));
  blocker = undefined;
});

function expectOneLineError(r: { code: number | null; stderr: string }, pattern: RegExp): void {
  expect(r.code).toBe(1);
  const lines = r.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^meshwasm: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe("meshwasm sidecar on bad input", () => {
  it("malformed YAML: file, line and column", async () => {
    written = await writeEnvoyConfig("static_resources:\n  listeners: [\n    name: x\n");
    expectOneLineError(await run(["sidecar", "-c", written.path]), /envoy\.yaml:\d+:\d+: /);
  }, 30_000);

  it("an unknown field: its path", async () => {
    const config = envoyConfig({ clusters: [{ name: "backend", ports: [1] }] }) as { static_resources: { clusters: Array<Record<string, unknown>> } };
    config.static_resources.clusters[0]!.colour = "blue";
    written = await writeEnvoyConfig(config);
    expectOneLineError(await run(["sidecar", "-c", written.path]), /static_resources\.clusters\[0\]\.colour: unknown field/);
  }, 30_000);

  it("a missing file", async () => {
    expectOneLineError(await run(["sidecar", "-c", "does-not-exist.yaml"]), /does-not-exist\.yaml/);
  }, 30_000);

  it("a Wasm plugin that rejects its configuration: the filter's path and the plugin", async () => {
    // `npm test` builds the filters first.
    const filter = wasmFilter({ name: "add-header", filename: join(process.cwd(), "build", "filters", "add-header.wasm"), configuration: "colour=blue" });
    written = await writeEnvoyConfig(envoyConfig({ clusters: [{ name: "backend", ports: [1] }], httpFilters: [filter] }));
    expectOneLineError(await run(["sidecar", "-c", written.path]), /http_filters\[0\].*add-header.*on_configure returned false \(plugin log: add-header: invalid configuration: unknown key 'colour'\)/);
  }, 30_000);

  it("a listener port already in use", async () => {
    blocker = createServer();
    const port = await new Promise<number>((r) => blocker!.listen(0, "127.0.0.1", () => r((blocker!.address() as { port: number }).port)));
    written = await writeEnvoyConfig(envoyConfig({ clusters: [{ name: "backend", ports: [1] }], listenerPort: port }));
    expectOneLineError(await run(["sidecar", "-c", written.path]), new RegExp(`127\\.0\\.0\\.1:${port} already in use`));
  }, 30_000);
});
