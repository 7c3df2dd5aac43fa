/**
 * docker's credential-helper protocol (docker/docker-credential-helpers): run
 * `docker-credential-<name> get`, write the server URL on stdin, read
 * `{"ServerURL","Username","Secret"}` from stdout. A Username of `<token>` means Secret is an
 * identity token. "credentials not found" (exit 1 with that text) means none. Any other failure
 * is a UserError naming the helper, never including what it printed on stdout (it may hold a
 * secret); stderr's first line is quoted as the helper's reason.
 */
import { spawn } from "node:child_process";
import { UserError } from "../../errors.ts";
import type { RegistryCredentials } from "./credentials.ts";

export interface HelperOptions {
  /** Environment for the helper (PATH decides which binary runs). Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Milliseconds before the helper is killed. Default 20 s. */
  timeoutMs?: number;
}

const NOT_FOUND = /credentials not found/i;

export async function runCredentialHelper(name: string, serverUrl: string, opts: HelperOptions = {}): Promise<RegistryCredentials | undefined> {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new UserError(`docker config: bad credential helper name "${name}"`);
  const bin = `docker-credential-${name}`;
  const { code, stdout, stderr, spawnError } = await new Promise<{ code: number | null; stdout: string; stderr: string; spawnError?: Error }>((resolve) => {
    const child = spawn(bin, ["get"], { env: opts.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 20_000);
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ code: null, stdout: out, stderr: err, spawnError: e });
    });
    child.on("close", (c) => {
      clearTimeout(timer);
      resolve({ code: c, stdout: out, stderr: err });
    });
    child.stdin.on("error", () => {});
    child.stdin.end(serverUrl);
  });
  if (spawnError) {
    const why = (spawnError as NodeJS.ErrnoException).code === "ENOENT" ? "not found on PATH" : spawnError.message;
    throw new UserError(`credential helper ${bin}: ${why}`);
  }
  if (code !== 0) {
    if (NOT_FOUND.test(stdout) || NOT_FOUND.test(stderr)) return undefined;
    const reason = stderr.trim().split("\n")[0] || `exit code ${code}`;
    throw new UserError(`credential helper ${bin} failed for ${serverUrl}: ${reason}`);
  }
  let parsed: { Username?: unknown; Secret?: unknown };
  try {
    parsed = JSON.parse(stdout) as typeof parsed;
  } catch {
    throw new UserError(`credential helper ${bin} printed something that is not JSON for ${serverUrl}`);
  }
  if (typeof parsed.Secret !== "string" || (parsed.Username !== undefined && typeof parsed.Username !== "string")) {
    throw new UserError(`credential helper ${bin}: answer for ${serverUrl} lacks a string Secret`);
  }
  if (parsed.Username === "<token>") return { identityToken: parsed.Secret };
  return { username: (parsed.Username as string | undefined) ?? "", password: parsed.Secret };
}
