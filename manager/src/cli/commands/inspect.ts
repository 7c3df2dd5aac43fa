/**
 * `meshwasm inspect REF [--json]`: the manifest (digest, media type, size, annotations), its
 * config and layers, or an index's children and the one istio-agent would pick. No layer is
 * downloaded.
 */
import type { Command } from "commander";
import { addRegistryFlags } from "../../oci/cli-flags.ts";

export interface InspectCommandOptions {
  json?: boolean;
  username?: string;
  passwordStdin?: boolean;
  dockerConfig?: string;
  insecure?: boolean;
}

export async function runInspectCommand(ref: string, opts: InspectCommandOptions): Promise<void> {
  const { inspectImage, formatInspection } = await import("../../oci/index.ts");
  const { authFromFlags } = await import("../../oci/cli-support.ts");
  const result = await inspectImage(ref, { auth: await authFromFlags(opts), insecure: opts.insecure });
  process.stdout.write((opts.json ? JSON.stringify(result, null, 2) : formatInspection(result)) + "\n");
}

/** Registers `meshwasm inspect`. */
export function register(program: Command): void {
  addRegistryFlags(
    program
      .command("inspect")
      .description("show an image's manifest, layers, annotations, digest and size")
      .argument("<ref>", "[oci://]REGISTRY/REPO[:TAG][@sha256:DIGEST]")
      .option("--json", "print the result as JSON"),
  ).action(async (ref: string, opts: InspectCommandOptions) => runInspectCommand(ref, opts));
}
