/**
 * `meshwasm render -f meshwasm.yaml [-o DIR]`: the WasmPlugin (or, with `--kind
 * TrafficExtension`, TrafficExtension) objects of a deployment file as YAML for GitOps, pinned by
 * manifest digest, with pluginConfig compiled from the policy and configuration files, validated
 * offline against the real CRD of the targeted Istio release. Writes a YAML stream on stdout, or
 * one file per object into DIR. Tags are resolved in the registry (manifest only); `--offline`
 * needs digests and contacts nothing.
 */
import type { Command } from "commander";
import { addRegistryFlags, collect } from "../../oci/cli-flags.ts";

export interface RenderCommandOptions {
  file: string;
  out?: string;
  kind?: string;
  istioVersion?: string;
  namespace?: string;
  image?: string[];
  offline?: boolean;
  username?: string;
  passwordStdin?: boolean;
  dockerConfig?: string;
  insecure?: boolean;
}

export async function runRenderCommand(opts: RenderCommandOptions): Promise<void> {
  const { UserError } = await import("../../errors.ts");
  if (opts.kind !== undefined && opts.kind !== "WasmPlugin" && opts.kind !== "TrafficExtension") {
    throw new UserError(`--kind: expected WasmPlugin or TrafficExtension, got ${JSON.stringify(opts.kind)}`);
  }
  if (opts.out) await (await import("../path-checks.ts")).checkOutputFolder("--out", opts.out);
  const { loadDeployment } = await import("../../k8s/render/load.ts");
  const { yamlStream, objectYaml, renderFileName } = await import("../../k8s/render/output.ts");
  const { crdForTarget } = await import("../../k8s/istio/versions.ts");
  const auth = opts.offline ? undefined : await (await import("../../oci/cli-support.ts")).authFromFlags(opts);
  const loaded = await loadDeployment(opts.file, {
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
    ...(opts.istioVersion ? { istioVersion: opts.istioVersion } : {}),
    ...(opts.kind ? { kind: opts.kind as "WasmPlugin" | "TrafficExtension" } : {}),
    images: opts.image ?? [],
    offline: opts.offline === true,
    ...(auth ? { auth } : {}),
    insecure: opts.insecure === true,
  });
  const { config, rendered } = loaded;
  const release = crdForTarget(config.kind, config.istioVersion).release;
  const header = [`Rendered by meshwasm render from ${opts.file} for Istio ${config.istioVersion.text}`, `validated against the ${config.kind} CRD of istio.io/api ${release}`];
  const objects = rendered.map((r) => r.object);
  if (!opts.out) {
    process.stdout.write(yamlStream(objects, header));
    return;
  }
  const { mkdir, writeFile } = await import("node:fs/promises");
  const path = await import("node:path");
  await mkdir(opts.out, { recursive: true });
  for (const o of objects) {
    const file = path.join(opts.out, renderFileName(o));
    await writeFile(file, header.map((l) => `# ${l}\n`).join("") + objectYaml(o));
    process.stdout.write(`${file}\n`);
  }
}

/** Registers `meshwasm render`. */
export function register(program: Command): void {
  addRegistryFlags(
    program
      .command("render")
      .description("write the WasmPlugins (or TrafficExtensions) of a deployment file as YAML, pinned by digest and validated against the Istio CRD")
      .requiredOption("-f, --file <meshwasm.yaml>", "deployment file")
      .option("-o, --out <dir>", "write one file per object into this folder instead of a YAML stream on stdout")
      .option("--kind <kind>", "WasmPlugin (default) or TrafficExtension (Istio >= 1.30)")
      .option("--istio-version <version>", "the Istio release to target, e.g. 1.28 (default: the file's istioVersion)")
      .option("-n, --namespace <ns>", "namespace (default: the file's)")
      .option("--image <name=ref>", "use this image for a plugin or filter (repeatable)", collect, [])
      .option("--offline", "contact no registry: every image must be pinned by @sha256: digest"),
  ).action(async (opts: RenderCommandOptions) => runRenderCommand(opts));
}
