/**
 * `meshwasm sidecar --log-level / --component-log-level` run as a user runs them (the real bin):
 * Envoy's defaults (info), `wasm:debug` making a filter's debug messages visible, the admin
 * `/logging` endpoint changing levels of the running process, lines in Envoy's default format on
 * stderr, and Envoy's one-line errors for bad values.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { envoyConfig, wasmFilter, writeEnvoyConfig, type WrittenConfig } from "../support/envoy-config.ts";
import { startEchoServer, echoClient, unary, type EchoServer } from "../support/grpc-echo.ts";
import { loggingGuest } from "../sidecar/logging-guest.ts";
import { startBin, startSidecarBin, stopBin, type BinProcess } from "./bin-process.ts";

let backend: EchoServer;
let written: WrittenConfig | undefined;
let proc: BinProcess | undefined;

beforeAll(async () => {
  backend = await startEchoServer("b1");
});
afterAll(async () => {
  await backend.stop();
});
afterEach(async () => {
  await stopBin(proc, "SIGTERM");
  proc = undefined;
  await written?.cleanup();
  written = undefined;
});

async function start(args: string[]): Promise<{ listener: number; admin: number }> {
  written = await writeEnvoyConfig(
    envoyConfig({
      clusters: [{ name: "backend", ports: [backend.port] }],
      admin: true,
      httpFilters: [wasmFilter({ name: "logger", filename: "log.wasm" })],
    }),
    { "log.wasm": await loggingGuest().build() },
  );
  const started = await startSidecarBin(written.path, args);
  proc = started.proc;
  return { listener: started.listener, admin: started.admin };
}

async function rpc(port: number): Promise<void> {
  const client = echoClient(port);
  try {
    await unary(client, { message: "x" });
  } finally {
    client.close();
  }
}

/** The filter's messages printed so far, as `<level> <message>`, checking Envoy's line format. */
async function filterLines(expected: number, waitMs = 10_000): Promise<string[]> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const lines = proc!.stderr().split("\n").filter((l) => l.includes("wasm log logger: at-"));
    if (lines.length >= expected || Date.now() > deadline) {
      return lines.map((l) => {
        const m = /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\]\[(\d+)\]\[(\w+)\]\[wasm\] wasm log logger: (at-\w+)$/.exec(l);
        expect(m, l).not.toBeNull();
        expect(Number(m![1])).toBe(proc!.child.pid);
        return `${m![2]} ${m![3]}`;
      });
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("meshwasm sidecar logging options", () => {
  it("defaults to info: a filter's debug message is not printed", async () => {
    const { listener } = await start([]);
    await rpc(listener);
    expect(await filterLines(2)).toEqual(["info at-info", "warning at-warn"]);
  }, 60_000);

  it("--component-log-level wasm:debug shows logDebug; /logging changes the running process", async () => {
    const { listener, admin } = await start(["--log-level", "warn", "--component-log-level", "wasm:debug,http:error"]);
    await rpc(listener);
    expect(await filterLines(3)).toEqual(["debug at-debug", "info at-info", "warning at-warn"]);
    const listing = await (await fetch(`http://127.0.0.1:${admin}/logging`, { method: "POST" })).text();
    expect(listing).toContain("  wasm: debug\n  websocket: warning\n");
    expect(listing).toContain("  http: error\n");
    expect((await fetch(`http://127.0.0.1:${admin}/logging?paths=wasm:error`, { method: "POST" })).status).toBe(200);
    await rpc(listener);
    await rpc(listener);
    // only the first request's three lines: error hides info and warning
    expect(await filterLines(4, 1_500)).toHaveLength(3);
  }, 60_000);

  it("-l trace shows everything", async () => {
    const { listener } = await start(["-l", "trace"]);
    await rpc(listener);
    expect(await filterLines(4)).toEqual(["trace at-trace", "debug at-debug", "info at-info", "warning at-warn"]);
  }, 60_000);

  it.each([
    [["--log-level", "loud"], "meshwasm: --log-level: invalid log level specified 'loud'"],
    [["--component-log-level", "wasm:loud"], "meshwasm: --component-log-level: invalid log level specified 'loud'"],
    [["--component-log-level", "colour:debug"], "meshwasm: --component-log-level: invalid component specified 'colour'"],
    [["--component-log-level", "wasm"], "meshwasm: --component-log-level: component log level not correctly specified 'wasm'"],
  ])("%j: one line, exit 1", async (args, message) => {
    proc = startBin(["sidecar", "-c", "unused.yaml", ...args]);
    expect(await proc.exited).toEqual({ code: 1, signal: null });
    expect(proc.stderr()).toBe(`${message}\n`);
  }, 60_000);
});
