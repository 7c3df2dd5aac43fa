/** Public surface of the build area: compile filters, checks, digests, manifest, size report. */
export { buildFilters, abiVersionOf, checkModule, hasWasmHeader, sha256Hex, ASSEMBLYSCRIPT_VERSION } from "./build-filters.ts";
export type { BuildOptions, BuildProgress, BuildResult, BuiltModule, BuildManifest, SdkOverhead } from "./build-filters.ts";
export { compileAssemblyScript, REPO_ROOT } from "./compile.ts";
export type { CompileOptions } from "./compile.ts";
export { discoverFilters } from "./discover.ts";
export type { FilterSource } from "./discover.ts";
export { loadFilterMeta, parseFilterMeta, filterDirOf, FILTER_META_FILE } from "./filter-meta.ts";
export type { FilterMeta, FilterDefaults, Phase, FailStrategy } from "./filter-meta.ts";
export { sourceCommit, buildVersion } from "./git-info.ts";
export type { SourceCommit } from "./git-info.ts";
export { formatSizeReport, formatBuiltLine } from "./size-report.ts";
export { wasmApi } from "./wasm-api.ts";
export type { WasmApi, WasmMemory, WasmModule, WasmInstance, WasmExportDescriptor, WasmImportDescriptor } from "./wasm-api.ts";
