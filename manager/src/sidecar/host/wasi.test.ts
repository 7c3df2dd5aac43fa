import { describe, expect, it } from "vitest";
import { LogLevel, WasiErrno } from "./abi.ts";
import { VirtualClock } from "./clock.ts";
import { WASI_FUNCTION_NAMES, WASI_RANDOM_GET_MAX_BYTES, createWasiImports, type WasiMemory } from "./wasi.ts";

const WA = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => WasiMemory & { grow(n: number): number } } }).WebAssembly;
const PAGE = 65536;

function setup(env: Record<string, string> = {}) {
  const memory = new WA.Memory({ initial: 1 });
  const logs: Array<[LogLevel, string]> = [];
  const checked: string[] = [];
  const clock = new VirtualClock(5_000_000_000n);
  clock.advance(7); // mono 7 ms, wall 5 s + 7 ms
  const wasi = createWasiImports({
    memory: () => memory,
    env,
    log: (level, msg) => logs.push([level, msg]),
    clock,
    checkAllowed: (name) => checked.push(name),
  });
  const dv = () => new DataView(memory.buffer);
  const write = (ptr: number, data: Uint8Array | string) =>
    new Uint8Array(memory.buffer).set(typeof data === "string" ? new TextEncoder().encode(data) : data, ptr);
  const iovs = (at: number, parts: Array<[number, number]>) => parts.forEach(([p, l], i) => {
    dv().setUint32(at + i * 8, p, true);
    dv().setUint32(at + i * 8 + 4, l, true);
  });
  return { memory, logs, checked, clock, wasi, dv, write, iovs };
}

const call = (wasi: Record<string, (...a: any[]) => number | void>, name: string, ...args: unknown[]) => wasi[name]!(...args);

describe("fd_write", () => {
  it.each([
    [1, LogLevel.Info],
    [2, LogLevel.Error],
  ])("fd %d logs one line at level %d with one trailing newline stripped", (fd, level) => {
    const t = setup();
    t.write(100, "hello ");
    t.write(200, "world\n\n");
    t.iovs(0, [
      [100, 6],
      [300, 0],
      [200, 7],
    ]);
    expect(call(t.wasi, "fd_write", fd, 0, 3, 50)).toBe(WasiErrno.Success);
    expect(t.logs).toEqual([[level, "hello world\n"]]);
    expect(t.dv().getUint32(50, true)).toBe(13);
  });

  it("logs each call separately, without buffering partial lines", () => {
    const t = setup();
    t.write(100, "par");
    t.iovs(0, [[100, 3]]);
    call(t.wasi, "fd_write", 1, 0, 1, 50);
    call(t.wasi, "fd_write", 1, 0, 1, 50);
    expect(t.logs).toEqual([
      [LogLevel.Info, "par"],
      [LogLevel.Info, "par"],
    ]);
  });

  it("logs nothing for an empty write and reports 0 bytes", () => {
    const t = setup();
    t.dv().setUint32(50, 99, true);
    expect(call(t.wasi, "fd_write", 1, 0, 0, 50)).toBe(WasiErrno.Success);
    expect(t.logs).toEqual([]);
    expect(t.dv().getUint32(50, true)).toBe(0);
  });

  it.each([0, 3, 100])("fd %d is BADF", (fd) => {
    const t = setup();
    expect(call(t.wasi, "fd_write", fd, 0, 0, 50)).toBe(WasiErrno.Badf);
  });

  it.each([
    ["iovec array out of bounds", (t: ReturnType<typeof setup>) => call(t.wasi, "fd_write", 1, PAGE - 4, 1, 50)],
    ["buffer out of bounds", (t: ReturnType<typeof setup>) => (t.iovs(0, [[PAGE - 2, 4]]), call(t.wasi, "fd_write", 1, 0, 1, 50))],
    ["nwritten out of bounds", (t: ReturnType<typeof setup>) => call(t.wasi, "fd_write", 1, 0, 0, PAGE - 2)],
    ["negative i32 pointer", (t: ReturnType<typeof setup>) => call(t.wasi, "fd_write", 1, -8, 1, 50)],
  ])("%s -> FAULT", (_name, run) => {
    const t = setup();
    expect(run(t)).toBe(WasiErrno.Fault);
  });

  it("sees memory growth", () => {
    const t = setup();
    t.memory.grow(1);
    t.write(PAGE + 10, "grown");
    t.iovs(PAGE, [[PAGE + 10, 5]]);
    expect(call(t.wasi, "fd_write", 1, PAGE, 1, PAGE + 100)).toBe(WasiErrno.Success);
    expect(t.logs).toEqual([[LogLevel.Info, "grown"]]);
  });
});

