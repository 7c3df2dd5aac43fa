/**
 * `meshwasm verify REF [--sha256 H]`: runs every check istio-agent runs on an `oci://` URL
 * (oci/pull.ts) without writing the module, and says what a WasmPlugin should pin. Exit 0 when
 * istio-agent would accept the image; otherwise its rejection, one line, exit 1.
 */
import type { Command } from "commander";
import { addRegistryFlags } from "../../oci/cli-flags.ts";

export interface VerifyCommandOptions {
  sha256?: string;
  json?: boolean;
  username?: string;
  passwordStdin?: boolean;
  dockerConfig?: string;
  insecure?: boolean;
}

export async function runVerifyCommand(ref: string, opts: VerifyCommandOptions): Promise<void> {
  const { pullWasmImage } = await import("../../oci/index.ts");
  const { authFromFlags } = await import("../../oci/cli-support.ts");
  const pulled = await pullWasmImage(ref, { auth: await authFromFlags(opts), insecure: opts.insecure, expectedSha256: opts.sha256 });
  const pinned = `oci://${pulled.ref.registry}/${pulled.ref.repository}@${pulled.manifestDigest}`;
  if (opts.json) {
    process.stdout.write(JSON.stringify({
      ok: true,
      url: pinned,
      sha256: pulled.manifestDigest.slice(7),
      variant: pulled.variant,
      indexDigest: pulled.indexDigest ?? null,
      moduleBytes: pulled.wasm.byteLength,
      moduleSha256: pulled.wasmSha256,
      warnings: pulled.warnings,
    }, null, 2) + "\n");
    return;
  }
  for (const w of pulled.warnings) process.stderr.write(`warning: ${w}\n`);
  process.stdout.write(
    `OK: istio-agent would accept ${ref}\n` +
      `  variant:  ${pulled.variant}${pulled.indexDigest ? ` (index ${pulled.indexDigest} resolved to linux/amd64)` : ""}\n` +
      `  module:   ${pulled.wasm.byteLength} B, sha256 ${pulled.wasmSha256}\n` +
      `  pin with: url: ${pinned}\n` +
      `            sha256: ${pulled.manifestDigest.slice(7)}\n`,
  );
}

/** Registers `meshwasm verify`. */
export function register(program: Command): void {
  addRegistryFlags(
    program
      .command("verify")
      .description("check an image exactly as istio-agent would before it is deployed")
      .argument("<ref>", "[oci://]REGISTRY/REPO[:TAG][@sha256:DIGEST]")
      .option("--sha256 <hex>", "expected manifest digest (WasmPlugin sha256)")
      .option("--json", "print the result as JSON"),
  ).action(async (ref: string, opts: VerifyCommandOptions) => runVerifyCommand(ref, opts));
}
