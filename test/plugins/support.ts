/**
 * Helpers for the `--plugins` end-to-end tests: the add-header example compiled once, WasmPlugin
 * manifests written as users write them, a sidecar (inbound listener on a fixed loopback port)
 * with a plugin directory in front of a grpc-js echo backend, and a unary call that returns the
 * response metadata a plugin chain added.
 */
import * as grpc from "@grpc/grpc-js";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { compileAssemblyScript } from "../../manager/src/build/index.ts";
import type { WasmPluginsOptions } from "../../manager/src/sidecar/plugins/index.ts";
import { startHarness, type Harness } from "../support/sidecar-harness.ts";
import { echoClient, type EchoClient, type EchoReply } from "../support/grpc-echo.ts";
import { freePort } from "../support/registry.ts";

let addHeader: Promise<Uint8Array> | undefined;

/** The add-header example filter, release build (compiled once per test file). */
export function addHeaderWasm(): Promise<Uint8Array> {
  addHeader ??= compileAssemblyScript("filters/examples/add-header/assembly/index.ts", { target: "add-header" });
  return addHeader;
}

export interface PluginSpec {
  name: string;
  namespace?: string;
  url: string;
  sha256?: string;
  phase?: string;
  priority?: number;
  failStrategy?: string;
  selector?: Record<string, string>;
  match?: Array<{ mode?: string; ports?: number[] }>;
  pluginConfig?: Record<string, unknown>;
  imagePullPolicy?: string;
  extra?: string;
}

/** A WasmPlugin manifest, in block YAML. */
export function wasmPluginYaml(p: PluginSpec): string {
  const lines = ["apiVersion: extensions.istio.io/v1alpha1", "kind: WasmPlugin", "metadata:", `  name: ${p.name}`];
  if (p.namespace) lines.push(`  namespace: ${p.namespace}`);
  lines.push("spec:", `  url: ${JSON.stringify(p.url)}`);
  if (p.sha256 !== undefined) lines.push(`  sha256: ${JSON.stringify(p.sha256)}`);
  if (p.phase) lines.push(`  phase: ${p.phase}`);
  if (p.priority !== undefined) lines.push(`  priority: ${p.priority}`);
  if (p.failStrategy) lines.push(`  failStrategy: ${p.failStrategy}`);
  if (p.imagePullPolicy) lines.push(`  imagePullPolicy: ${p.imagePullPolicy}`);
  if (p.selector) lines.push(`  selector:`, `    matchLabels: ${JSON.stringify(p.selector)}`);
  if (p.match) lines.push(`  match: ${JSON.stringify(p.match.map((m) => ({ ...(m.mode ? { mode: m.mode } : {}), ...(m.ports ? { ports: m.ports.map((n) => ({ number: n })) } : {}) })))}`);
  if (p.pluginConfig) lines.push(`  pluginConfig: ${JSON.stringify(p.pluginConfig)}`);
  if (p.extra) lines.push(p.extra);
  return lines.join("\n") + "\n";
}

/** add-header's configuration: adds `x-order: <value>` to requests and responses. */
export function orderConfig(value: string, header = "x-order"): Record<string, string> {
  return { request_header_name: header, request_header_value: value, response_header_name: header, response_header_value: value };
}

export interface PluginHarness {
  dir: string;
  port: number;
  harness: Harness;
  client: EchoClient;
  write(file: string, text: string): Promise<void>;
  remove(file: string): Promise<void>;
  stop(): Promise<void>;
}

/** A sidecar whose inbound listener (fixed port) runs the WasmPlugins of a fresh directory. */
export async function startPluginHarness(
  files: Record<string, string>,
  opts: Partial<WasmPluginsOptions> & { direction?: "INBOUND" | "OUTBOUND" | "UNSPECIFIED"; log?: (line: string) => void; admin?: boolean } = {},
): Promise<PluginHarness> {
  const dir = await mkdtemp(path.join(tmpdir(), "meshwasm-plugins-"));
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  const port = await freePort();
  const { direction: _d, log: _l, admin: _a, ...pluginOpts } = opts;
  let harness: Harness;
  try {
    harness = await startHarness({
      config: () => ({ listenerPort: port, ...(opts.admin ? { admin: true } : {}) }),
      edit: (b) => {
        const listener = (b.static_resources as { listeners: Array<Record<string, unknown>> }).listeners[0]!;
        if (opts.direction !== "UNSPECIFIED") listener.traffic_direction = opts.direction ?? "INBOUND";
      },
      sidecar: { plugins: { dir, debounceMs: 50, ...pluginOpts }, ...(opts.log ? { log: opts.log } : {}) },
    });
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  const client = echoClient(harness.port);
  return {
    dir,
    port: harness.port,
    harness,
    client,
    // Atomically, as a ConfigMap volume or an editor's save-and-rename updates a file.
    write: async (file, text) => {
      await writeFile(path.join(dir, `.${file}.tmp`), text);
      await rename(path.join(dir, `.${file}.tmp`), path.join(dir, file));
    },
    remove: (file) => rm(path.join(dir, file), { force: true }),
    async stop() {
      client.close();
      await harness.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface CallResult {
  reply?: EchoReply;
  error?: grpc.ServiceError;
  /** Response metadata values of `header`, in the order the client received them. */
  response: string[];
  /** The request values of `header` the backend saw, in order. */
  request: string[];
}

/** One unary call; collects what the plugin chain added under `header`. */
export function call(client: EchoClient, header = "x-order"): Promise<CallResult> {
  return new Promise((resolve) => {
    let response: string[] = [];
    const c = client.Unary({ message: "hi" }, new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (err, reply) => {
      resolve({
        ...(reply ? { reply } : {}),
        ...(err ? { error: err } : {}),
        response,
        request: reply?.headers[header] === undefined ? [] : reply.headers[header]!.split(", "),
      });
    });
    c.on("metadata", (md: grpc.Metadata) => {
      // Repeated fields arrive joined with ", " (RFC 9110 §5.3).
      response = md.get(header).flatMap((v) => String(v).split(", "));
    });
  });
}
