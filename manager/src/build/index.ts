/** Public surface of the build area: compile filters, digests, manifest, size report. */
export { buildFilters, abiVersionOf, sha256Hex } from "./build-filters.ts";
export type { BuildOptions, BuildResult, BuiltModule, BuildManifest, SdkOverhead } from "./build-filters.ts";
export { compileAssemblyScript, REPO_ROOT } from "./compile.ts";
export type { CompileOptions } from "./compile.ts";
export { discoverFilters } from "./discover.ts";
export type { FilterSource } from "./discover.ts";
export { formatSizeReport } from "./size-report.ts";
export { wasmApi } from "./wasm-api.ts";
export type { WasmApi, WasmMemory, WasmModule, WasmInstance, WasmExportDescriptor, WasmImportDescriptor } from "./wasm-api.ts";
