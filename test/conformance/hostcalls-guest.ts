/**
 * The `hostcalls` guest: one WAT module, in the spirit of Kong's `hostcalls` test filter, that
 * imports every env and WASI host function of ABI 0.2.1 and calls whichever its configuration
 * asks for, from whichever callback.
 *
 * The program is the VM configuration (always readable, as in Envoy, so even the root
 * `proxy_on_context_create` and `proxy_on_vm_start` can run steps). The guest reads it on its
 * first callback, copies it to CFG and, at each callback, runs the steps registered for it:
 *   program = u32 count, then per step: u32 callback, u32 import index (or RETURN), u32 argc,
 *             argc x (u32 kind, u64 value); kind 0 = the value, kind 2 = the i32 stored at
 *             address `value` (e.g. a token an earlier step wrote).
 * Step i stores its i32 result at RESULTS + 8i and increments the hit count at RESULTS + 8i + 4.
 * Static data: "hello\n" at 2048 and an iovec {2048, 6} at out(40), for fd_write steps.
 * A RETURN step sets the callback's return value (default 1 for vm_start/configure/done, else 0).
 * String and byte arguments live after the steps; the encoder turns each into (ptr, len).
 */
import type { WasmVm } from "../../manager/src/sidecar/host/vm.ts";
import { IMPORT_PARAMS } from "./guest.ts";

export const SCRATCH = 256;
export const ROOT_FLAGS = 1024;
export const RESULTS = 16384;
export const CFG = 65536;
const HEAP = 262144;
const RETURN = 0xffff;

/** Scratch address n (8 bytes apart, 96 slots). */
export const out = (n: number): number => SCRATCH + 8 * n;

export const CALLBACKS = [
  "root_create",
  "vm_start",
  "configure",
  "create",
  "request_headers",
  "request_body",
  "request_trailers",
  "response_headers",
  "response_body",
  "response_trailers",
  "log",
  "done",
  "delete",
  "tick",
  "http_call_response",
  "queue_ready",
  "root_done",
  "root_delete",
] as const;
export type Callback = (typeof CALLBACKS)[number];

/** WASI preview1 signatures (params; every one returns an errno except proc_exit). */
export const WASI_PARAMS: Record<string, string> = {
  fd_write: "i32 i32 i32 i32",
  fd_read: "i32 i32 i32 i32",
  fd_seek: "i32 i64 i32 i32",
  fd_close: "i32",
  fd_fdstat_get: "i32 i32",
  fd_fdstat_set_flags: "i32 i32",
  fd_prestat_get: "i32 i32",
  fd_prestat_dir_name: "i32 i32 i32",
  path_open: "i32 i32 i32 i32 i32 i64 i64 i32 i32",
  environ_sizes_get: "i32 i32",
  environ_get: "i32 i32",
  args_sizes_get: "i32 i32",
  args_get: "i32 i32",
  clock_time_get: "i32 i64 i32",
  clock_res_get: "i32 i32",
  random_get: "i32 i32",
  sched_yield: "",
  poll_oneoff: "i32 i32 i32 i32",
  proc_exit: "i32",
  fd_advise: "i32 i64 i64 i32",
  fd_allocate: "i32 i64 i64",
  fd_datasync: "i32",
  fd_filestat_get: "i32 i32",
  fd_filestat_set_size: "i32 i64",
  fd_filestat_set_times: "i32 i64 i64 i32",
  fd_pread: "i32 i32 i32 i64 i32",
  fd_pwrite: "i32 i32 i32 i64 i32",
  fd_readdir: "i32 i32 i32 i64 i32",
  fd_renumber: "i32 i32",
  fd_sync: "i32",
  fd_tell: "i32 i32",
  fd_fdstat_set_rights: "i32 i64 i64",
  path_create_directory: "i32 i32 i32",
  path_filestat_get: "i32 i32 i32 i32 i32",
  path_filestat_set_times: "i32 i32 i32 i32 i64 i64 i32",
  path_link: "i32 i32 i32 i32 i32 i32 i32",
  path_readlink: "i32 i32 i32 i32 i32 i32",
  path_remove_directory: "i32 i32 i32",
  path_rename: "i32 i32 i32 i32 i32 i32",
  path_symlink: "i32 i32 i32 i32 i32",
  path_unlink_file: "i32 i32 i32",
  sock_accept: "i32 i32 i32",
  sock_recv: "i32 i32 i32 i32 i32 i32",
  sock_send: "i32 i32 i32 i32 i32",
  sock_shutdown: "i32 i32",
  proc_raise: "i32",
};

