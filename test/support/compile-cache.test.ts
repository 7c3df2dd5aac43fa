import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compileAssemblyScript, REPO_ROOT } from "../../manager/src/build/index.ts";
import { compileCached } from "./compile-cache.ts";

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((d) => rm(d, { recursive: true, force: true })));
});

/** A repository root of its own: asconfig.json plus a two-file module, so edits cannot touch the real tree. */
async function scratchRoot(): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), "meshwasm-compile-cache-"));
  roots.push(root);
  await cp(path.join(REPO_ROOT, "asconfig.json"), path.join(root, "asconfig.json"));
  await writeFile(path.join(root, "main.ts"), 'import { value } from "./dep";\nexport function f(): i32 { return value(); }\n');
  await writeFile(path.join(root, "dep.ts"), "export function value(): i32 { return 1; }\n");
  return root;
}

describe("compileCached", () => {
  it("gives the bytes a fresh compile gives, and recompiles when a file the module imports changes", async () => {
    const root = await scratchRoot();
    const options = { root, omitOptions: ["use"] };
    const fresh1 = await compileAssemblyScript("main.ts", options);
    expect(Buffer.compare(await compileCached("main.ts", options), fresh1)).toBe(0);
    expect(Buffer.compare(await compileCached("main.ts", options), fresh1)).toBe(0); // from the cache

    await writeFile(path.join(root, "dep.ts"), "export function value(): i32 { return 123456; }\n");
    const fresh2 = await compileAssemblyScript("main.ts", options);
    expect(Buffer.compare(fresh2, fresh1)).not.toBe(0);
    expect(Buffer.compare(await compileCached("main.ts", options), fresh2)).toBe(0);
  }, 120_000);

  it("still reports compile errors", async () => {
    const root = await scratchRoot();
    await writeFile(path.join(root, "dep.ts"), "export function value(): i32 { return nope; }\n");
    await expect(compileCached("main.ts", { root, omitOptions: ["use"] })).rejects.toThrow(/could not compile main\.ts[\s\S]*nope/);
  }, 120_000);
});
