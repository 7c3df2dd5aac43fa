import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserError } from "../errors.ts";
import { debugRequested, describeFailure, reasonOf, verboseDetail } from "./failure.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "meshwasm-failure-"));
  await writeFile(path.join(dir, "file"), "x");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function thrown(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe("describeFailure", () => {
  it("prints a UserError's message as it is, detail lines included", () => {
    expect(describeFailure(new UserError("--out x: is a file, expected a folder"))).toEqual({ line: "--out x: is a file, expected a folder", expected: true });
    expect(describeFailure(new UserError("could not compile a.ts:\nERROR TS2304")).line).toBe("could not compile a.ts:\nERROR TS2304");
  });

  it("words real file-system errors with the operation and the path", async () => {
    const notDir = await thrown(mkdir(path.join(dir, "file", "sub"), { recursive: true }));
    expect(describeFailure(notDir)).toEqual({ line: `cannot create the folder ${path.join(dir, "file", "sub")}: a part of the path is a file, not a folder (ENOTDIR)`, expected: true });
    const missing = await thrown(readFile(path.join(dir, "missing.yaml")));
    expect(describeFailure(missing).line).toBe(`cannot open ${path.join(dir, "missing.yaml")}: no such file or folder (ENOENT)`);
    const isDir = await thrown(readFile(dir));
    expect(describeFailure(isDir).line).toBe(`cannot read: is a folder, not a file (EISDIR)`);
  });

  it("words a refused connection with its address, also as the cause of fetch's TypeError", async () => {
    const port = await closedPort();
    const refused = await thrown(fetch(`http://127.0.0.1:${port}/v2/`));
    expect(refused).toBeInstanceOf(TypeError);
    expect(describeFailure(refused)).toEqual({ line: `cannot connect to 127.0.0.1:${port}: connection refused (ECONNREFUSED)`, expected: true });
  });

  it("words an unknown host with its name", async () => {
    const e = Object.assign(new Error("getaddrinfo ENOTFOUND registry.invalid"), { code: "ENOTFOUND", syscall: "getaddrinfo", hostname: "registry.invalid" });
    expect(describeFailure(e).line).toBe("cannot resolve registry.invalid: host name not found (ENOTFOUND)");
  });

  it("calls anything else a defect, on one line, pointing at --verbose", () => {
    const r = describeFailure(new TypeError("Cannot read properties of undefined (reading 'x')\nmore"));
    expect(r.expected).toBe(false);
    expect(r.line).toBe("internal error: TypeError: Cannot read properties of undefined (reading 'x') (a defect of meshwasm; rerun with --verbose for the stack trace)");
    expect(describeFailure("a string").line).toMatch(/^internal error: thrown value a string /);
    expect(describeFailure(Object.assign(new Error("odd"), { code: "ENOTACODE" })).expected).toBe(false);
  });
});

describe("reasonOf", () => {
  it("words an errno code, and keeps the first line of any other message", async () => {
    expect(reasonOf(await thrown(readFile(dir)))).toBe("is a folder, not a file (EISDIR)");
    expect(reasonOf(new Error("bad\nmore"))).toBe("bad");
  });
});

describe("verboseDetail", () => {
  it("gives each error of the cause chain with its stack", () => {
    const inner = new Error("inner");
    const outer = new UserError("outer", { cause: inner });
    const text = verboseDetail(outer);
    expect(text).toMatch(/^UserError: outer\n\s+at /);
    expect(text).toMatch(/\ncaused by: Error: inner\n\s+at /);
  });
});

describe("debugRequested", () => {
  it.each([
    ["meshwasm", true], ["*", true], ["express,meshwasm", true], ["meshwasm:cli", true], ["meshwasm*", true],
    ["", false], ["express", false], ["-meshwasm", false], ["meshwasmx", false],
  ])("DEBUG=%j -> %s", (value, expected) => {
    expect(debugRequested({ DEBUG: value })).toBe(expected);
  });
  it("is off without DEBUG", () => {
    expect(debugRequested({})).toBe(false);
  });
});
