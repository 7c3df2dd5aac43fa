/**
 * WAT guests with the exact import/export shapes of modules built by the other proxy-wasm SDKs
 * (no Go, Rust or C++ Wasm toolchain is available here, so the shapes are reproduced by hand):
 *
 * - proxy-wasm-go-sdk on Go 1.24 `GOOS=wasip1` (reactor, go:wasmexport): exports
 *   `proxy_abi_version_0_2_0` (tetratelabs/proxy-wasm-go-sdk proxywasm/internal/abi_callback_version.go),
 *   `proxy_on_memory_allocate` and no `malloc` (proxywasm/internal/abi_callback_alloc.go),
 *   `_initialize`; imports the wasip1 set of reference §1.4 from `wasi_snapshot_preview1`.
 * - proxy-wasm-rust-sdk on wasm32-wasip1 (cdylib reactor): `proxy_abi_version_0_2_1`,
 *   `proxy_on_memory_allocate` (exported as `malloc` only on wasm32-unknown-unknown:
 *   proxy-wasm/proxy-wasm-rust-sdk src/allocator.rs), `_initialize`; Rust std imports
 *   fd_write, environ_get, environ_sizes_get, clock_time_get, random_get, proc_exit.
 * - proxy-wasm-cpp-sdk through emscripten (STANDALONE_WASM): `proxy_abi_version_0_2_1`,
 *   `malloc`, `_start` (runs main), `proxy_validate_configuration` and the metadata callbacks
 *   (proxy-wasm/proxy-wasm-cpp-sdk proxy_wasm_intrinsics.cc); imports
 *   `env.emscripten_notify_memory_growth` (called after memory.grow) and WASI fd_write,
 *   fd_close, fd_seek, proc_exit, environ_*.
 *
 * Each module logs through WASI fd_write at start-up and on_configure (echoing its plugin
 * configuration), and adds an `x-sdk: <sdk>` header to requests and responses.
 */
import { WASI_PARAMS } from "./hostcalls-guest.ts";

export interface SdkShape {
  sdk: "go" | "rust" | "cpp";
  abi: "0_2_0" | "0_2_1";
  allocator: "malloc" | "proxy_on_memory_allocate";
  start: "_initialize" | "_start";
  wasi: string;
  wasiImports: string[];
  extraEnvImports?: Array<[string, string, boolean]>;
  extraExports?: string[];
  /** WAT run by the start function (start-up: only WASI and emscripten calls are allowed). */
  startBody: string;
}

const GO_WASIP1 = ["sched_yield", "proc_exit", "args_get", "args_sizes_get", "clock_time_get", "environ_get", "environ_sizes_get", "fd_write", "random_get", "poll_oneoff", "fd_close", "fd_read", "fd_fdstat_get", "fd_fdstat_set_flags", "fd_prestat_get", "fd_prestat_dir_name"];

export const SDK_SHAPES: readonly SdkShape[] = [
  {
    sdk: "go",
    abi: "0_2_0",
    allocator: "proxy_on_memory_allocate",
    start: "_initialize",
    wasi: "wasi_snapshot_preview1",
    wasiImports: GO_WASIP1,
    // The Go runtime's start-up: args, environment, clocks, entropy, preopen scan.
    startBody: `(drop (call $w_args_sizes_get (i32.const 32) (i32.const 36)))
      (drop (call $w_environ_sizes_get (i32.const 32) (i32.const 36)))
      (drop (call $w_clock_time_get (i32.const 1) (i64.const 0) (i32.const 40)))
      (drop (call $w_random_get (i32.const 48) (i32.const 8)))
      (drop (call $w_fd_prestat_get (i32.const 3) (i32.const 48)))
      (drop (call $w_poll_oneoff (i32.const 48) (i32.const 56) (i32.const 0) (i32.const 40)))`,
  },
  {
    sdk: "rust",
    abi: "0_2_1",
    allocator: "proxy_on_memory_allocate",
    start: "_initialize",
    wasi: "wasi_snapshot_preview1",
    wasiImports: ["fd_write", "environ_get", "environ_sizes_get", "clock_time_get", "random_get", "proc_exit"],
    startBody: `(drop (call $w_environ_sizes_get (i32.const 32) (i32.const 36)))`,
  },
  {
    sdk: "cpp",
    abi: "0_2_1",
    allocator: "malloc",
    start: "_start",
    wasi: "wasi_snapshot_preview1",
    wasiImports: ["fd_write", "fd_close", "fd_seek", "proc_exit", "environ_get", "environ_sizes_get"],
    extraEnvImports: [["emscripten_notify_memory_growth", "i32", false]],
    extraExports: ["proxy_validate_configuration", "proxy_on_request_metadata", "proxy_on_response_metadata"],
    startBody: `(drop (memory.grow (i32.const 1))) (call $emscripten_notify_memory_growth (i32.const 0))`,
  },
];

