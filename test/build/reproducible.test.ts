/**
 * Reproducible builds (issue 9 §1): the same source, copied into two different folders and built
 * at different times, by different processes with different time zones and locales, gives
 * byte-identical modules and a byte-identical build/manifest.json. Each copy is committed with
 * the same author, date and message, so both record the same commit.
 */
import { execFile } from "node:child_process";
import { cp, mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFilters, REPO_ROOT, type BuildManifest } from "../../manager/src/build/index.ts";

const run = promisify(execFile);
const FILTERS = ["add-header", "noop"];
const GIT_ENV = {
  GIT_AUTHOR_NAME: "build-test", GIT_AUTHOR_EMAIL: "build-test@example.invalid", GIT_AUTHOR_DATE: "2020-01-01T00:00:00Z",
  GIT_COMMITTER_NAME: "build-test", GIT_COMMITTER_EMAIL: "build-test@example.invalid", GIT_COMMITTER_DATE: "2020-01-01T00:00:00Z",
};

const dirs: string[] = [];

const INPUTS = ["asconfig.json", "package.json", "filters/sdk", ...FILTERS.map((f) => `filters/examples/${f}`)];

/**
 * A copy of the build inputs of `from` in a fresh folder, committed deterministically. The second
 * copy is taken from the first, so files being edited in the repository meanwhile cannot make
 * the two sources differ.
 */
async function sourceCopy(from: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "meshwasm-repro-"));
  dirs.push(dir);
  for (const sub of INPUTS) {
    await cp(path.join(from, sub), path.join(dir, sub), { recursive: true, filter: (src) => !src.includes("node_modules") });
  }
  const env = { ...process.env, ...GIT_ENV };
  await run("git", ["init", "-q", "-b", "main"], { cwd: dir, env });
  await run("git", ["add", "."], { cwd: dir, env });
  await run("git", ["-c", "commit.gpgsign=false", "commit", "-q", "-m", "source"], { cwd: dir, env });
  return dir;
}

async function filesOf(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const name of await readdir(path.join(dir, "filters"))) out.set(`filters/${name}`, await readFile(path.join(dir, "filters", name)));
  out.set("manifest.json", await readFile(path.join(dir, "manifest.json")));
  return out;
}

let first: Map<string, Buffer>;
let second: Map<string, Buffer>;

beforeAll(async () => {
  const a = await sourceCopy(REPO_ROOT);
  await buildFilters({ root: a, outDir: path.join(a, "out"), only: FILTERS, debug: true, measureSdk: false });
  first = await filesOf(path.join(a, "out"));
  await new Promise((r) => setTimeout(r, 1100));
  // The second build: another folder, another process, another time zone and locale.
  const b = await sourceCopy(a);
  const script = `import { buildFilters } from ${JSON.stringify(path.join(REPO_ROOT, "manager/src/build/index.ts"))};
await buildFilters({ root: ${JSON.stringify(b)}, outDir: ${JSON.stringify(path.join(b, "elsewhere", "out"))}, only: ${JSON.stringify(FILTERS)}, debug: true, measureSdk: false });`;
  await run(process.execPath, ["--import", pathToFileURL(path.join(REPO_ROOT, "node_modules/tsx/dist/loader.mjs")).href, "--input-type=module", "-e", script], {
    cwd: b,
    env: { ...process.env, TZ: "Pacific/Chatham", LANG: "de_DE.UTF-8", LC_ALL: "de_DE.UTF-8" },
  });
  second = await filesOf(path.join(b, "elsewhere", "out"));
}, 240_000);

afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe("meshwasm build is reproducible", () => {
  it("gives byte-identical modules and manifest", () => {
    expect([...second.keys()].sort()).toEqual([...first.keys()].sort());
    expect(first.size).toBe(FILTERS.length * 2 + 1);
    for (const [name, bytes] of first) {
      if (name.endsWith(".json")) expect(second.get(name)!.toString()).toBe(bytes.toString());
      expect([name, Buffer.compare(bytes, second.get(name)!)]).toEqual([name, 0]);
    }
  });

  it("records the commit and versions, and nothing that depends on time or place", () => {
    const manifest = JSON.parse(first.get("manifest.json")!.toString()) as BuildManifest;
    expect(manifest.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(manifest.dirty).toBe(false);
    for (const m of manifest.modules) expect(m.version).toBe(`0.1.0+${manifest.commit!.slice(0, 12)}`);
    expect(first.get("manifest.json")!.toString()).not.toMatch(/meshwasm-repro-|elsewhere|20\d\d-|T\d\d:\d\d/);
  });
});
