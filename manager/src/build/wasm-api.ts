/**
 * The slice of the global WebAssembly JS API the build and its tests use, typed locally:
 * the project's TypeScript libs (ES2023 + @types/node 20) do not declare WebAssembly.
 */
export interface WasmExportDescriptor { name: string; kind: string }
export interface WasmImportDescriptor { module: string; name: string; kind: string }
export interface WasmMemory { readonly buffer: ArrayBuffer }
export type WasmModule = object;
export interface WasmInstance { readonly exports: Record<string, unknown> }

export interface WasmApi {
  Module: {
    new (bytes: Uint8Array): WasmModule;
    exports(module: WasmModule): WasmExportDescriptor[];
    imports(module: WasmModule): WasmImportDescriptor[];
  };
  instantiate(bytes: Uint8Array, imports: object): Promise<{ module: WasmModule; instance: WasmInstance }>;
}

export const wasmApi: WasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
