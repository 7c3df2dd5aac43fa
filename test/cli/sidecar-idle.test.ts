/**
 * `meshwasm sidecar` with a bootstrap that has nothing to serve (no listener, no admin) runs until
 * it is signalled, as Envoy does; it used to return at once with Node's exit code 13 (unsettled
 * top-level await) and no message, since signal handlers do not keep Node's event loop alive.
 * "Started" is observed without a timed wait: the process's CPU time (/proc/PID/stat utime +
 * stime) stops growing once start-up is over; it must still be there after that, then exit 0 on
 * SIGTERM.
 */
import { readFile } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { writeEnvoyConfig, type WrittenConfig } from "../support/envoy-config.ts";
import { startBin, stopBin, type BinProcess } from "./bin-process.ts";

let written: WrittenConfig | undefined;
let proc: BinProcess | undefined;
afterEach(async () => {
  await stopBin(proc, "SIGKILL");
  proc = undefined;
  await written?.cleanup();
  written = undefined;
});

/** utime + stime of a process in clock ticks, or undefined once it has gone. */
async function cpuTicks(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  if (stat === undefined) return undefined;
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("meshwasm sidecar with nothing to serve", () => {
  it("stays up once started and exits 0 on SIGTERM", async () => {
    written = await writeEnvoyConfig("static_resources:\n  listeners: []\n  clusters: []\n");
    proc = startBin(["sidecar", "-c", written.path]);
    const pid = proc.child.pid!;
    let last = await cpuTicks(pid);
    let quietPolls = 0;
    while (quietPolls < 4 && proc.child.exitCode === null) {
      await sleep(250);
      const now = await cpuTicks(pid);
      quietPolls = now !== undefined && now === last ? quietPolls + 1 : 0;
      last = now;
    }
    expect(proc.child.exitCode, `exited on its own; stderr: ${proc.stderr()}`).toBeNull();
    await sleep(500);
    expect(proc.child.exitCode, `exited on its own; stderr: ${proc.stderr()}`).toBeNull();
    proc.child.kill("SIGTERM");
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    expect(proc.stderr()).toBe("");
  }, 90_000);
});
