/**
 * Every command on bad input, run as a user runs it (the real bin): a flag naming a file where a
 * folder is expected (or the reverse), a missing or unreadable file, permission denied, a bad
 * value, an unreachable registry or API server. Each prints exactly one line on stderr naming the
 * flag or path (and the address for a network failure), no stack frame, and exits 1; `--verbose`
 * and DEBUG=meshwasm add the stack trace.
 *
 * Permission cases need a user that permissions apply to: as root the bin runs as uid/gid 65534.
 */
import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN } from "./bin-process.ts";

interface RunOptions {
  env?: NodeJS.ProcessEnv;
  /** Run as this user and group (only possible as root). */
  as?: number;
}

function run(args: string[], opts: RunOptions = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, DEBUG: "", ...opts.env },
      ...(opts.as !== undefined ? { uid: opts.as, gid: opts.as } : {}),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function expectOneLine(r: { code: number | null; stderr: string }, ...patterns: Array<string | RegExp>): void {
  expect(r.stderr).not.toMatch(/\n\s+at /);
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^(meshwasm|error): /);
  for (const p of patterns) {
    if (typeof p === "string") expect(lines[0]).toContain(p);
    else expect(lines[0]).toMatch(p);
  }
  expect(r.code).toBe(1);
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

let dir: string;
let file: string;
let folder: string;
let port: number;
let kubeconfig: string;
const DEPLOYMENT = "deploy/meshwasm.yaml";

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "meshwasm-cli-errors-"));
  await chmod(dir, 0o755);
  file = path.join(dir, "a-file");
  await writeFile(file, "not a folder\n");
  folder = path.join(dir, "a-folder.wasm");
  await mkdir(folder);
  port = await closedPort();
  kubeconfig = path.join(dir, "kubeconfig.yaml");
  await writeFile(kubeconfig, [
    "apiVersion: v1", "kind: Config", "current-context: x",
    "clusters: [{name: c, cluster: {server: \"https://127.0.0.1:" + port + "\", insecure-skip-tls-verify: true}}]",
    "users: [{name: u, user: {token: t}}]",
    "contexts: [{name: x, context: {cluster: c, user: u, namespace: shop}}]", "",
  ].join("\n"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("a file where a folder is expected, and the reverse", () => {
  it("build --out FILE and --out FILE/sub", async () => {
    expectOneLine(await run(["build", "noop", "--out", file]), `--out ${file}: is a file, expected a folder`);
    expectOneLine(await run(["build", "noop", "--out", path.join(file, "sub")]), `--out ${path.join(file, "sub")}: ${file} is a file, not a folder`);
  }, 60_000);

  it("dashboard --out FILE, with and without --check", async () => {
    expectOneLine(await run(["dashboard", "--out", file]), `--out ${file}: is a file, expected a folder`);
    expectOneLine(await run(["dashboard", "--check", "--out", file]), `--out ${file}: is a file, expected a folder`);
  }, 30_000);

  it("render -o FILE and render -f FOLDER", async () => {
    expectOneLine(await run(["render", "-f", DEPLOYMENT, "--offline", "-o", file]), `--out ${file}: is a file, expected a folder`);
    expectOneLine(await run(["render", "-f", folder, "--offline"]), folder, /cannot read the deployment file/);
  }, 30_000);

  it("pull -o FOLDER, -o into a missing folder (before contacting the registry)", async () => {
    expectOneLine(await run(["pull", `127.0.0.1:${port}/x:1`, "-o", folder]), `--output ${folder}: is a folder, expected a file`);
    const missing = path.join(dir, "missing", "x.wasm");
    expectOneLine(await run(["pull", `127.0.0.1:${port}/x:1`, "-o", missing]), `--output ${missing}: no such folder ${path.dirname(missing)}`);
  }, 30_000);

  it("push FOLDER.wasm, policy check FOLDER, sidecar --wasm-cache FILE", async () => {
    expectOneLine(await run(["push", folder, `127.0.0.1:${port}/x:1`]), folder, /EISDIR/);
    expectOneLine(await run(["policy", "check", folder]), folder, /EISDIR/);
    const bootstrap = path.join(dir, "envoy.yaml");
    await writeFile(bootstrap, "static_resources:\n  listeners: []\n");
    expectOneLine(await run(["sidecar", "-c", bootstrap, "--plugins", dir, "--wasm-cache", file]), `--wasm-cache ${file}: is a file, expected a folder`);
  }, 60_000);
});

describe("missing files", () => {
  it("deploy and diff -f MISSING: named before any cluster is contacted", async () => {
    const missing = path.join(dir, "missing.yaml");
    expectOneLine(await run(["deploy", "-f", missing, "--kubeconfig", kubeconfig]), `--file ${missing}: no such file`);
    expectOneLine(await run(["diff", "-f", folder, "--kubeconfig", kubeconfig]), `--file ${folder}: is a folder, expected a file`);
  }, 30_000);

  it("status --kubeconfig MISSING, sidecar -c MISSING, policy test --cases MISSING", async () => {
    const missing = path.join(dir, "missing.yaml");
    expectOneLine(await run(["status", "--kubeconfig", missing]), `--kubeconfig: ${missing}: no such file`);
    expectOneLine(await run(["sidecar", "-c", missing]), missing, /no such file/);
    expectOneLine(await run(["policy", "test", "deploy/policies/checkout-policy.yaml", "--cases", missing]), missing, /ENOENT/);
  }, 60_000);
});

describe("bad flags and values", () => {
  it.each([
    [["build", "--bogus"], /unknown option '--bogus'/],
    [["nosuchcommand"], /unknown command 'nosuchcommand'/],
    [["deploy"], /required option '-f, --file <meshwasm\.yaml>' not specified/],
    [["demo", "--rpcs", "many"], /--rpcs: expected a whole number of RPCs, got "many"/],
    [["rollback", "p", "--to", "last"], /--to: expected a revision number, got "last"/],
    [["sidecar", "-c", "x.yaml", "--concurrency", "0"], /--concurrency: expected a positive integer, got "0"/],
    [["render", "-f", "deploy/meshwasm.yaml", "--kind", "Plugin"], /--kind: expected WasmPlugin or TrafficExtension, got "Plugin"/],
    [["push", "noop", "r.example/x:1", "--chunk-size", "lots"], /--chunk-size: expected a byte count/],
    [["policy", "hash", "token"], /policy hash: expected api-key or password, got token/],
  ])("%j", async (args, pattern) => {
    expectOneLine(await run(args), pattern);
  }, 30_000);
});

describe("unreachable registry and API server", () => {
  it("inspect, verify and push against a closed port name the registry and the refusal", async () => {
    for (const args of [["inspect", `127.0.0.1:${port}/x:1`], ["verify", `127.0.0.1:${port}/x:1`], ["push", "noop", `127.0.0.1:${port}/x:1`]]) {
      expectOneLine(await run(args), `127.0.0.1:${port}`, /ECONNREFUSED/);
    }
  }, 60_000);

  it("status, undeploy and deploy against a closed port name the API server and the refusal", async () => {
    for (const args of [["status"], ["undeploy", "grpc-metrics"], ["deploy", "-f", DEPLOYMENT]]) {
      expectOneLine(await run([...args, "--kubeconfig", kubeconfig]), `https://127.0.0.1:${port}`, /unreachable .*ECONNREFUSED/);
    }
  }, 60_000);
});

/** A user permissions apply to: the current one unless it is root, else nobody (65534). */
const asRoot = process.getuid?.() === 0;
function unprivilegedReason(): string | undefined {
  if (!asRoot) return undefined;
  try {
    // The bin and the repository must be readable by that user; spawn's uid does the rest.
    accessSync(BIN, constants.R_OK);
    return undefined;
  } catch (e) {
    return `cannot run the bin as uid 65534: ${(e as Error).message}`;
  }
}

describe("permission denied", () => {
  const reason = unprivilegedReason();
  if (reason && process.env.CI) throw new Error(reason);
  if (reason) console.warn(`skipping permission cases: ${reason}`);
  const as = asRoot ? { as: 65534 } : {};

  it.skipIf(reason !== undefined)("unreadable inputs and unwritable outputs name the path", async () => {
    const secret = path.join(dir, "secret.yaml");
    await writeFile(secret, "static_resources: {}\n", { mode: 0o600 });
    if (!asRoot) await chmod(secret, 0o000);
    const readOnly = path.join(dir, "read-only");
    await mkdir(readOnly, { mode: 0o555 });
    await chmod(readOnly, 0o555);
    expectOneLine(await run(["deploy", "-f", secret, "--kubeconfig", kubeconfig], as), `--file ${secret}: cannot read it: permission denied`);
    expectOneLine(await run(["policy", "check", secret], as), secret, /EACCES/);
    expectOneLine(await run(["sidecar", "-c", secret], as), secret, /EACCES|permission denied/);
    expectOneLine(await run(["build", "noop", "--out", path.join(readOnly, "out")], as), `--out ${path.join(readOnly, "out")}: cannot write in ${readOnly}: permission denied`);
    expectOneLine(await run(["dashboard", "--out", readOnly], as), `--out ${readOnly}: cannot write in it: permission denied`);
  }, 120_000);
});

describe("a reader that stops early", () => {
  it("`policy hash ... | head -1`: exit 0, nothing on stderr", async () => {
    const child = spawn(process.execPath, [BIN, "policy", "hash", "api-key"], { stdio: ["pipe", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    child.stdin.end(Array.from({ length: 20_000 }, (_, i) => `key-${i}\n`).join(""));
    const first = await new Promise<string>((resolve) => child.stdout.once("data", (d: Buffer) => resolve(d.toString())));
    child.stdout.destroy();
    expect(first).toMatch(/^[0-9a-f]{64}\n/);
    expect(await exited).toBe(0);
    expect(stderr).toBe("");
  }, 60_000);
});

describe("--verbose and DEBUG", () => {
  it("add the stack trace after the one line", async () => {
    for (const r of [await run(["build", "noop", "--out", file, "--verbose"]), await run(["build", "noop", "--out", file], { env: { DEBUG: "meshwasm" } })]) {
      expect(r.code).toBe(1);
      expect(r.stderr.split("\n")[0]).toBe(`meshwasm: --out ${file}: is a file, expected a folder`);
      expect(r.stderr).toMatch(/\nUserError: --out .*\n\s+at /);
    }
  }, 60_000);
});
