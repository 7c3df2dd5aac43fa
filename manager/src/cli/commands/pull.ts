/**
 * `meshwasm pull REF [-o FILE] [--sha256 H]`: fetches a Wasm module exactly as istio-agent
 * does (oci/pull.ts) and writes it to FILE (default `<last repository component>.wasm`; `-`
 * for stdout). Prints the manifest digest and the module's sha256. Rejections are istio-agent's
 * messages, one line, exit 1.
 */
import type { Command } from "commander";
import { addRegistryFlags } from "../../oci/cli-flags.ts";

export interface PullCommandOptions {
  output?: string;
  sha256?: string;
  username?: string;
  passwordStdin?: boolean;
  dockerConfig?: string;
  insecure?: boolean;
}

export async function runPullCommand(ref: string, opts: PullCommandOptions): Promise<void> {
  const { pullWasmImage } = await import("../../oci/index.ts");
  const { authFromFlags } = await import("../../oci/cli-support.ts");
  const { writeFile } = await import("node:fs/promises");
  if (opts.output !== undefined && opts.output !== "-") await (await import("../path-checks.ts")).checkOutputFile("--output", opts.output);
  const pulled = await pullWasmImage(ref, { auth: await authFromFlags(opts), insecure: opts.insecure, expectedSha256: opts.sha256 });
  for (const w of pulled.warnings) process.stderr.write(`warning: ${w}\n`);
  const out = opts.output ?? `${pulled.ref.repository.split("/").pop()}.wasm`;
  if (out === "-") process.stdout.write(pulled.wasm);
  else await writeFile(out, pulled.wasm);
  const info = `${pulled.ref.registry}/${pulled.ref.repository}@${pulled.manifestDigest} -> ${out === "-" ? "stdout" : out} (${pulled.wasm.byteLength} B, module sha256 ${pulled.wasmSha256})\n`;
  (out === "-" ? process.stderr : process.stdout).write(info);
}

/** Registers `meshwasm pull`. */
export function register(program: Command): void {
  addRegistryFlags(
    program
      .command("pull")
      .description("fetch a Wasm module from an OCI image exactly as istio-agent does")
      .argument("<ref>", "[oci://]REGISTRY/REPO[:TAG][@sha256:DIGEST]")
      .option("-o, --output <file>", "where to write the module ('-' for stdout; default <repo>.wasm)")
      .option("--sha256 <hex>", "expected manifest digest (WasmPlugin sha256)"),
  ).action(async (ref: string, opts: PullCommandOptions) => runPullCommand(ref, opts));
}