describe("fixed results", () => {
  it.each<[string, unknown[], number]>([
    ["fd_read", [0, 0, 1, 8], WasiErrno.Nosys],
    ["fd_fdstat_set_flags", [1, 0], WasiErrno.Nosys],
    ["fd_prestat_get", [3, 0], WasiErrno.Badf],
    ["fd_prestat_dir_name", [3, 0, 0], WasiErrno.Nosys],
    ["path_open", [3, 0, 0, 0, 0, 0n, 0n, 0, 0], WasiErrno.Noent],
    ["args_get", [0, 0], WasiErrno.Success],
    ["sched_yield", [], WasiErrno.Success],
    ["fd_tell", [1, 0], WasiErrno.Badf],
    ["fd_pread", [1, 0, 0, 0n, 0], WasiErrno.Badf],
    ["fd_readdir", [3, 0, 0, 0n, 0], WasiErrno.Badf],
    ["fd_renumber", [1, 2], WasiErrno.Badf],
    ["path_unlink_file", [3, 0, 0], WasiErrno.Notsup],
    ["sock_accept", [3, 0, 0], WasiErrno.Notsup],
    ["proc_raise", [9], WasiErrno.Notsup],
    ["fd_fdstat_set_rights", [1, 0n, 0n], WasiErrno.Notsup],
  ])("%s returns %d", (name, args, expected) => {
    const t = setup();
    expect(call(t.wasi, name, ...args)).toBe(expected);
    expect(t.logs).toEqual([]);
  });

  it.each([
    ["fd_seek", [1, 0n, 0, 0], "wasi_unstable fd_seek"],
    ["fd_close", [1], "wasi_unstable fd_close"],
  ])("%s logs an error and returns 0", (name, args, msg) => {
    const t = setup();
    expect(call(t.wasi, name, ...args)).toBe(WasiErrno.Success);
    expect(t.logs).toEqual([[LogLevel.Error, msg]]);
  });

  it("proc_exit logs an error and returns instead of aborting", () => {
    const t = setup();
    expect(call(t.wasi, "proc_exit", 3)).toBeUndefined();
    expect(t.logs).toEqual([[LogLevel.Error, "wasi_unstable proc_exit"]]);
  });
});

describe("fd_fdstat_get", () => {
  it.each([1, 2])("fd %d: filetype 0, flags 0, rights FD_WRITE, 24 bytes", (fd) => {
    const t = setup();
    t.write(200, new Uint8Array(32).fill(0xee));
    expect(call(t.wasi, "fd_fdstat_get", fd, 200)).toBe(WasiErrno.Success);
    const expected = new Uint8Array(32).fill(0xee);
    expected.fill(0, 0, 24);
    expected[8] = 64;
    expect(new Uint8Array(t.memory.buffer, 200, 32)).toEqual(expected);
  });

  it.each([0, 3])("fd %d is BADF", (fd) => {
    expect(call(setup().wasi, "fd_fdstat_get", fd, 0)).toBe(WasiErrno.Badf);
  });

  it("out-of-bounds stat -> FAULT", () => {
    expect(call(setup().wasi, "fd_fdstat_get", 1, PAGE - 8)).toBe(WasiErrno.Fault);
  });
});

describe("environ and args", () => {
  it("reports sizes and writes K=V\\0 strings with a pointer array", () => {
    const t = setup({ A: "1", LONGER: "x=y" });
    expect(call(t.wasi, "environ_sizes_get", 0, 4)).toBe(WasiErrno.Success);
    expect([t.dv().getUint32(0, true), t.dv().getUint32(4, true)]).toEqual([2, 4 + 11]);
    expect(call(t.wasi, "environ_get", 100, 200)).toBe(WasiErrno.Success);
    expect([t.dv().getUint32(100, true), t.dv().getUint32(104, true)]).toEqual([200, 204]);
    expect(new TextDecoder().decode(new Uint8Array(t.memory.buffer, 200, 15))).toBe("A=1\0LONGER=x=y\0");
  });

  it("reports an empty environment", () => {
    const t = setup();
    t.dv().setUint32(0, 9, true);
    t.dv().setUint32(4, 9, true);
    call(t.wasi, "environ_sizes_get", 0, 4);
    expect([t.dv().getUint32(0, true), t.dv().getUint32(4, true)]).toEqual([0, 0]);
  });

  it("environ_get into a too-small memory -> FAULT", () => {
    expect(call(setup({ K: "V" }).wasi, "environ_get", 0, PAGE - 2)).toBe(WasiErrno.Fault);
  });

  it("args_sizes_get writes 0 and 0", () => {
    const t = setup();
    t.dv().setUint32(0, 9, true);
    t.dv().setUint32(4, 9, true);
    expect(call(t.wasi, "args_sizes_get", 0, 4)).toBe(WasiErrno.Success);
    expect([t.dv().getUint32(0, true), t.dv().getUint32(4, true)]).toEqual([0, 0]);
  });
});

