/**
 * The WASI subset Envoy links for proxy-wasm modules (proxy-wasm-cpp-host src/exports.cc,
 * registered under both `wasi_snapshot_preview1` and `wasi_unstable`; the caller decides
 * the module names).
 *
 * - fd_write: fd 1 -> one INFO line, fd 2 -> one ERROR line, per call (iovecs concatenated,
 *   one trailing "\n" stripped, no buffering of partial lines, an empty write logs nothing);
 *   other fds BADF.
 * - fd_read / fd_fdstat_set_flags / fd_prestat_dir_name: ENOSYS. fd_prestat_get: BADF (ends
 *   the libc preopen scan). path_open: NOENT.
 * - fd_seek / fd_close: log an error and return 0. proc_exit: logs an error and returns.
 * - fd_fdstat_get: fds 1 and 2 get {filetype 0, flags 0, rights_base FD_WRITE (64),
 *   rights_inheriting 0} (24 bytes, as cpp-host writes them); other fds BADF.
 * - environ_*: the VM's configured variables as "K=V\0"; args_*: none.
 * - clock_time_get: 0 realtime, 1 monotonic (u64 ns), others NOTSUP; clock_res_get: 1 ns for
 *   clocks 0 and 1, others NOTSUP.
 * - random_get: at most 64 KiB, else INVAL. sched_yield: 0. poll_oneoff: nevents = 0, 0.
 * - The remaining preview1 functions are stubs: fd-based ones BADF (no file is ever open),
 *   path_*, sock_*, fd_fdstat_set_rights and proc_raise NOTSUP.
 * Every function first calls `checkAllowed(name)` (the core throws from it to trap calls
 * made where Envoy restricts them). An out-of-bounds pointer returns FAULT; nothing throws.
 */
import { webcrypto } from "node:crypto";
import { LogLevel, WasiErrno } from "./abi.ts";
import type { Clock } from "./api.ts";

/** The part of a WebAssembly.Memory the WASI functions use (re-read on every call: it grows). */
export interface WasiMemory {
  readonly buffer: ArrayBuffer;
}

export interface WasiOptions {
  memory: () => WasiMemory;
  env: Record<string, string>;
  log: (level: LogLevel, msg: string) => void;
  clock: Clock;
  checkAllowed?: (name: string) => void;
}

/** PROXY_WASM_HOST_WASI_RANDOM_GET_MAX_SIZE_BYTES. */
export const WASI_RANDOM_GET_MAX_BYTES = 64 * 1024;
/** __WASI_RIGHTS_FD_WRITE. */
const RIGHTS_FD_WRITE = 64n;

class Fault extends Error {}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8");

type WasiFn = (...args: any[]) => number | void;