/** The WAT text of a module shaped like `s`'s SDK output. */
export function sdkShapedWat(s: SdkShape): string {
  const wasi = s.wasiImports
    .map((n) => `(import "${s.wasi}" "${n}" (func $w_${n} ${WASI_PARAMS[n] ? `(param ${WASI_PARAMS[n]})` : ""} ${n === "proc_exit" ? "" : "(result i32)"}))`)
    .join("\n  ");
  const envExtra = (s.extraEnvImports ?? [])
    .map(([n, p, r]) => `(import "env" "${n}" (func $${n} (param ${p}) ${r ? "(result i32)" : ""}))`)
    .join("\n  ");
  const extra = (s.extraExports ?? []).map((n) =>
    n === "proxy_validate_configuration"
      ? `(func (export "${n}") (param i32 i32) (result i32) (i32.const 1))`
      : `(func (export "${n}") (param i32 i32) (result i32) (i32.const 0))`,
  );
  const tag = `x-sdk`;
  return `(module
  (import "env" "proxy_log" (func $proxy_log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_buffer_bytes" (func $get_buf (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value" (func $add_header (param i32 i32 i32 i32 i32) (result i32)))
  ${envExtra}
  ${wasi}
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 8192))
  (data (i32.const 1024) "${tag}")
  (data (i32.const 1040) "${s.sdk}")
  (data (i32.const 1056) "started\\0a")
  (data (i32.const 1072) "request\\0a")
  (data (i32.const 1088) "configured ")
  (func $alloc (export "${s.allocator}") (param $n i32) (result i32) (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.and (i32.add (i32.add (global.get $heap) (local.get $n)) (i32.const 7)) (i32.const -8)))
    (local.get $p))
  (func (export "proxy_abi_version_${s.abi}"))
  ;; fd_write(1, [ptr,len]) through an iovec at 64
  (func $stdout (param $ptr i32) (param $len i32)
    (i32.store (i32.const 64) (local.get $ptr))
    (i32.store (i32.const 68) (local.get $len))
    (drop (call $w_fd_write (i32.const 1) (i32.const 64) (i32.const 1) (i32.const 72))))
  (func (export "${s.start}") ${s.startBody} (call $stdout (i32.const 1056) (i32.const 8)))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (local $p i32) (local $n i32)
    (if (call $get_buf (i32.const 7) (i32.const 0) (local.get 1) (i32.const 80) (i32.const 84)) (then (return (i32.const 0))))
    ;; "configured " + configuration, written in two iovecs
    (i32.store (i32.const 64) (i32.const 1088))
    (i32.store (i32.const 68) (i32.const 11))
    (i32.store (i32.const 72) (i32.load (i32.const 80)))
    (i32.store (i32.const 76) (i32.load (i32.const 84)))
    (drop (call $w_fd_write (i32.const 1) (i32.const 64) (i32.const 2) (i32.const 88)))
    (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (drop (call $add_header (i32.const 0) (i32.const 1024) (i32.const 5) (i32.const 1040) (i32.const ${s.sdk.length})))
    (call $stdout (i32.const 1072) (i32.const 8))
    (i32.const 0))
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
    (drop (call $add_header (i32.const 2) (i32.const 1024) (i32.const 5) (i32.const 1040) (i32.const ${s.sdk.length})))
    (i32.const 0))
  (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))
  (func (export "proxy_on_log") (param i32))
  (func (export "proxy_on_delete") (param i32))
  ${extra.join("\n  ")}
)`;
}

export async function buildSdkShaped(s: SdkShape): Promise<Uint8Array> {
  const wabt = await (await import("wabt")).default();
  const mod = wabt.parseWat(`${s.sdk}.wat`, sdkShapedWat(s));
  try {
    return new Uint8Array(mod.toBinary({}).buffer);
  } finally {
    mod.destroy();
  }
}
