/**
 * The demo's local OCI registry: the CNCF distribution registry (`docker-registry`, Debian
 * package docker-registry) on a free 127.0.0.1 port with temporary storage, when it is installed.
 * The demo pushes the built filters there and the sidecar pulls them by digest, as istio-agent
 * pulls from a cluster's registry. `stop()` ends the process (by its id) and removes the storage.
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

export const REGISTRY_BINARY = "docker-registry";

export interface DemoRegistry {
  /** `127.0.0.1:PORT`. */
  host: string;
  stop(): Promise<void>;
}

export function registryInstalled(): boolean {
  return spawnSync("sh", ["-c", `command -v ${REGISTRY_BINARY}`], { stdio: "ignore" }).status === 0;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startDemoRegistry(): Promise<DemoRegistry> {
  const dir = await mkdtemp(path.join(tmpdir(), "meshwasm-demo-registry-"));
  const port = await freePort();
  const config = path.join(dir, "config.yml");
  await writeFile(config, [
    "version: 0.1",
    "log: { level: error, accesslog: { disabled: true } }",
    `storage: { filesystem: { rootdirectory: ${path.join(dir, "storage")} } }`,
    `http: { addr: 127.0.0.1:${port}, secret: ${randomBytes(16).toString("hex")} }`,
    "",
  ].join("\n"));
  const child = spawn(REGISTRY_BINARY, ["serve", config], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr = (stderr + d).slice(-4000)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`${REGISTRY_BINARY} exited with ${child.exitCode}: ${stderr.trim().split("\n").pop() ?? ""}`);
    }
    const up = await fetch(`http://127.0.0.1:${port}/v2/`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false);
    if (up) return { host: `127.0.0.1:${port}`, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${REGISTRY_BINARY} did not answer on 127.0.0.1:${port}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