export function createWasiImports(opts: WasiOptions): Record<string, WasiFn> {
  const view = (ptr: number, len: number): DataView => {
    const buf = opts.memory().buffer;
    const p = ptr >>> 0;
    const n = len >>> 0;
    if (p + n > buf.byteLength) throw new Fault();
    return new DataView(buf, p, n);
  };
  const bytes = (ptr: number, len: number): Uint8Array => {
    const v = view(ptr, len);
    return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  };
  const setU32 = (ptr: number, v: number) => view(ptr, 4).setUint32(0, v >>> 0, true);
  const setU64 = (ptr: number, v: bigint) => view(ptr, 8).setBigUint64(0, BigInt.asUintN(64, v), true);
  const envEntries = () => Object.entries(opts.env).map(([k, v]) => encoder.encode(`${k}=${v}\0`));

  /** Wraps a body with the allow-check and the FAULT translation. */
  const fn =
    (name: string, body: (...args: any[]) => number): WasiFn =>
    (...args: any[]) => {
      opts.checkAllowed?.(name);
      try {
        return body(...args);
      } catch (e) {
        if (e instanceof Fault) return WasiErrno.Fault;
        throw e;
      }
    };
  const constant = (name: string, errno: number): WasiFn => fn(name, () => errno);

  const imports: Record<string, WasiFn> = {
    fd_write: fn("fd_write", (fd: number, iovs: number, iovsLen: number, nwrittenPtr: number) => {
      let level: LogLevel;
      if (fd === 1) level = LogLevel.Info;
      else if (fd === 2) level = LogLevel.Error;
      else return WasiErrno.Badf;
      const chunks: Uint8Array[] = [];
      let written = 0;
      for (let i = 0; i < iovsLen >>> 0; i++) {
        const iov = view((iovs >>> 0) + i * 8, 8);
        const len = iov.getUint32(4, true);
        if (len === 0) continue;
        const chunk = bytes(iov.getUint32(0, true), len);
        chunks.push(chunk.slice());
        written += len;
      }
      if (written > 0) {
        const all = new Uint8Array(written);
        let off = 0;
        for (const c of chunks) {
          all.set(c, off);
          off += c.length;
        }
        const end = all[written - 1] === 0x0a ? written - 1 : written;
        opts.log(level, decoder.decode(all.subarray(0, end)));
      }
      setU32(nwrittenPtr, written);
      return WasiErrno.Success;
    }),
    fd_read: constant("fd_read", WasiErrno.Nosys),
    fd_seek: fn("fd_seek", () => {
      opts.log(LogLevel.Error, "wasi_unstable fd_seek");
      return WasiErrno.Success;
    }),
    fd_close: fn("fd_close", () => {
      opts.log(LogLevel.Error, "wasi_unstable fd_close");
      return WasiErrno.Success;
    }),
    fd_fdstat_get: fn("fd_fdstat_get", (fd: number, statPtr: number) => {
      if (fd !== 1 && fd !== 2) return WasiErrno.Badf;
      const v = view(statPtr, 24);
      v.setBigUint64(0, 0n, true); // u8 filetype (0), pad, u16 flags (0), pad
      v.setBigUint64(8, RIGHTS_FD_WRITE, true); // rights_base
      v.setBigUint64(16, 0n, true); // rights_inheriting
      return WasiErrno.Success;
    }),
    fd_fdstat_set_flags: constant("fd_fdstat_set_flags", WasiErrno.Nosys),
    fd_prestat_get: constant("fd_prestat_get", WasiErrno.Badf),
    fd_prestat_dir_name: constant("fd_prestat_dir_name", WasiErrno.Nosys),
    path_open: constant("path_open", WasiErrno.Noent),
    environ_sizes_get: fn("environ_sizes_get", (countPtr: number, sizePtr: number) => {
      const entries = envEntries();
      setU32(countPtr, entries.length);
      setU32(sizePtr, entries.reduce((n, e) => n + e.length, 0));
      return WasiErrno.Success;
    }),
    environ_get: fn("environ_get", (arrayPtr: number, bufPtr: number) => {
      let arr = arrayPtr >>> 0;
      let buf = bufPtr >>> 0;
      for (const e of envEntries()) {
        setU32(arr, buf);
        bytes(buf, e.length).set(e);
        buf += e.length;
        arr += 4;
      }
      return WasiErrno.Success;
    }),
    args_sizes_get: fn("args_sizes_get", (argcPtr: number, sizePtr: number) => {
      setU32(argcPtr, 0);
      setU32(sizePtr, 0);
      return WasiErrno.Success;
    }),
    args_get: constant("args_get", WasiErrno.Success),
    clock_time_get: fn("clock_time_get", (id: number, _precision: bigint, timePtr: number) => {
      let now: bigint;
      if (id === 0) now = opts.clock.nowWallNs();
      else if (id === 1) now = opts.clock.nowMonoNs();
      else return WasiErrno.Notsup;
      setU64(timePtr, now);
      return WasiErrno.Success;
    }),
    clock_res_get: fn("clock_res_get", (id: number, resPtr: number) => {
      if (id !== 0 && id !== 1) return WasiErrno.Notsup;
      setU64(resPtr, 1n);
      return WasiErrno.Success;
    }),
    random_get: fn("random_get", (ptr: number, len: number) => {
      const n = len >>> 0;
      if (n > WASI_RANDOM_GET_MAX_BYTES) return WasiErrno.Inval;
      if (n === 0) return WasiErrno.Success;
      const target = bytes(ptr, n);
      target.set(webcrypto.getRandomValues(new Uint8Array(n)));
      return WasiErrno.Success;
    }),
    sched_yield: constant("sched_yield", WasiErrno.Success),
    poll_oneoff: fn("poll_oneoff", (_in: number, _out: number, _nsubs: number, neventsPtr: number) => {
      setU32(neventsPtr, 0);
      return WasiErrno.Success;
    }),
    proc_exit: (_code: number): void => {
      opts.checkAllowed?.("proc_exit");
      opts.log(LogLevel.Error, "wasi_unstable proc_exit");
    },
  };

  for (const name of FD_STUBS) imports[name] = constant(name, WasiErrno.Badf);
  for (const name of NOTSUP_STUBS) imports[name] = constant(name, WasiErrno.Notsup);
  return imports;
}

/** fd-based calls with no file behind them (only stdout/stderr exist). */
const FD_STUBS = [
  "fd_advise",
  "fd_allocate",
  "fd_datasync",
  "fd_filestat_get",
  "fd_filestat_set_size",
  "fd_filestat_set_times",
  "fd_pread",
  "fd_pwrite",
  "fd_readdir",
  "fd_renumber",
  "fd_sync",
  "fd_tell",
] as const;

const NOTSUP_STUBS = [
  "fd_fdstat_set_rights",
  "path_create_directory",
  "path_filestat_get",
  "path_filestat_set_times",
  "path_link",
  "path_readlink",
  "path_remove_directory",
  "path_rename",
  "path_symlink",
  "path_unlink_file",
  "sock_accept",
  "sock_recv",
  "sock_send",
  "sock_shutdown",
  "proc_raise",
] as const;

/** Every wasi_snapshot_preview1 function name this module provides. */
export const WASI_FUNCTION_NAMES: readonly string[] = [
  "fd_write",
  "fd_read",
  "fd_seek",
  "fd_close",
  "fd_fdstat_get",
  "fd_fdstat_set_flags",
  "fd_prestat_get",
  "fd_prestat_dir_name",
  "path_open",
  "environ_sizes_get",
  "environ_get",
  "args_sizes_get",
  "args_get",
  "clock_time_get",
  "clock_res_get",
  "random_get",
  "sched_yield",
  "poll_oneoff",
  "proc_exit",
  ...FD_STUBS,
  ...NOTSUP_STUBS,
];