interface ImportDef {
  /** "env.proxy_log", "wasi_unstable.fd_write", ... */
  key: string;
  module: string;
  name: string;
  params: string[];
  hasResult: boolean;
}

const ENV_EXTRA: Record<string, [string, boolean]> = {
  emscripten_notify_memory_growth: ["i32", false],
  pthread_equal: ["i32 i32", true],
};

/** Every import of the hostcalls guest, in table order. */
export const HOSTCALLS_IMPORTS: readonly ImportDef[] = (() => {
  const defs: ImportDef[] = [];
  const split = (p: string) => (p === "" ? [] : p.split(" "));
  for (const [name, params] of Object.entries(IMPORT_PARAMS)) {
    defs.push({ key: `env.${name}`, module: "env", name, params: split(params), hasResult: true });
  }
  for (const [name, [params, hasResult]] of Object.entries(ENV_EXTRA)) {
    defs.push({ key: `env.${name}`, module: "env", name, params: split(params), hasResult });
  }
  for (const ns of ["wasi_snapshot_preview1", "wasi_unstable"]) {
    for (const [name, params] of Object.entries(WASI_PARAMS)) {
      defs.push({ key: `${ns}.${name}`, module: ns, name, params: split(params), hasResult: name !== "proc_exit" });
    }
  }
  return defs;
})();

/** A step argument: a number (i32 or i64 by position), a string/bytes (expands to ptr, len), or a load. */
export type Arg = number | bigint | string | Uint8Array | { load: number };

export interface Step {
  on: Callback;
  /** An import key ("env.proxy_log"), a bare env name ("proxy_log"), or "return". */
  call: string;
  args?: Arg[];
}

export function importKey(call: string): string {
  return call.includes(".") ? call : `env.${call}`;
}

/** Encodes a program (the VM configuration of a hostcalls plugin). */
export function encodeProgram(steps: readonly Step[]): Uint8Array {
  const data: Uint8Array[] = [];
  let dataLen = 0;
  const argWords: Array<Array<[number, bigint]>> = [];
  // First pass: sizes, so data addresses are known.
  let headerBytes = 4;
  const expanded = steps.map((s) => {
    const args: Array<number | bigint | Uint8Array | { load: number }> = [];
    for (const a of s.args ?? []) {
      if (typeof a === "string") args.push(new TextEncoder().encode(a));
      else args.push(a);
    }
    const argc = args.reduce<number>((n, a) => n + (a instanceof Uint8Array ? 2 : 1), 0);
    headerBytes += 12 + argc * 12;
    return args;
  });
  steps.forEach((s, i) => {
    const cb = CALLBACKS.indexOf(s.on);
    if (cb < 0) throw new Error(`unknown callback ${s.on}`);
    let imp = RETURN;
    if (s.call !== "return") {
      imp = HOSTCALLS_IMPORTS.findIndex((d) => d.key === importKey(s.call));
      if (imp < 0) throw new Error(`unknown import ${s.call}`);
    }
    const list: Array<[number, bigint]> = [];
    for (const a of expanded[i]!) {
      if (a instanceof Uint8Array) {
        list.push([0, BigInt(CFG + headerBytes + dataLen)], [0, BigInt(a.length)]);
        data.push(a);
        dataLen += a.length;
      } else if (typeof a === "object") list.push([2, BigInt(a.load)]);
      else list.push([0, BigInt.asUintN(64, BigInt(a))]);
    }
    if (imp !== RETURN) {
      const want = HOSTCALLS_IMPORTS[imp]!.params.length;
      if (list.length !== want) throw new Error(`${s.call} takes ${want} arguments, got ${list.length}`);
    }
    argWords.push(list);
  });
  const buf = new Uint8Array(headerBytes + dataLen);
  const dv = new DataView(buf.buffer);
  let off = 0;
  dv.setUint32(off, steps.length, true);
  off += 4;
  for (let i = 0; i < steps.length; i++) {
    const list = argWords[i]!;
    const cb = CALLBACKS.indexOf(steps[i]!.on);
    const imp = steps[i]!.call === "return" ? RETURN : HOSTCALLS_IMPORTS.findIndex((d) => d.key === importKey(steps[i]!.call));
    dv.setUint32(off, cb, true);
    dv.setUint32(off + 4, imp, true);
    dv.setUint32(off + 8, list.length, true);
    off += 12;
    for (const [k, v] of list) {
      dv.setUint32(off, k, true);
      dv.setBigUint64(off + 4, v, true);
      off += 12;
    }
  }
  for (const d of data) {
    buf.set(d, off);
    off += d.length;
  }
  return buf;
}

