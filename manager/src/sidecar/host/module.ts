/**
 * Loading and validating a proxy-wasm module before any VM exists (proxy-wasm-cpp-host
 * `src/bytecode_util.cc`, `WasmBase::load`).
 *
 * Contract of `loadModule(code)`:
 * - Bytes that are not WebAssembly (bad magic, or rejected by the compiler) fail with a
 *   `ModuleLoadError` whose reason says so.
 * - The ABI is detected from the exports `proxy_abi_version_0_2_0` / `proxy_abi_version_0_2_1`;
 *   `proxy_abi_version_0_1_0` or none fails with "Missing or unknown Proxy-Wasm ABI version".
 * - The allocator is `malloc` if exported, else `proxy_on_memory_allocate` ([Envoy] order,
 *   the reverse of the spec's); neither fails with "missing malloc function".
 * Unknown imports are checked at link time (vm.ts `linkImports`), where the provided set is known.
 */
import { createHash } from "node:crypto";

export type AbiVersion = "0.2.0" | "0.2.1";

export class ModuleLoadError extends Error {
  override readonly name = "ModuleLoadError";
  constructor(readonly reason: string, options?: { cause?: unknown }) {
    super(reason, options);
  }
}

export interface LoadedModule {
  readonly module: WebAssembly.Module;
  readonly abiVersion: AbiVersion;
  /** "malloc" or "proxy_on_memory_allocate". */
  readonly allocator: string;
  readonly exportNames: ReadonlySet<string>;
  readonly imports: WebAssembly.ModuleImportDescriptor[];
  /** Hex sha256 of the code. */
  readonly sha256: string;
}

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

export async function loadModule(code: Uint8Array): Promise<LoadedModule> {
  if (code.length < 8 || WASM_MAGIC.some((b, i) => code[i] !== b)) {
    throw new ModuleLoadError("not a WebAssembly module (missing \\0asm magic)");
  }
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(code as Uint8Array<ArrayBuffer>);
  } catch (e) {
    throw new ModuleLoadError(`not a valid WebAssembly module: ${(e as Error).message}`, { cause: e });
  }
  const exportNames = new Set<string>(WebAssembly.Module.exports(module).map((e: { name: string }) => e.name));
  let abiVersion: AbiVersion;
  if (exportNames.has("proxy_abi_version_0_2_1")) abiVersion = "0.2.1";
  else if (exportNames.has("proxy_abi_version_0_2_0")) abiVersion = "0.2.0";
  else throw new ModuleLoadError("Missing or unknown Proxy-Wasm ABI version");
  let allocator: string;
  if (exportNames.has("malloc")) allocator = "malloc";
  else if (exportNames.has("proxy_on_memory_allocate")) allocator = "proxy_on_memory_allocate";
  else throw new ModuleLoadError("missing malloc function (neither malloc nor proxy_on_memory_allocate is exported)");
  return {
    module,
    abiVersion,
    allocator,
    exportNames,
    imports: WebAssembly.Module.imports(module),
    sha256: createHash("sha256").update(code).digest("hex"),
  };
}
