/**
 * `meshwasm dashboard [--out DIR] [--check]` run through the bin: the files it writes, and
 * `--check` failing with one line that names a stale file.
 */
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { afterEach, describe, expect, it } from "vitest";
import { startBin } from "./bin-process.ts";

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function run(args: string[]) {
  const p = startBin(args);
  const exit = await p.exited;
  return { ...exit, stdout: p.stdout(), stderr: p.stderr() };
}

describe("meshwasm dashboard", () => {
  it("writes the dashboard JSON and its ConfigMap into --out; --check passes, then names a stale file", async () => {
    dir = await mkdtemp(join(tmpdir(), "meshwasm-dashboard-"));
    const written = await run(["dashboard", "--out", dir]);
    expect(written.code).toBe(0);
    expect((await readdir(dir)).sort()).toEqual(["meshwasm-grpc-dashboard.configmap.yaml", "meshwasm-grpc.json"]);
    expect(written.stdout.trim().split("\n").sort()).toEqual([join(dir, "meshwasm-grpc-dashboard.configmap.yaml"), join(dir, "meshwasm-grpc.json")]);
    const dashboard = JSON.parse(await readFile(join(dir, "meshwasm-grpc.json"), "utf8"));
    expect(dashboard.uid).toBe("meshwasm-grpc");
    const cm = parse(await readFile(join(dir, "meshwasm-grpc-dashboard.configmap.yaml"), "utf8"));
    expect(cm.metadata.labels.grafana_dashboard).toBe("1");
    expect(JSON.parse(cm.data["meshwasm-grpc.json"])).toEqual(dashboard);

    expect((await run(["dashboard", "--out", dir, "--check"])).code).toBe(0);
    await writeFile(join(dir, "meshwasm-grpc.json"), "{}\n");
    const stale = await run(["dashboard", "--out", dir, "--check"]);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toBe(`meshwasm: dashboards out of date (run meshwasm dashboard): ${join(dir, "meshwasm-grpc.json")}\n`);
  }, 60_000);
});