function thunk(i: number, d: ImportDef): string {
  const args = d.params
    .map((t, k) => (t === "i64" ? `(i64.load offset=4 (i32.add (local.get $a) (i32.const ${k * 12})))` : `(call $a32 (i32.add (local.get $a) (i32.const ${k * 12})))`))
    .join(" ");
  const callExpr = `(call $imp${i} ${args})`;
  return `(func $t${i} (type $thunk) (param $a i32) (result i32) ${d.hasResult ? callExpr : `${callExpr} (i32.const 0)`})`;
}

/** The WAT text of the hostcalls guest (ABI 0.2.1, `malloc` bump allocator). */
export function hostcallsWat(): string {
  const imports = HOSTCALLS_IMPORTS.map(
    (d, i) => `(import "${d.module}" "${d.name}" (func $imp${i} ${d.params.length ? `(param ${d.params.join(" ")})` : ""} ${d.hasResult ? "(result i32)" : ""}))`,
  ).join("\n");
  const getBuf = HOSTCALLS_IMPORTS.findIndex((d) => d.key === "env.proxy_get_buffer_bytes");
  const n = HOSTCALLS_IMPORTS.length;
  const cb = (name: Callback) => CALLBACKS.indexOf(name);
  const isRoot = `(i32.load8_u (i32.add (i32.const ${ROOT_FLAGS}) (local.get $a0)))`;
  return `(module
  (type $thunk (func (param i32) (result i32)))
  ${imports}
  (memory (export "memory") 5)
  (global $heap (mut i32) (i32.const ${HEAP}))
  (global $loaded (mut i32) (i32.const 0))
  (global $ret (mut i32) (i32.const 0))
  (table ${n} funcref)
  (elem (i32.const 0) ${HOSTCALLS_IMPORTS.map((_, i) => `$t${i}`).join(" ")})
  (func $malloc (export "malloc") (param $n i32) (result i32) (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.and (i32.add (i32.add (global.get $heap) (local.get $n)) (i32.const 7)) (i32.const -8)))
    (if (i32.gt_u (global.get $heap) (i32.shl (memory.size) (i32.const 16)))
      (then (drop (memory.grow (i32.add (i32.shr_u (local.get $n) (i32.const 16)) (i32.const 1))))))
    (local.get $p))
  (func (export "proxy_abi_version_0_2_1"))
  ;; hello + newline at 2048 and the iovec {2048, 6} at out(40), for fd_write steps
  (data (i32.const 2048) "hello\\0a")
  (data (i32.const ${out(40)}) "\\00\\08\\00\\00\\06\\00\\00\\00")
  (func $a32 (param $p i32) (result i32)
    (if (result i32) (i32.eq (i32.load (local.get $p)) (i32.const 2))
      (then (i32.load (i32.load offset=4 (local.get $p))))
      (else (i32.load offset=4 (local.get $p)))))
  ${HOSTCALLS_IMPORTS.map((d, i) => thunk(i, d)).join("\n  ")}
  (func $ensure (local $src i32) (local $len i32) (local $i i32)
    (if (global.get $loaded) (then (return)))
    (global.set $loaded (i32.const 1))
    (i32.store (i32.const ${CFG}) (i32.const 0))
    (if (call $imp${getBuf} (i32.const 6) (i32.const 0) (i32.const 0x100000) (i32.const 200) (i32.const 204))
      (then (return)))
    (local.set $src (i32.load (i32.const 200)))
    (local.set $len (i32.load (i32.const 204)))
    (block $b (loop $l
      (br_if $b (i32.ge_u (local.get $i) (local.get $len)))
      (i32.store8 (i32.add (i32.const ${CFG}) (local.get $i)) (i32.load8_u (i32.add (local.get $src) (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l))))
  (func $run (param $cb i32) (local $i i32) (local $p i32) (local $n i32) (local $argc i32) (local $imp i32) (local $slot i32)
    (call $ensure)
    (local.set $n (i32.load (i32.const ${CFG})))
    (local.set $p (i32.const ${CFG + 4}))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $argc (i32.load offset=8 (local.get $p)))
      (if (i32.eq (i32.load (local.get $p)) (local.get $cb)) (then
        (local.set $imp (i32.load offset=4 (local.get $p)))
        (local.set $slot (i32.add (i32.const ${RESULTS}) (i32.shl (local.get $i) (i32.const 3))))
        (if (i32.eq (local.get $imp) (i32.const ${RETURN}))
          (then (global.set $ret (call $a32 (i32.add (local.get $p) (i32.const 12)))))
          (else (i32.store (local.get $slot)
            (call_indirect (type $thunk) (i32.add (local.get $p) (i32.const 12)) (local.get $imp)))))
        (i32.store offset=4 (local.get $slot) (i32.add (i32.load offset=4 (local.get $slot)) (i32.const 1)))))
      (local.set $p (i32.add (local.get $p) (i32.add (i32.const 12) (i32.mul (local.get $argc) (i32.const 12)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))))
  (func $cb (param $id i32) (param $default i32) (result i32)
    (global.set $ret (local.get $default))
    (call $run (local.get $id))
    (global.get $ret))
  (func (export "proxy_on_context_create") (param $a0 i32) (param $a1 i32)
    (if (i32.eqz (local.get $a1))
      (then (i32.store8 (i32.add (i32.const ${ROOT_FLAGS}) (local.get $a0)) (i32.const 1)) (drop (call $cb (i32.const ${cb("root_create")}) (i32.const 0))))
      (else (drop (call $cb (i32.const ${cb("create")}) (i32.const 0))))))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (call $cb (i32.const ${cb("vm_start")}) (i32.const 1)))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (call $cb (i32.const ${cb("configure")}) (i32.const 1)))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (call $cb (i32.const ${cb("request_headers")}) (i32.const 0)))
  (func (export "proxy_on_request_body") (param i32 i32 i32) (result i32) (call $cb (i32.const ${cb("request_body")}) (i32.const 0)))
  (func (export "proxy_on_request_trailers") (param i32 i32) (result i32) (call $cb (i32.const ${cb("request_trailers")}) (i32.const 0)))
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32) (call $cb (i32.const ${cb("response_headers")}) (i32.const 0)))
  (func (export "proxy_on_response_body") (param i32 i32 i32) (result i32) (call $cb (i32.const ${cb("response_body")}) (i32.const 0)))
  (func (export "proxy_on_response_trailers") (param i32 i32) (result i32) (call $cb (i32.const ${cb("response_trailers")}) (i32.const 0)))
  (func (export "proxy_on_log") (param i32) (drop (call $cb (i32.const ${cb("log")}) (i32.const 0))))
  (func (export "proxy_on_done") (param $a0 i32) (result i32)
    (if (result i32) ${isRoot}
      (then (call $cb (i32.const ${cb("root_done")}) (i32.const 1)))
      (else (call $cb (i32.const ${cb("done")}) (i32.const 1)))))
  (func (export "proxy_on_delete") (param $a0 i32)
    (if ${isRoot}
      (then (drop (call $cb (i32.const ${cb("root_delete")}) (i32.const 0))))
      (else (drop (call $cb (i32.const ${cb("delete")}) (i32.const 0))))))
  (func (export "proxy_on_tick") (param i32) (drop (call $cb (i32.const ${cb("tick")}) (i32.const 0))))
  (func (export "proxy_on_http_call_response") (param i32 i32 i32 i32 i32) (drop (call $cb (i32.const ${cb("http_call_response")}) (i32.const 0))))
  (func (export "proxy_on_queue_ready") (param i32 i32) (drop (call $cb (i32.const ${cb("queue_ready")}) (i32.const 0))))
)`;
}

