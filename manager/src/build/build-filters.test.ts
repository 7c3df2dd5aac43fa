import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFilters, buildVersion, checkModule, compileAssemblyScript, discoverFilters, hasWasmHeader, parseFilterMeta, sha256Hex, sourceCommit, wasmApi, type BuildResult, REPO_ROOT } from "./index.ts";

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

  it("writes a manifest whose digests and sizes match the files, with versions from filter.json plus the commit", async () => {
    const pkg = JSON.parse(await readFile(path.join(REPO_ROOT, "package.json"), "utf8")) as { version: string };
    const manifest = JSON.parse(await readFile(result.manifestPath, "utf8"));
    expect(manifest.version).toBe(pkg.version);
    expect(manifest.assemblyscript).toMatch(/^\d+\.\d+\.\d+/);
    expect(JSON.stringify(manifest)).not.toMatch(/time|date|\/tmp|\/home|\/root/i);
    // HEAD may move while this file runs (a shared work tree); the manifest's own commit is checked.
    const source = { commit: manifest.commit as string | null, dirty: manifest.dirty as boolean };
    if ((await sourceCommit(REPO_ROOT)).commit) expect(source.commit).toMatch(/^[0-9a-f]{40}$/);
    for (const m of manifest.modules) {
      const bytes = await readFile(path.join(outDir, m.file));
      const meta = JSON.parse(await readFile(path.join(REPO_ROOT, "filters/examples", m.name, "filter.json"), "utf8")) as { version: string };
      expect(m).toMatchObject({
        abi: "0_2_1", size: bytes.length, sha256: sha256Hex(bytes), filterVersion: meta.version, versionSource: "filter.json",
        version: buildVersion(meta.version, source), commit: source.commit, assemblyscript: manifest.assemblyscript,
      });
      if (source.commit) expect(m.version).toMatch(new RegExp(`^${meta.version.replace(/\./g, "\\.")}\\+[0-9a-f]{12}(\\.dirty)?$`));
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

describe("module checks", () => {
  it("needs the Wasm magic and version 1, and a proxy_abi_version export", async () => {
    const noop = await readFile(path.join(outDir, "filters/noop.wasm"));
    expect(hasWasmHeader(noop)).toBe(true);
    expect(checkModule("x.ts", noop)).toBe("0_2_1");
    const wrongVersion = Uint8Array.from(noop);
    wrongVersion[4] = 2;
    expect(() => checkModule("x.ts", wrongVersion)).toThrow(/x\.ts: the compiler output is not a Wasm 1\.0 module/);
    expect(() => checkModule("x.ts", new TextEncoder().encode("not wasm"))).toThrow(/not a Wasm/);
    const empty = await compileAssemblyScript("virtual/empty.ts", { omitOptions: ["use"], sources: { "virtual/empty.ts": "export function f(): i32 { return 1; }\n" } });
    expect(() => checkModule("virtual/empty.ts", empty)).toThrow(/does not export proxy_abi_version_\*/);
  });
});

describe("parseFilterMeta", () => {
  const ok = { name: "f", version: "1.2.3-rc.1", description: "d", defaults: { phase: "AUTHZ", priority: -5, failStrategy: "FAIL_OPEN" } };
  it("accepts a complete filter.json", () => {
    expect(parseFilterMeta(ok, "f", "filters/f/filter.json")).toEqual({ ...ok, versionSource: "filter.json" });
  });
  it.each([
    [{ ...ok, name: "g" }, /filters\/f\/filter\.json: name: must be the folder name "f"/],
    [{ ...ok, version: "1.2" }, /version: expected a SemVer version/],
    [{ ...ok, version: "1.2.3+abc" }, /version: expected a SemVer version/],
    [{ ...ok, colour: 1 }, /: colour: unknown field/],
    [{ ...ok, defaults: { phase: "LATE" } }, /defaults\.phase: expected one of AUTHN, AUTHZ, STATS/],
    [{ ...ok, defaults: { priority: 2 ** 31 } }, /defaults\.priority: expected a 32-bit integer/],
    [{ ...ok, defaults: { failStrategy: "FAIL_CLOSED" } }, /defaults\.failStrategy: expected one of FAIL_CLOSE/],
    [[], /expected a JSON object/],
  ])("rejects %j", (raw, message) => {
    expect(() => parseFilterMeta(raw, "f", "filters/f/filter.json")).toThrow(message);
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
