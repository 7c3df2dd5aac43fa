/**
 * Every WASI function Envoy links (reference §1.4; proxy-wasm-cpp-host src/exports.cc), called
 * from a guest under both `wasi_snapshot_preview1` and `wasi_unstable`, with Envoy's errno and
 * effects: fd_write to the log (fd 1 info, fd 2 error, one trailing newline stripped), the VM's
 * environment variables, clocks from the host clock, fd_fdstat rights, poll_oneoff nevents = 0.
 */
import { describe, expect, it } from "vitest";
import { LogLevel } from "../../manager/src/sidecar/host/index.ts";
import { out, readU32, readU64, type Step } from "./hostcalls-guest.ts";
import { IOVEC, WASI_CASES } from "./hostcalls-cases.ts";
import { startHostcalls } from "./hostcalls-run.ts";

const NAMESPACES = ["wasi_snapshot_preview1", "wasi_unstable"] as const;


describe.each(NAMESPACES)("WASI under %s", (ns) => {
  it("returns Envoy's errno for every function", async () => {
    const steps: Step[] = [...WASI_CASES.map((c): Step => ({ on: "configure", call: `${ns}.${c.name}`, args: c.args }))];
    const { results, env, vm } = await startHostcalls(steps, { environmentVariables: { A: "1", BB: "two" } });
    const got = results().map((r, i) => `${WASI_CASES[i]!.name} ${r.hits ? r.status : "not called"}`);
    expect(got).toEqual(WASI_CASES.map((c) => `${c.name} ${c.errno}`));
    const v = vm();
    expect(readU32(v, out(48))).toBe(2); // environ count
    expect(readU32(v, out(49))).toBe("A=1\0BB=two\0".length);
    expect(readU32(v, out(51))).toBe(0); // argc
    expect(readU64(v, out(56))).toBe(1n); // clock_res_get: 1 ns
    expect(readU64(v, out(55))).toBe(env.clock.nowMonoNs()); // monotonic clock
    expect(readU32(v, out(70))).toBe(0); // poll_oneoff nevents
    expect(readU64(v, out(43) + 8)).toBe(64n); // fd_fdstat rights_base = FD_WRITE
    expect(readU32(v, out(41))).toBe(6); // fd_write nwritten
    const lines = env.logs.filter((l) => l.line.endsWith(": hello"));
    expect(lines.map((l) => l.level)).toContain(LogLevel.Info);
    expect(env.logLines()).toContain("wasm log root vm: hello");
  });

  it("writes fd 2 at error level and reads the realtime clock", async () => {
    const steps: Step[] = [
      { on: "configure", call: `${ns}.fd_write`, args: [2, IOVEC, 1, out(41)] },
      { on: "configure", call: `${ns}.clock_time_get`, args: [0, 0n, out(55)] },
    ];
    const { results, env, vm } = await startHostcalls(steps, {});
    expect(results().map((r) => r.status)).toEqual([0, 0]);
    expect(env.logs.filter((l) => l.line === "wasm log root vm: hello").map((l) => l.level)).toEqual([LogLevel.Error, LogLevel.Error]);
    expect(readU64(vm(), out(55))).toBe(env.clock.nowWallNs());
  });
});