describe("clocks", () => {
  it.each([
    [0, 5_007_000_000n],
    [1, 7_000_000n],
  ])("clock %d writes u64 ns", (id, expected) => {
    const t = setup();
    expect(call(t.wasi, "clock_time_get", id, 1000n, 16)).toBe(WasiErrno.Success);
    expect(t.dv().getBigUint64(16, true)).toBe(expected);
  });

  it.each([2, 3, 99])("clock %d is NOTSUP", (id) => {
    expect(call(setup().wasi, "clock_time_get", id, 0n, 16)).toBe(WasiErrno.Notsup);
    expect(call(setup().wasi, "clock_res_get", id, 16)).toBe(WasiErrno.Notsup);
  });

  it("clock_res_get is 1 ns", () => {
    const t = setup();
    expect(call(t.wasi, "clock_res_get", 1, 16)).toBe(WasiErrno.Success);
    expect(t.dv().getBigUint64(16, true)).toBe(1n);
  });

  it("clock_time_get out of bounds -> FAULT", () => {
    expect(call(setup().wasi, "clock_time_get", 0, 0n, PAGE - 4)).toBe(WasiErrno.Fault);
  });
});

describe("random_get", () => {
  it("fills up to 64 KiB", () => {
    const t = setup();
    t.memory.grow(1);
    expect(call(t.wasi, "random_get", 0, WASI_RANDOM_GET_MAX_BYTES)).toBe(WasiErrno.Success);
    const filled = new Uint8Array(t.memory.buffer, 0, WASI_RANDOM_GET_MAX_BYTES);
    expect(filled.some((b) => b !== 0)).toBe(true);
    expect(new Uint8Array(t.memory.buffer, WASI_RANDOM_GET_MAX_BYTES, 16)).toEqual(new Uint8Array(16));
  });

  it("rejects more than 64 KiB with INVAL", () => {
    expect(call(setup().wasi, "random_get", 0, WASI_RANDOM_GET_MAX_BYTES + 1)).toBe(WasiErrno.Inval);
  });

  it("0 bytes is a no-op success; out of bounds is FAULT", () => {
    expect(call(setup().wasi, "random_get", PAGE + 5, 0)).toBe(WasiErrno.Success);
    expect(call(setup().wasi, "random_get", PAGE - 4, 8)).toBe(WasiErrno.Fault);
  });
});

describe("poll_oneoff", () => {
  it("sets nevents to 0 and succeeds", () => {
    const t = setup();
    t.dv().setUint32(40, 5, true);
    expect(call(t.wasi, "poll_oneoff", 0, 100, 1, 40)).toBe(WasiErrno.Success);
    expect(t.dv().getUint32(40, true)).toBe(0);
  });
});

describe("checkAllowed", () => {
  it("is called with the function name before each call, and a throw propagates", () => {
    const t = setup();
    call(t.wasi, "sched_yield");
    call(t.wasi, "proc_exit", 0);
    expect(t.checked).toEqual(["sched_yield", "proc_exit"]);
    const trapping = createWasiImports({
      memory: () => t.memory,
      env: {},
      log: () => {},
      clock: t.clock,
      checkAllowed: (name) => {
        throw new Error(`restricted ${name}`);
      },
    });
    expect(() => trapping.random_get!(0, 4)).toThrow("restricted random_get");
    expect(new Uint8Array(t.memory.buffer, 0, 4)).toEqual(new Uint8Array(4));
  });

  it("provides every listed function", () => {
    const t = setup();
    expect(Object.keys(t.wasi).sort()).toEqual([...WASI_FUNCTION_NAMES].sort());
  });
});
