/**
 * The demo mesh's sidecar configuration: the embedded Envoy bootstrap (envoy-demo.yaml) with the
 * ports of the running demo backends filled in (its Wasm filters come from WasmPlugin resources,
 * demo-plugins.ts). The result is still a plain Envoy bootstrap, written to a file so the sidecar
 * loads it exactly as a user's would be.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseDocument } from "yaml";

const TEMPLATE = readFileSync(new URL("./envoy-demo.yaml", import.meta.url), "utf8");

export interface DemoConfigInput {
  /** Ports of the demo backends, in endpoint order. */
  backendPorts: number[];
  /** Listener and admin ports; 0 lets the system choose (tests). Default: the template's 10000 / 9901. */
  listenerPort?: number;
  adminPort?: number;
}

/** Renders the demo bootstrap as YAML text. */
export function renderDemoConfig(input: DemoConfigInput): string {
  const doc = parseDocument(TEMPLATE);
  if (input.listenerPort !== undefined) {
    doc.setIn(["static_resources", "listeners", 0, "address", "socket_address", "port_value"], input.listenerPort);
  }
  if (input.adminPort !== undefined) {
    doc.setIn(["admin", "address", "socket_address", "port_value"], input.adminPort);
  }
  const endpointsPath = ["static_resources", "clusters", 0, "load_assignment", "endpoints", 0, "lb_endpoints"];
  doc.setIn(
    endpointsPath,
    doc.createNode(
      input.backendPorts.map((port) => ({
        endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: port } } },
      })),
    ),
  );
  return doc.toString();
}

/** Writes the rendered bootstrap to a fresh temporary folder; returns the file's path. */
export async function writeDemoConfig(input: DemoConfigInput): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "meshwasm-demo-"));
  const file = join(dir, "envoy.yaml");
  await writeFile(file, renderDemoConfig(input));
  return file;
}
