/**
 * Builds the Go proxy-wasm SDK peer (peers/go-grpc-metrics, Go's own wasip1 target) for the
 * benchmark. A missing Go toolchain or a failed build is not fatal: the result says why, and the
 * benchmark reports it instead of the peer's numbers.
 */
import { spawn } from "node:child_process";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { REPO_ROOT } from "../../manager/src/build/compile.ts";

export type GoPeerBuild = { wasm: Uint8Array; goVersion: string; sdkVersion: string } | { error: string };

function run(cmd: string, args: string[], cwd: string, timeoutMs: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ code: null, out: e.message });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

export async function buildGoPeer(): Promise<GoPeerBuild> {
  const dir = join(REPO_ROOT, "test", "bench", "peers", "go-grpc-metrics");
  const out = join(REPO_ROOT, "build", "bench", "go-grpc-metrics.wasm");
  await mkdir(join(REPO_ROOT, "build", "bench"), { recursive: true });
  const version = await run("go", ["version"], dir, 30_000);
  if (version.code !== 0) return { error: `no Go toolchain: ${version.out.trim() || "go not found"}` };
  const built = await run("bash", ["build.sh", out], dir, 600_000);
  if (built.code !== 0) return { error: `go build failed: ${built.out.trim().split("\n").slice(-5).join(" | ")}` };
  const mod = await readFile(join(dir, "go.mod"), "utf8");
  const sdk = /proxy-wasm-go-sdk (\S+)/.exec(mod)?.[1] ?? "unknown";
  return { wasm: new Uint8Array(await readFile(out)), goVersion: version.out.trim().replace(/^go version /, ""), sdkVersion: sdk };
}
