import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFilters, compileAssemblyScript, discoverFilters, sha256Hex, wasmApi, type BuildResult, REPO_ROOT } from "./index.ts";

/** Callbacks of ABI 0.2.1 (reference proxy-wasm-abi.md §1.2). */
const CALLBACKS = [
  "proxy_on_context_create", "proxy_on_vm_start", "proxy_on_configure",
  "proxy_on_request_headers", "proxy_on_request_body", "proxy_on_request_trailers",
  "proxy_on_response_headers", "proxy_on_response_body", "proxy_on_response_trailers",
  "proxy_on_new_connection", "proxy_on_downstream_data", "proxy_on_upstream_data",
  "proxy_on_downstream_connection_close", "proxy_on_upstream_connection_close",
  "proxy_on_done", "proxy_on_log", "proxy_on_delete", "proxy_on_tick", "proxy_on_http_call_response",
  "proxy_on_grpc_receive_initial_metadata", "proxy_on_grpc_receive_trailing_metadata",
  "proxy_on_grpc_receive", "proxy_on_grpc_close", "proxy_on_queue_ready", "proxy_on_foreign_function",
  "proxy_on_memory_allocate",
];

/** Host functions of ABI 0.2.1 (§1.3). */
const HOST_IMPORTS = new Set([
  "proxy_log", "proxy_get_log_level", "proxy_get_current_time_nanoseconds", "proxy_set_tick_period_milliseconds",
  "proxy_get_property", "proxy_set_property", "proxy_get_buffer_bytes", "proxy_get_buffer_status",
  "proxy_set_buffer_bytes", "proxy_get_header_map_pairs", "proxy_set_header_map_pairs", "proxy_get_header_map_size",
  "proxy_get_header_map_value", "proxy_add_header_map_value", "proxy_replace_header_map_value",
  "proxy_remove_header_map_value", "proxy_continue_stream", "proxy_close_stream", "proxy_get_status",
  "proxy_send_local_response", "proxy_http_call", "proxy_grpc_call", "proxy_grpc_stream", "proxy_grpc_send",
  "proxy_grpc_cancel", "proxy_grpc_close", "proxy_set_shared_data", "proxy_get_shared_data",
  "proxy_register_shared_queue", "proxy_resolve_shared_queue", "proxy_enqueue_shared_queue",
  "proxy_dequeue_shared_queue", "proxy_define_metric", "proxy_increment_metric", "proxy_record_metric",
  "proxy_get_metric", "proxy_set_effective_context", "proxy_done", "proxy_call_foreign_function",
]);

let outDir: string;
let result: BuildResult;

beforeAll(async () => {
  outDir = await mkdtemp(path.join(tmpdir(), "meshwasm-build-"));
  result = await buildFilters({ outDir, only: ["add-header", "noop"] });
});

afterAll(async () => {
  await rm(outDir, { recursive: true, force: true });
});

describe("buildFilters", () => {
  it("writes one module per filter with every proxy-wasm export and only env.* ABI imports", async () => {
    expect(result.modules.map((m) => m.file)).toEqual(["filters/add-header.wasm", "filters/noop.wasm"]);
    for (const m of result.modules) {
      const bytes = await readFile(path.join(outDir, m.file));
      const mod = new wasmApi.Module(bytes);
      const exports = new Map(wasmApi.Module.exports(mod).map((e) => [e.name, e.kind]));
      for (const name of [...CALLBACKS, "proxy_abi_version_0_2_1", "malloc", "_initialize"]) {
        expect([m.name, name, exports.get(name)]).toEqual([m.name, name, "function"]);
      }
      expect(exports.get("memory")).toBe("memory");
      for (const imp of wasmApi.Module.imports(mod)) {
        expect(imp.module).toBe("env");
        expect(imp.kind).toBe("function");
        expect(HOST_IMPORTS.has(imp.name), `unexpected import env.${imp.name}`).toBe(true);
      }
    }
  });

  it("writes a reproducible manifest whose digests and sizes match the files", async () => {
    const pkg = JSON.parse(await readFile(path.join(REPO_ROOT, "package.json"), "utf8")) as { version: string };
    const manifest = JSON.parse(await readFile(result.manifestPath, "utf8"));
    expect(manifest.version).toBe(pkg.version);
    expect(JSON.stringify(manifest)).not.toMatch(/built|time|date/i);
    for (const m of manifest.modules) {
      const bytes = await readFile(path.join(outDir, m.file));
      expect(m).toMatchObject({ abi: "0_2_1", version: pkg.version, size: bytes.length, sha256: sha256Hex(bytes) });
    }
    const again = await compileAssemblyScript("filters/examples/noop/assembly/index.ts", { target: "noop" });
    expect(sha256Hex(again)).toBe(manifest.modules.find((m: { name: string }) => m.name === "noop").sha256);
  });

  it("keeps the SDK's own cost under 15 KiB (noop vs an empty module)", () => {
    expect(result.sdk).toBeDefined();
    expect(result.sdk!.emptySize).toBeLessThan(200);
    expect(result.sdk!.bytes).toBe(result.sdk!.noopSize - result.sdk!.emptySize);
    expect(result.sdk!.bytes).toBeLessThan(15 * 1024);
  });

  it("rejects unknown filter names", async () => {
    await expect(buildFilters({ outDir, only: ["no-such-filter"] })).rejects.toThrow(/unknown filter/);
  });
});

describe("discoverFilters", () => {
  it("finds the examples and never the SDK", async () => {
    const found = await discoverFilters(REPO_ROOT);
    expect(found).toEqual(expect.arrayContaining([
      { name: "add-header", entry: "filters/examples/add-header/assembly/index.ts" },
      { name: "noop", entry: "filters/examples/noop/assembly/index.ts" },
    ]));
    expect(found.some((f) => f.entry.startsWith("filters/sdk/"))).toBe(false);
  });
});

describe("compileAssemblyScript", () => {
  it("reports compile errors with the diagnostics", async () => {
    await expect(compileAssemblyScript("virtual/broken.ts", { omitOptions: ["use"], sources: { "virtual/broken.ts": "export function f(): i32 { return nope; }\n" } }))
      .rejects.toThrow(/could not compile virtual\/broken\.ts[\s\S]*nope/);
  });
});
