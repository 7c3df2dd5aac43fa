/**
 * `meshwasm push FILTER REPO[:TAG]`: publishes a built filter (build/manifest.json) — or a
 * `.wasm` file — as an Istio compat image, then pulls it back by digest with istio-agent's
 * checks (unless --no-verify). Prints `REPO@sha256:<manifest digest>` on stdout; progress and
 * notes go to stderr; `--json` prints the whole result instead.
 */
import type { Command } from "commander";
import { UserError } from "../../errors.ts";
import { addRegistryFlags, collect } from "../../oci/cli-flags.ts";

export interface PushCommandOptions {
  buildDir?: string;
  version?: string;
  chunkSize?: string;
  mountFrom?: string[];
  verify?: boolean;
  json?: boolean;
  username?: string;
  passwordStdin?: boolean;
  dockerConfig?: string;
  insecure?: boolean;
}

export async function runPushCommand(filter: string, target: string, opts: PushCommandOptions): Promise<void> {
  const oci = await import("../../oci/index.ts");
  const { authFromFlags, parseByteSize } = await import("../../oci/cli-support.ts");
  const { readFile } = await import("node:fs/promises");
  const path = await import("node:path");
  let input: import("../../oci/index.ts").PushInput;
  if (filter.endsWith(".wasm")) {
    let wasm: Uint8Array;
    try {
      wasm = new Uint8Array(await readFile(filter));
    } catch (e) {
      throw new UserError(`cannot read ${filter}: ${(await import("../failure.ts")).reasonOf(e)}`);
    }
    const name = path.basename(filter, ".wasm");
    if (!oci.hasWasmMagic(wasm)) throw new UserError(`${filter}: not a Wasm module (it does not start with the \\0asm magic); nothing was pushed`);
    input = { wasm, name, version: opts.version ?? "0.0.0" };
  } else {
    const { loadBuiltFilter, DEFAULT_BUILD_DIR } = await import("../../oci/build-manifest.ts");
    const built = await loadBuiltFilter(opts.buildDir ?? DEFAULT_BUILD_DIR, filter);
    input = { wasm: built.wasm, name: built.name, version: opts.version ?? built.version, revision: built.commit, abi: built.abi, description: built.description };
  }
  const auth = await authFromFlags(opts);
  const result = await oci.pushWasmImage(target, input, {
    auth,
    insecure: opts.insecure,
    chunkSize: opts.chunkSize ? parseByteSize(opts.chunkSize, "--chunk-size") : undefined,
    mountFrom: opts.mountFrom,
    onProgress: opts.json
      ? undefined
      : (e) => {
          if (e.kind === "blob") {
            const how = e.report.outcome === "mounted" ? `mounted from ${e.report.mountedFrom}` : e.report.outcome === "exists" ? "already present" : `uploaded${e.report.chunks ? ` in ${e.report.chunks} chunks` : ""}`;
            process.stderr.write(`${e.role} ${e.digest} (${e.size} B): ${how}\n`);
          } else {
            process.stderr.write(`manifest ${e.digest} tagged ${e.tag}\n`);
          }
        },
  });
  let verified: import("../../oci/index.ts").PulledImage | undefined;
  if (opts.verify !== false) {
    verified = await oci.pullWasmImage(result.pinned, { auth, insecure: opts.insecure, expectedSha256: result.manifestDigest });
  }
  if (opts.json) {
    process.stdout.write(JSON.stringify({ ...result, verified: verified ? { variant: verified.variant, wasmSha256: verified.wasmSha256 } : null }, null, 2) + "\n");
    return;
  }
  for (const w of verified?.warnings ?? []) process.stderr.write(`warning: ${w}\n`);
  if (verified) process.stderr.write(`verified: istio-agent would accept ${result.pinned} (${verified.variant}, plugin.wasm ${verified.wasm.byteLength} B)\n`);
  process.stdout.write(`${result.pinned}\n`);
}

/** Registers `meshwasm push`. */
export function register(program: Command): void {
  addRegistryFlags(
    program
      .command("push")
      .description("publish a built filter (or a .wasm file) as an Istio-compatible OCI image; prints REPO@sha256:<manifest digest>")
      .argument("<filter>", "filter name from build/manifest.json, or a path to a .wasm file")
      .argument("<repo>", "REPO[:TAG]; the tag defaults to the filter version ('+' becomes '_')")
      .option("--build-dir <dir>", "where `meshwasm build` wrote manifest.json (default: the repository's build/)")
      .option("--version <version>", "version annotation (default: the built version; 0.0.0 for a .wasm file)")
      .option("--chunk-size <bytes>", "upload blobs larger than this in chunks of it (default 8M)")
      .option("--mount-from <repo>", "another repository of the registry to mount blobs from (repeatable)", collect, [])
      .option("--no-verify", "skip pulling the image back with istio-agent's checks")
      .option("--json", "print the result as JSON"),
  ).action(async (filter: string, target: string, opts: PushCommandOptions) => runPushCommand(filter, target, opts));
}
