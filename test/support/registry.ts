/**
 * A real OCI registry for tests: the CNCF distribution registry (Debian package
 * `docker-registry`) started on a free 127.0.0.1 port with a generated config and temporary
 * storage, either open, with htpasswd Basic auth (bcrypt entries written here), or with token
 * auth against a test token server (test/oci/support/token-server.ts) that signs ES256 JWTs
 * with a test key, as a cloud registry is set up.
 *
 * `toolGate` tells a test file whether the registry and skopeo are installed: when they are not,
 * the file FAILS under CI (`process.env.CI`) and is skipped with the reason otherwise.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import bcrypt from "bcryptjs";
import { startTokenServer, type TokenServer, type TokenServerOptions } from "../oci/support/token-server.ts";

export const REGISTRY_BIN = "docker-registry";
export const TOKEN_SERVICE = "meshwasm-test-registry";
export const TOKEN_ISSUER = "meshwasm-test-issuer";

export interface RegistryOptions {
  auth?: "none" | "htpasswd" | "token";
  /** user -> password (htpasswd and token modes). Default { alice: "wonderland-42" }. */
  users?: Record<string, string>;
  /** Token mode: extra token server options. */
  token?: Partial<TokenServerOptions>;
}

export interface TestRegistry {
  /** `127.0.0.1:PORT`. */
  host: string;
  /** `http://127.0.0.1:PORT`. */
  url: string;
  storage: string;
  users: Record<string, string>;
  tokenServer?: TokenServer;
  /** Path of the file holding a blob's bytes in the registry's filesystem storage. */
  blobPath(digest: string): string;
  /** What the registry printed on stderr (last 64 KiB). */
  log(): string;
  stop(): Promise<void>;
}

/** Which of `tools` are missing from PATH. */
export function missingTools(tools: string[]): string[] {
  return tools.filter((t) => spawnSync("sh", ["-c", `command -v ${t}`], { stdio: "ignore" }).status !== 0);
}

/**
 * For a test file needing `tools`: `{ skip: false }` when present; when missing, throws under CI
 * (the file fails) or returns `{ skip: true, reason }`.
 */
export function toolGate(tools: string[] = [REGISTRY_BIN, "skopeo"]): { skip: boolean; reason: string } {
  const missing = missingTools(tools);
  if (missing.length === 0) return { skip: false, reason: "" };
  const reason = `not installed: ${missing.join(", ")} (Debian packages docker-registry, skopeo)`;
  if (process.env.CI) throw new Error(`registry tests need ${reason}`);
  return { skip: true, reason };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function yaml(lines: Array<string | false>): string {
  return lines.filter((l): l is string => l !== false).join("\n") + "\n";
}

async function waitReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${REGISTRY_BIN} exited with ${child.exitCode}: ${log().slice(-2000)}`);
    try {
      const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 401) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${REGISTRY_BIN} did not become ready: ${log().slice(-2000)}`);
}

export async function startRegistry(opts: RegistryOptions = {}): Promise<TestRegistry> {
  const mode = opts.auth ?? "none";
  const users = opts.users ?? { alice: "wonderland-42" };
  const dir = await mkdtemp(path.join(os.tmpdir(), "meshwasm-registry-"));
  const storage = path.join(dir, "storage");
  let tokenServer: TokenServer | undefined;
  const authLines: string[] = [];
  if (mode === "htpasswd") {
    const entries = Object.entries(users).map(([u, p]) => `${u}:${bcrypt.hashSync(p, 5)}`);
    await writeFile(path.join(dir, "htpasswd"), entries.join("\n") + "\n");
    authLines.push("auth:", "  htpasswd:", "    realm: meshwasm-test", `    path: ${path.join(dir, "htpasswd")}`);
  } else if (mode === "token") {
    tokenServer = await startTokenServer({ issuer: TOKEN_ISSUER, service: TOKEN_SERVICE, users, ...opts.token });
    await writeFile(path.join(dir, "root.pem"), tokenServer.certPem);
    authLines.push(
      "auth:",
      "  token:",
      `    realm: ${tokenServer.realm}`,
      `    service: ${TOKEN_SERVICE}`,
      `    issuer: ${TOKEN_ISSUER}`,
      `    rootcertbundle: ${path.join(dir, "root.pem")}`,
    );
  }

  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const configPath = path.join(dir, "config.yml");
    await writeFile(configPath, yaml([
      "version: 0.1",
      "log:",
      "  level: error",
      "  accesslog:",
      "    disabled: true",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${storage}`,
      "  delete:",
      "    enabled: true",
      "  maintenance:",
      "    uploadpurging:",
      "      enabled: false",
      "http:",
      `  addr: 127.0.0.1:${port}`,
      `  secret: ${randomBytes(16).toString("hex")}`,
      ...authLines,
    ]));
    let stderr = "";
    const child = spawn(REGISTRY_BIN, ["serve", configPath], { stdio: ["ignore", "ignore", "pipe"] });
    child.stderr!.setEncoding("utf8").on("data", (d: string) => {
      stderr = (stderr + d).slice(-65536);
    });
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitReady(url, child, () => stderr);
    } catch (e) {
      lastError = e;
      child.kill("SIGKILL");
      continue;
    }
    return {
      host: `127.0.0.1:${port}`,
      url,
      storage,
      users,
      ...(tokenServer ? { tokenServer } : {}),
      blobPath: (digest) => {
        const hex = digest.replace(/^sha256:/, "");
        return path.join(storage, "docker/registry/v2/blobs/sha256", hex.slice(0, 2), hex, "data");
      },
      log: () => stderr,
      async stop() {
        if (child.exitCode === null) {
          const exited = new Promise((r) => child.once("exit", r));
          child.kill("SIGTERM");
          await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
          if (child.exitCode === null) child.kill("SIGKILL");
        }
        await tokenServer?.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
  await tokenServer?.stop();
  await rm(dir, { recursive: true, force: true });
  throw lastError;
}
