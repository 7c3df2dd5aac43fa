/**
 * The process the `meshwasm` bin starts (issue 7 §5). The bin loads the TypeScript CLI through
 * tsx's in-process loader API (not the tsx command, which would run the CLI in a second node),
 * so the sidecar runs in that process. What else it starts, measured: when a source file is not
 * in tsx's transform cache, esbuild's transform service (`esbuild --service`) runs as its one
 * child; that child holds no IP socket and exits when the process ends (its stdin closes). The
 * tests run with a cold cache (TSX_DISABLE_CACHE=1) so that this child is there to be checked.
 * SIGTERM and SIGINT stop the sidecar cleanly (exit 0); after SIGTERM, SIGINT or SIGKILL the
 * listener and admin ports are free again and no process from it is left.
 */
import { createServer } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { envoyConfig, writeEnvoyConfig, type WrittenConfig } from "../support/envoy-config.ts";
import { startEchoServer, echoClient, unary, type EchoServer } from "../support/grpc-echo.ts";
import { commandLine, descendants, hasIpSocket, startSidecarBin, stopBin, type BinProcess } from "./bin-process.ts";

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
  await stopBin(proc, "SIGKILL");
  proc = undefined;
  await written?.cleanup();
  written = undefined;
});

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

async function waitGone(pids: number[], ms = 5_000): Promise<number[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const alive: number[] = [];
    for (const p of pids) if ((await commandLine(p)) !== undefined) alive.push(p);
    if (alive.length === 0 || Date.now() > deadline) return alive;
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Started {
  listener: number;
  admin: number;
  /** The process's descendants while it served. */
  children: number[];
}

/** Starts the bin with a listener and an admin port; returns once an RPC went through it. */
async function startServing(): Promise<Started> {
  written = await writeEnvoyConfig(envoyConfig({ clusters: [{ name: "backend", ports: [backend.port] }], admin: true }));
  const started = await startSidecarBin(written.path, [], { TSX_DISABLE_CACHE: "1" });
  proc = started.proc;
  const { listener, admin } = started;
  const client = echoClient(listener);
  try {
    expect((await unary(client, { message: "up" })).backend).toBe("b1");
  } finally {
    client.close();
  }
  expect(await canListen(listener)).toBe(false);
  expect(await canListen(admin)).toBe(false);
  return { listener, admin, children: await descendants(proc.child.pid!) };
}

describe("the process started by the meshwasm bin", () => {
  it("runs the sidecar itself; its only child is esbuild's transform service, which holds no IP socket", async () => {
    const { children } = await startServing();
    expect(await hasIpSocket(proc!.child.pid!)).toBe(true); // the sidecar's own listeners
    for (const pid of children) {
      expect(await commandLine(pid)).toMatch(/\/esbuild --service=/);
      expect(await hasIpSocket(pid)).toBe(false);
    }
    expect(children.length).toBeLessThanOrEqual(1);
  }, 60_000);

  it.each(["SIGTERM", "SIGINT"] as const)("%s stops the sidecar: exit 0, ports released, nothing left", async (signal) => {
    const started = await startServing();
    proc!.child.kill(signal);
    const exit = await Promise.race([proc!.exited, new Promise<"hung">((r) => setTimeout(() => r("hung"), 15_000))]);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(await waitGone(started.children)).toEqual([]);
    expect(await canListen(started.listener)).toBe(true);
    expect(await canListen(started.admin)).toBe(true);
  }, 60_000);

  it("SIGKILL ends it: ports released, no orphan left behind", async () => {
    const started = await startServing();
    proc!.child.kill("SIGKILL");
    expect(await proc!.exited).toEqual({ code: null, signal: "SIGKILL" });
    expect(await waitGone(started.children)).toEqual([]);
    expect(await canListen(started.listener)).toBe(true);
    expect(await canListen(started.admin)).toBe(true);
  }, 60_000);
});
