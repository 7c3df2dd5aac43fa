/**
 * Builds small proxy-wasm guest modules from WAT for host conformance tests.
 *
 * `new Guest()` starts a module with exported memory (2 pages), a bump allocator exported as
 * `malloc` and `proxy_abi_version_0_2_1`. Host calls are written as WAT expressions with
 * `g.hc(name, ...args)` (the env import is declared on first use); `g.str(s)` places a string
 * in a data segment and yields its `(ptr) (len)` pair; `g.rec(slot, expr)` stores an i32 result
 * in a result slot the test reads back with `readSlot`. Out-params use the fixed scratch
 * addresses OUT_PTR / OUT_LEN / OUT_3 (`readOut` reads the (ptr,len) value the host wrote).
 */
import { testPluginConfig } from "../../manager/src/sidecar/host/testing.ts";
import type { WasmVm } from "../../manager/src/sidecar/host/vm.ts";

export const OUT_PTR = 256;
export const OUT_LEN = 260;
export const OUT_3 = 264;
/** Result slots start here, 4 bytes each. */
export const SLOTS = 512;

export const IMPORT_PARAMS: Record<string, string> = {
  proxy_log: "i32 i32 i32",
  proxy_get_log_level: "i32",
  proxy_get_current_time_nanoseconds: "i32",
  proxy_set_tick_period_milliseconds: "i32",
  proxy_get_property: "i32 i32 i32 i32",
  proxy_set_property: "i32 i32 i32 i32",
  proxy_get_buffer_bytes: "i32 i32 i32 i32 i32",
  proxy_get_buffer_status: "i32 i32 i32",
  proxy_set_buffer_bytes: "i32 i32 i32 i32 i32",
  proxy_get_header_map_pairs: "i32 i32 i32",
  proxy_set_header_map_pairs: "i32 i32 i32",
  proxy_get_header_map_size: "i32 i32",
  proxy_get_header_map_value: "i32 i32 i32 i32 i32",
  proxy_add_header_map_value: "i32 i32 i32 i32 i32",
  proxy_replace_header_map_value: "i32 i32 i32 i32 i32",
  proxy_remove_header_map_value: "i32 i32 i32",
  proxy_continue_stream: "i32",
  proxy_close_stream: "i32",
  proxy_get_status: "i32 i32 i32",
  proxy_send_local_response: "i32 i32 i32 i32 i32 i32 i32 i32",
  proxy_http_call: "i32 i32 i32 i32 i32 i32 i32 i32 i32 i32",
  proxy_grpc_call: "i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32",
  proxy_grpc_stream: "i32 i32 i32 i32 i32 i32 i32 i32 i32",
  proxy_grpc_send: "i32 i32 i32 i32",
  proxy_grpc_cancel: "i32",
  proxy_grpc_close: "i32",
  proxy_set_shared_data: "i32 i32 i32 i32 i32",
  proxy_get_shared_data: "i32 i32 i32 i32 i32",
  proxy_register_shared_queue: "i32 i32 i32",
  proxy_resolve_shared_queue: "i32 i32 i32 i32 i32",
  proxy_enqueue_shared_queue: "i32 i32 i32",
  proxy_dequeue_shared_queue: "i32 i32 i32",
  proxy_define_metric: "i32 i32 i32 i32",
  proxy_increment_metric: "i32 i64",
  proxy_record_metric: "i32 i64",
  proxy_get_metric: "i32 i32",
  proxy_set_effective_context: "i32",
  proxy_done: "",
  proxy_call_foreign_function: "i32 i32 i32 i32 i32 i32",
};

/** Callback exports: parameter count and whether they return an i32. */
const CALLBACKS: Record<string, [number, boolean]> = {
  proxy_on_context_create: [2, false],
  proxy_on_vm_start: [2, true],
  proxy_on_configure: [2, true],
  proxy_on_request_headers: [3, true],
  proxy_on_request_body: [3, true],
  proxy_on_request_trailers: [2, true],
  proxy_on_response_headers: [3, true],
  proxy_on_response_body: [3, true],
  proxy_on_response_trailers: [2, true],
  proxy_on_done: [1, true],
  proxy_on_log: [1, false],
  proxy_on_delete: [1, false],
  proxy_on_tick: [1, false],
  proxy_on_http_call_response: [5, false],
  proxy_on_queue_ready: [2, false],
  proxy_on_foreign_function: [3, false],
  _initialize: [0, false],
  _start: [0, false],
  main: [2, true],
  __main_void: [0, true],
};

export class Guest {
  private readonly imports = new Map<string, string>();
  private readonly funcs: string[] = [];
  private readonly data: string[] = [];
  private nextData = 1024;
  abi: "0_2_0" | "0_2_1" | "0_1_0" | "none" = "0_2_1";
  allocator: "malloc" | "proxy_on_memory_allocate" | "both" | "none" = "malloc";

  /** A string in a data segment, as the WAT operands `(i32.const ptr) (i32.const len)`. */
  str(s: string): string {
    return this.bytes(new TextEncoder().encode(s));
  }

