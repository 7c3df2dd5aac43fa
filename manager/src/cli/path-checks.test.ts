import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkInputFile, checkInputFolder, checkOutputFile, checkOutputFolder } from "./path-checks.ts";

let dir: string;
let file: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "meshwasm-paths-"));
  file = path.join(dir, "file.yaml");
  await writeFile(file, "x");
  await mkdir(path.join(dir, "folder"));
});
afterAll(async () => {
  await chmod(dir, 0o755).catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

/** Root passes every permission check, so those cases run only as another user (and in test/cli as uid 65534). */
const isRoot = process.getuid?.() === 0;

describe("checkOutputFolder", () => {
  it("accepts an existing folder and one still to be created, however deep", async () => {
    await expect(checkOutputFolder("--out", dir)).resolves.toBeUndefined();
    await expect(checkOutputFolder("--out", path.join(dir, "new", "deeper"))).resolves.toBeUndefined();
  });
  it("names a file given as the folder, and a file on the way to it", async () => {
    await expect(checkOutputFolder("--out", file)).rejects.toThrow(`--out ${file}: is a file, expected a folder`);
    await expect(checkOutputFolder("--out", path.join(file, "a", "b"))).rejects.toThrow(`--out ${path.join(file, "a", "b")}: ${file} is a file, not a folder`);
  });
  it.skipIf(isRoot)("names a folder it cannot write in", async () => {
    const ro = path.join(dir, "ro");
    await mkdir(ro, { mode: 0o555 });
    await expect(checkOutputFolder("--out", path.join(ro, "x"))).rejects.toThrow(`--out ${path.join(ro, "x")}: cannot write in ${ro}: permission denied`);
  });
});

describe("checkOutputFile", () => {
  it("accepts a new file in an existing folder and an existing file", async () => {
    await expect(checkOutputFile("--output", path.join(dir, "new.wasm"))).resolves.toBeUndefined();
    await expect(checkOutputFile("--output", file)).resolves.toBeUndefined();
  });
  it("names a folder given as the file, a missing folder and a file used as a folder", async () => {
    await expect(checkOutputFile("-o", path.join(dir, "folder"))).rejects.toThrow(`-o ${path.join(dir, "folder")}: is a folder, expected a file`);
    await expect(checkOutputFile("-o", path.join(dir, "nope", "x.wasm"))).rejects.toThrow(`-o ${path.join(dir, "nope", "x.wasm")}: no such folder ${path.join(dir, "nope")}`);
    await expect(checkOutputFile("-o", path.join(file, "x.wasm"))).rejects.toThrow(`-o ${path.join(file, "x.wasm")}: ${file} is a file, not a folder`);
  });
});

describe("checkInputFile", () => {
  it("accepts a readable file", async () => {
    await expect(checkInputFile("--file", file)).resolves.toBeUndefined();
  });
  it("names a missing file, a folder, and a path through a file", async () => {
    await expect(checkInputFile("--file", path.join(dir, "missing.yaml"))).rejects.toThrow(`--file ${path.join(dir, "missing.yaml")}: no such file`);
    await expect(checkInputFile("-f", dir)).rejects.toThrow(`-f ${dir}: is a folder, expected a file`);
    await expect(checkInputFile("-f", path.join(file, "x"))).rejects.toThrow(`-f ${path.join(file, "x")}: no such file (a part of the path is a file)`);
  });
  it.skipIf(isRoot)("names a file it cannot read", async () => {
    const secret = path.join(dir, "secret.yaml");
    await writeFile(secret, "x", { mode: 0o000 });
    await expect(checkInputFile("-f", secret)).rejects.toThrow(`-f ${secret}: cannot read it: permission denied`);
  });
});

describe("checkInputFolder", () => {
  it("accepts an existing folder; names a missing one, a file, and a path through a file", async () => {
    await expect(checkInputFolder("--out", dir)).resolves.toBeUndefined();
    await expect(checkInputFolder("--out", path.join(dir, "nope"))).rejects.toThrow(`--out ${path.join(dir, "nope")}: no such folder`);
    await expect(checkInputFolder("--out", file)).rejects.toThrow(`--out ${file}: is a file, expected a folder`);
    await expect(checkInputFolder("--out", path.join(file, "x"))).rejects.toThrow(`--out ${path.join(file, "x")}: no such folder (a part of the path is a file)`);
  });
});
