/**
 * The demo's WasmPlugin resources, made as a cluster deployment makes them: rendered by
 * `meshwasm render`'s code (k8s/render: placement defaults per filter, pluginConfig, validation
 * against Istio's CRD), pinned by manifest digest to images pushed to the demo's local registry
 * when `docker-registry` is installed, else `file://` URLs of the built modules (what an Envoy
 * with the module on its disk would load). They are written into a folder the sidecar runs
 * (`--plugins`), in namespace `demo` for the workload labelled `app: demo`:
 *
 * - grpc-auth (AUTHZ, FAIL_CLOSE) with demo-auth-policy.yaml compiled (the burst's methods open,
 *   ListItems behind an API key, one rule in dry run);
 * - grpc-metrics (STATS) counting per method;
 * - grpc-balancer (after STATS) steering each RPC through the stateful_session header to the
 *   demo backends;
 * - add-header (after grpc-balancer), whose response header shows the chain ran.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { defaultIstioVersion, type DeployConfig, type PluginEntry } from "../../k8s/render/config.ts";
import { parseIstioVersion } from "../../k8s/istio/versions.ts";
import { objectYaml, renderFileName } from "../../k8s/render/output.ts";
import { renderPlugin, type ExtensionObject } from "../../k8s/render/render.ts";
import { validateRendered } from "../../k8s/render/validate.ts";
import { loadPolicyFile, pluginConfigObject } from "../../policy/index.ts";

export const DEMO_NAMESPACE = "demo";
export const DEMO_LABELS = { app: "demo" };
export const SESSION_HEADER = "x-meshwasm-endpoint";

export interface BuiltModule {
  name: string;
  file: string;
  version: string;
  wasm: Uint8Array;
}

export interface DemoPlugins {
  dir: string;
  objects: ExtensionObject[];
  /** "oci://127.0.0.1:PORT" or "file://" */
  source: string;
}

interface PluginSpec {
  filter: string;
  name?: string;
  pluginConfig: Record<string, unknown>;
  priority?: number;
  failStrategy?: "FAIL_OPEN";
  phase?: "UNSPECIFIED_PHASE";
}

async function specs(backendPorts: number[]): Promise<PluginSpec[]> {
  const { policy } = await loadPolicyFile(path.relative(process.cwd(), new URL("./demo-auth-policy.yaml", import.meta.url).pathname));
  return [
    { filter: "grpc-auth", pluginConfig: pluginConfigObject(policy) },
    { filter: "grpc-metrics", pluginConfig: { max_methods: 50 } },
    {
      filter: "grpc-balancer",
      pluginConfig: {
        mode: "SESSION_HEADER",
        header: SESSION_HEADER,
        clusters: ["demo_backends"],
        endpoints: backendPorts.map((p) => ({ cluster: "demo_backends", address: `127.0.0.1:${p}` })),
      },
    },
    {
      filter: "add-header",
      phase: "UNSPECIFIED_PHASE",
      priority: 0,
      failStrategy: "FAIL_OPEN",
      pluginConfig: { request_header_name: "x-mesh-sidecar", request_header_value: "meshwasm", response_header_name: "x-mesh-filter", response_header_value: "add-header" },
    },
  ];
}

/**
 * Renders and writes the demo's WasmPlugins. `push(module)` publishes a module and returns its
 * `registry/repository` and manifest digest (hex); without it the URLs are file://.
 */
export async function writeDemoPlugins(
  modules: Map<string, BuiltModule>,
  backendPorts: number[],
  push?: (m: BuiltModule) => Promise<{ repository: string; digest: string }>,
): Promise<DemoPlugins> {
  const config: DeployConfig = {
    file: "demo",
    dir: process.cwd(),
    namespace: DEMO_NAMESPACE,
    istioVersion: parseIstioVersion(defaultIstioVersion()),
    kind: "WasmPlugin",
    selector: DEMO_LABELS,
    plugins: [],
  };
  const dir = await mkdtemp(path.join(tmpdir(), "meshwasm-demo-plugins-"));
  const objects: ExtensionObject[] = [];
  for (const [index, s] of (await specs(backendPorts)).entries()) {
    const built = modules.get(s.filter);
    if (!built) throw new Error(`the ${s.filter} filter was not built`);
    const entry: PluginEntry = {
      index,
      name: s.name ?? s.filter,
      filter: s.filter,
      image: built.file,
      imageWhere: built.file,
      where: `demo plugin ${s.filter}`,
      ...(s.phase ? { phase: s.phase } : {}),
      ...(s.priority !== undefined ? { priority: s.priority } : {}),
      ...(s.failStrategy ? { failStrategy: s.failStrategy } : {}),
    };
    const image = push ? await push(built) : { repository: "local", digest: "" };
    const rendered = renderPlugin(config, entry, { image: { ...image, version: built.version }, pluginConfig: s.pluginConfig });
    const object = rendered.object;
    if (!push) {
      // No registry: Envoy loads the module from its disk (sha256 is not checked for file://).
      const { sha256: _sha, url: _url, ...rest } = object.spec;
      object.spec = { ...(rest.selector ? { selector: rest.selector } : {}), url: pathToFileURL(built.file).href, ...rest };
    }
    validateRendered(object, entry.where, config);
    await writeFile(path.join(dir, renderFileName(object)), objectYaml(object));
    objects.push(object);
  }
  return { dir, objects, source: push ? "oci" : "file" };
}