  /** Raw bytes in a data segment, as `(i32.const ptr) (i32.const len)`. */
  bytes(bytes: Uint8Array): string {
    const ptr = this.nextData;
    this.nextData += bytes.length + 8 - (bytes.length % 8);
    const esc = [...bytes].map((b) => "\\" + b.toString(16).padStart(2, "0")).join("");
    this.data.push(`(data (i32.const ${ptr}) "${esc}")`);
    return `(i32.const ${ptr}) (i32.const ${bytes.length})`;
  }

  /** A call to an env host import. */
  hc(name: string, ...args: Array<string | number>): string {
    const params = IMPORT_PARAMS[name];
    if (params === undefined) throw new Error(`unknown host call ${name}`);
    this.imports.set(`env.${name}`, `(import "env" "${name}" (func $${name} (param ${params}) (result i32)))`);
    return `(call $${name} ${args.map((a) => (typeof a === "number" ? `(i32.const ${a})` : a)).join(" ")})`;
  }

  /** Declares an arbitrary import, e.g. `(import "env" "nope" (func $nope))`. */
  rawImport(key: string, wat: string): this {
    this.imports.set(key, wat);
    return this;
  }

  /** `proxy_log(info, s)`, dropping the result. */
  log(s: string, level = 2): string {
    return `(drop ${this.hc("proxy_log", level, this.str(s))})`;
  }

  /** Stores an i32 expression in result slot `slot`. */
  rec(slot: number, expr: string): string {
    return `(i32.store (i32.const ${SLOTS + slot * 4}) ${expr})`;
  }

  /** Exports a callback; params are $a0..$aN; `result` is the returned i32 expression. */
  on(name: string, body: string, result = "(i32.const 0)"): this {
    const sig = CALLBACKS[name];
    if (!sig) throw new Error(`unknown callback ${name}`);
    const [n, returns] = sig;
    const params = Array.from({ length: n }, (_, i) => `(param $a${i} i32)`).join(" ");
    this.funcs.push(`(func (export "${name}") ${params} ${returns ? "(result i32)" : ""} ${body} ${returns ? result : ""})`);
    return this;
  }

  /** Raw WAT module fields. */
  raw(wat: string): this {
    this.funcs.push(wat);
    return this;
  }

  wat(): string {
    const alloc = `(func $alloc (param $n i32) (result i32) (local $p i32)
        (local.set $p (global.get $heap))
        (global.set $heap (i32.and (i32.add (i32.add (global.get $heap) (local.get $n)) (i32.const 7)) (i32.const -8)))
        (if (i32.gt_u (global.get $heap) (i32.shl (memory.size) (i32.const 16)))
          (then (drop (memory.grow (i32.add (i32.shr_u (local.get $n) (i32.const 16)) (i32.const 1))))))
        (global.set $allocs (i32.add (global.get $allocs) (i32.const 1)))
        (local.get $p))`;
    const exportsAlloc =
      this.allocator === "none"
        ? ""
        : this.allocator === "both"
          ? `(export "malloc" (func $alloc)) (export "proxy_on_memory_allocate" (func $alloc2))`
          : `(export "${this.allocator}" (func $alloc))`;
    return `(module
      ${[...this.imports.values()].join("\n")}
      (memory (export "memory") 2)
      (global $heap (mut i32) (i32.const 4096))
      (global $allocs (export "allocs") (mut i32) (i32.const 0))
      ${alloc}
      (func $alloc2 (param $n i32) (result i32) (unreachable))
      ${exportsAlloc}
      ${this.abi === "none" ? "" : `(func (export "proxy_abi_version_${this.abi}"))`}
      ${this.data.join("\n")}
      ${this.funcs.join("\n")}
    )`;
  }

  async build(): Promise<Uint8Array> {
    const wabt = await (await import("wabt")).default();
    const mod = wabt.parseWat("guest.wat", this.wat());
    try {
      return new Uint8Array(mod.toBinary({}).buffer);
    } finally {
      mod.destroy();
    }
  }
}

/** Reads result slot `slot` from the VM's memory. */
export function readSlot(vm: WasmVm, slot: number): number {
  return new DataView(vm.exportedMemory().buffer).getUint32(SLOTS + slot * 4, true);
}

/** Reads the (ptr, len) value at OUT_PTR / OUT_LEN as bytes. */
export function readOut(vm: WasmVm): Uint8Array {
  const view = new DataView(vm.exportedMemory().buffer);
  const ptr = view.getUint32(OUT_PTR, true);
  const len = view.getUint32(OUT_LEN, true);
  return new Uint8Array(vm.exportedMemory().buffer, ptr, len).slice();
}

export function readOutString(vm: WasmVm): string {
  return new TextDecoder().decode(readOut(vm));
}

/** Number of guest allocator calls so far. */
export function allocCount(vm: WasmVm): number {
  const g = vm.instanceExports()["allocs"] as WebAssembly.Global;
  return Number(g.value);
}

/** A plugin config for `code` with Envoy's defaults. */
/** A plugin configuration for a guest (the host's test default). */
export const pluginConfig = testPluginConfig;
