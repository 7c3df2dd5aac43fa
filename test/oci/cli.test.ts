/**
 * `meshwasm push | pull | verify | inspect` as a user runs them: a filter built by the real
 * build into a temporary build directory, pushed with `--username/--password-stdin`, pulled with
 * a docker config written by `skopeo login`, verified with `$DOCKER_CONFIG`; and the bad inputs
 * (wrong password, malformed reference, a file that is not Wasm, an unreachable registry, a
 * wrong sha256) each exit 1 with one `meshwasm: …` line on stderr.
 */
import { execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFilters } from "../../manager/src/build/index.ts";
import { freePort, startRegistry, toolGate, type TestRegistry } from "../support/registry.ts";

const run = promisify(execFile);
const gate = toolGate();
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const CLI = path.join(ROOT, "manager/src/cli/index.ts");

function meshwasm(args: string[], opts: { stdin?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env } });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.stdin.end(opts.stdin ?? "");
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe.skipIf(gate.skip)(`meshwasm push/pull/verify/inspect${gate.reason ? ` (skipped: ${gate.reason})` : ""}`, () => {
  let reg: TestRegistry;
  let dir: string;
  let buildDir: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "meshwasm-cli-oci-"));
    buildDir = path.join(dir, "build");
    await buildFilters({ outDir: buildDir, only: ["noop"], measureSdk: false });
    reg = await startRegistry({ auth: "htpasswd" });
    env = { XDG_CACHE_HOME: path.join(dir, "cache"), DOCKER_CONFIG: path.join(dir, "no-docker-config") };
  }, 120_000);
  afterAll(async () => {
    await reg?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("push prints REPO@sha256:<digest>, which skopeo, pull, verify and inspect agree on", async () => {
    const pushed = await meshwasm(["push", "noop", `${reg.host}/filters/noop`, "--build-dir", buildDir, "--username", "alice", "--password-stdin"], { stdin: "wonderland-42\n", env });
    expect(pushed.stderr).toMatch(/verified: istio-agent would accept/);
    expect(pushed.code).toBe(0);
    const line = pushed.stdout.trim();
    expect(line).toMatch(new RegExp(`^${reg.host.replace(/\./g, "\\.")}/filters/noop@sha256:[a-f0-9]{64}$`));
    const digest = line.split("@")[1]!;
    const manifest = JSON.parse(await readFile(path.join(buildDir, "manifest.json"), "utf8")) as { modules: Array<{ version: string; sha256: string; commit: string | null }> };
    const tag = manifest.modules[0]!.version.replace(/\+/g, "_");

    // skopeo logs in and writes a docker-format auth file; pull and verify read it.
    const authDir = path.join(dir, "docker");
    await run("skopeo", ["login", "--tls-verify=false", "--authfile", path.join(authDir, "config.json"), "-u", "alice", "-p", "wonderland-42", reg.host]);
    const { stdout } = await run("skopeo", ["inspect", "--tls-verify=false", "--authfile", path.join(authDir, "config.json"), `docker://${reg.host}/filters/noop:${tag}`]);
    expect(JSON.parse(stdout).Digest).toBe(digest);

    const out = path.join(dir, "pulled.wasm");
    const [pulled, verified, inspected] = await Promise.all([
      meshwasm(["pull", `oci://${reg.host}/filters/noop:${tag}`, "-o", out, "--docker-config", path.join(authDir, "config.json"), "--sha256", digest.slice(7)], { env }),
      meshwasm(["verify", `${reg.host}/filters/noop@${digest}`], { env: { ...env, DOCKER_CONFIG: authDir } }),
      meshwasm(["inspect", `${reg.host}/filters/noop:${tag}`, "--json"], { env: { ...env, DOCKER_CONFIG: authDir } }),
    ]);
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(Buffer.compare(await readFile(out), await readFile(path.join(buildDir, "filters/noop.wasm")))).toBe(0);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toContain(`url: oci://${reg.host}/filters/noop@${digest}`);
    expect(verified.stdout).toContain(`sha256: ${digest.slice(7)}`);
    expect(inspected.code, inspected.stderr).toBe(0);
    const info = JSON.parse(inspected.stdout);
    expect(info.digest).toBe(digest);
    expect(info.annotations["org.opencontainers.image.revision"]).toBe(manifest.modules[0]!.commit ?? undefined);
    expect(info.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual(["application/vnd.oci.image.layer.v1.tar+gzip"]);
  }, 60_000);

  it("bad input: one line on stderr and exit 1, nothing published", async () => {
    const junk = path.join(dir, "junk.wasm");
    await writeFile(junk, "this is not a wasm module");
    const port = await freePort();
    const built = JSON.parse(await readFile(path.join(buildDir, "manifest.json"), "utf8")) as { modules: Array<{ version: string }> };
    const tag = built.modules[0]!.version.replace(/\+/g, "_");
    const [wrongPassword, malformed, notWasm, unreachable, wrongSha] = await Promise.all([
      meshwasm(["push", "noop", `${reg.host}/filters/denied`, "--build-dir", buildDir, "--username", "alice", "--password-stdin"], { stdin: "hunter2\n", env }),
      meshwasm(["verify", `${reg.host}/Filters/Noop:1`], { env }),
      meshwasm(["push", junk, `${reg.host}/filters/junk:1`, "--username", "alice", "--password-stdin"], { stdin: "wonderland-42", env }),
      meshwasm(["push", "noop", `127.0.0.1:${port}/filters/noop`, "--build-dir", buildDir], { env }),
      meshwasm(["verify", `${reg.host}/filters/noop:${tag}`, "--sha256", "0".repeat(64), "--username", "alice", "--password-stdin"], { stdin: "wonderland-42", env }),
    ]);
    const oneLine = (r: { code: number | null; stderr: string }, re: RegExp) => {
      expect(r.code).toBe(1);
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(re);
    };
    oneLine(wrongPassword, /^meshwasm: authentication failed: registry 127\.0\.0\.1:\d+ rejected user "alice": 401/);
    expect(wrongPassword.stderr).not.toContain("hunter2");
    oneLine(malformed, /^meshwasm: could not fetch Wasm OCI image: could not parse url in image reference: malformed image reference ".*": repository name must be lowercase, got "Filters" \(column \d+\)/);
    oneLine(notWasm, /^meshwasm: .*junk\.wasm: not a Wasm module \(it does not start with the \\0asm magic\); nothing was pushed/);
    oneLine(unreachable, new RegExp(`^meshwasm: cannot reach registry 127\\.0\\.0\\.1:${port} over http: .*ECONNREFUSED`));
    oneLine(wrongSha, /^meshwasm: module downloaded from .* has checksum [a-f0-9]{64}, which does not match: 0{64}$/m);
    const { stdout } = await run("skopeo", ["list-tags", "--tls-verify=false", "--creds", "alice:wonderland-42", `docker://${reg.host}/filters/noop`]);
    expect(JSON.parse(stdout).Tags).toEqual([tag]);
    await expect(run("skopeo", ["list-tags", "--tls-verify=false", "--creds", "alice:wonderland-42", `docker://${reg.host}/filters/junk`])).rejects.toThrow(/404/);
  }, 60_000);
});
