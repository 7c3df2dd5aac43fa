/**
 * A real Kubernetes API server for tests: starts the kube-apiserver harness built from
 * test/kube-apiserver (kube-apiserver of the pinned k8s.io/kubernetes release with etcd
 * embedded and the Istio CRDs of the pinned istio.io/api applied), waits for its one JSON
 * ready line, and hands back the kubeconfig it wrote. One server per test file: start it
 * in beforeAll, stop it in afterAll.
 *
 * Binary: build/kube-apiserver-harness. Outside CI it is (re)built on demand by
 * test/kube-apiserver/build.sh, which does nothing when it is up to date; under CI (`CI`
 * set) .ci/run has built it and a missing binary is an error, never a skip. The server
 * stops when its standard input closes, so it cannot outlive the test process.
 *
 * Contexts of the kubeconfig: `admin` (current; group system:masters), `short-lived`
 * (system:masters, expires `shortLivedTtlSeconds` after ready), `expired` (certificate
 * already expired) and `unprivileged` (no RBAC bindings). No controllers run: tests create
 * the Pods, Services and Deployments they need and set Pod status themselves.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { KubeConfig } from "@kubernetes/client-node";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const kubeApiServerBinary = join(repoRoot, "build", "kube-apiserver-harness");
const buildScript = join(repoRoot, "test", "kube-apiserver", "build.sh");

/** The JSON line the harness prints when ready (test/kube-apiserver/harness.go readyLine). */
export interface KubeApiServerReady {
  kubeconfig: string;
  server: string;
  currentContext: string;
  contexts: Record<string, { user: string; groups: string[]; notAfter: string }>;
  etcd: string;
  dir: string;
  crds: string[];
  versions: Record<string, string>;
  startupMillis: number;
  pid: number;
}

export interface KubeApiServer {
  kubeconfigPath: string;
  /** The kubeconfig loaded by @kubernetes/client-node, on the `admin` context. */
  kubeConfig: KubeConfig;
  ready: KubeApiServerReady;
  /** A fresh KubeConfig of the same file on another context. */
  kubeConfigFor(context: string): KubeConfig;
  /** The harness's exit code once it has exited (null while it runs). */
  exitCode(): number | null;
  /** Closes the harness's stdin and waits for it to exit (SIGKILL after 30 s). Idempotent. */
  stop(): Promise<void>;
  /**
   * Ends the server at once with SIGKILL, as an API server that goes away mid-operation
   * (no graceful shutdown), then removes the directory it could not remove itself.
   */
  kill(): Promise<void>;
}

export interface KubeApiServerOptions {
  /** Validity of the `short-lived` context's certificate from ready (default 5 s). */
  shortLivedTtlSeconds?: number;
  /** More CRD files to apply after the Istio ones. */
  crdFiles?: string[];
  /** Raw extra arguments for the harness binary. */
  extraArgs?: string[];
  /** How long to wait for the ready line (default 120 s). */
  readyTimeoutMs?: number;
}

const isCI = () => Boolean(process.env.CI);

/**
 * Why the server cannot run here, or undefined if it can. Outside CI a test file may skip
 * (with this reason shown) when it returns a reason; under CI it never returns one, so a
 * missing binary makes startKubeApiServer fail and the tests fail.
 */
export function kubeApiServerUnavailable(): string | undefined {
  if (isCI() || existsSync(kubeApiServerBinary)) return undefined;
  const go = spawnSync("go", ["version"], { encoding: "utf8" });
  if (go.error || go.status !== 0) {
    return `the test kube-apiserver is not built (${kubeApiServerBinary}) and go is not installed to build it`;
  }
  return undefined;
}

/** Builds (or confirms up to date) the harness binary; outside CI only. */
export function ensureKubeApiServerBinary(): void {
  if (isCI()) {
    if (!existsSync(kubeApiServerBinary)) {
      throw new Error(
        `kube-apiserver harness: ${kubeApiServerBinary} is missing; .ci/run builds it with test/kube-apiserver/build.sh`,
      );
    }
    return;
  }
  const build = spawnSync("bash", [buildScript], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (build.error || build.status !== 0) {
    const detail = (build.stderr || build.error?.message || "").trim().split("\n").slice(-5).join(" | ");
    throw new Error(`kube-apiserver harness: ${buildScript} failed (exit ${build.status}): ${detail}`);
  }
}

/** Starts a harness and resolves once it is ready. */
export async function startKubeApiServer(options: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  ensureKubeApiServerBinary();
  const args = [`--short-lived-ttl=${options.shortLivedTtlSeconds ?? 5}s`];
  for (const file of options.crdFiles ?? []) args.push(`--crd-file=${file}`);
  args.push(...(options.extraArgs ?? []));

  const child = spawn(kubeApiServerBinary, args, { stdio: ["pipe", "pipe", "pipe"] });
  const stderrTail = captureTail(child);
  const exited = new Promise<number | null>((resolveExit) => child.once("exit", (code) => resolveExit(code)));
  let exitCode: number | null = null;
  void exited.then((code) => (exitCode = code ?? -1));
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);

  let ready: KubeApiServerReady;
  try {
    ready = await readReadyLine(child, exited, stderrTail, options.readyTimeoutMs ?? 120_000);
  } catch (error) {
    child.kill("SIGKILL");
    await exited;
    process.removeListener("exit", killOnExit);
    throw error;
  }

  const kubeConfigFor = (context: string) => {
    const kc = new KubeConfig();
    kc.loadFromFile(ready.kubeconfig);
    kc.setCurrentContext(context);
    return kc;
  };
  let stopping: Promise<void> | undefined;
  return {
    kubeconfigPath: ready.kubeconfig,
    kubeConfig: kubeConfigFor(ready.currentContext),
    ready,
    kubeConfigFor,
    exitCode: () => exitCode,
    stop() {
      stopping ??= (async () => {
        child.stdin?.end();
        const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
        await exited;
        clearTimeout(timer);
        process.removeListener("exit", killOnExit);
      })();
      return stopping;
    },
    kill() {
      stopping ??= (async () => {
        child.kill("SIGKILL");
        await exited;
        process.removeListener("exit", killOnExit);
        await rm(ready.dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}

function readReadyLine(
  child: ChildProcess,
  exited: Promise<number | null>,
  stderrTail: () => string,
  timeoutMs: number,
): Promise<KubeApiServerReady> {
  return new Promise((resolveReady, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(
      () => reject(new Error(`kube-apiserver harness: not ready after ${timeoutMs} ms; stderr: ${stderrTail()}`)),
      timeoutMs,
    );
    lines.once("line", (line) => {
      clearTimeout(timer);
      try {
        resolveReady(JSON.parse(line) as KubeApiServerReady);
      } catch {
        reject(new Error(`kube-apiserver harness: ready line is not JSON: ${line.slice(0, 200)}`));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`kube-apiserver harness exited with ${code} before ready: ${stderrTail()}`));
    });
  });
}

/** Keeps the harness's last stderr lines for error messages; the last line is its reason. */
function captureTail(child: ChildProcess, keep = 20): () => string {
  const tail: string[] = [];
  const lines = createInterface({ input: child.stderr! });
  lines.on("line", (line) => {
    tail.push(line);
    if (tail.length > keep) tail.shift();
    if (process.env.MESHWASM_KUBE_APISERVER_LOG) process.stderr.write(`[kube-apiserver] ${line}\n`);
  });
  return () => {
    const reason = [...tail].reverse().find((line) => line.startsWith("kube-apiserver-harness:"));
    return reason ?? tail.slice(-3).join(" | ");
  };
}