let cached: Promise<Uint8Array> | undefined;

/** The assembled hostcalls guest (built once per test file). */
export function hostcallsModule(): Promise<Uint8Array> {
  cached ??= (async () => {
    const wabt = await (await import("wabt")).default();
    const mod = wabt.parseWat("hostcalls.wat", hostcallsWat());
    try {
      return new Uint8Array(mod.toBinary({}).buffer);
    } finally {
      mod.destroy();
    }
  })();
  return cached;
}

/** Step i's result and how many times it ran, on `vm`. */
export function stepResult(vm: WasmVm, i: number): { status: number; hits: number } {
  const dv = new DataView(vm.exportedMemory().buffer);
  return { status: dv.getUint32(RESULTS + 8 * i, true), hits: dv.getUint32(RESULTS + 8 * i + 4, true) };
}

export function readU32(vm: WasmVm, addr: number): number {
  return new DataView(vm.exportedMemory().buffer).getUint32(addr, true);
}

export function readU64(vm: WasmVm, addr: number): bigint {
  return new DataView(vm.exportedMemory().buffer).getBigUint64(addr, true);
}

/** The (ptr, len) value the host wrote at out(n), out(n)+4. */
export function readOutBytes(vm: WasmVm, n: number): Uint8Array {
  const ptr = readU32(vm, out(n));
  const len = readU32(vm, out(n) + 4);
  return new Uint8Array(vm.exportedMemory().buffer, ptr, len).slice();
}

export function readOutText(vm: WasmVm, n: number): string {
  return new TextDecoder().decode(readOutBytes(vm, n));
}
