/**
 * `compileCached`: compileAssemblyScript for test harnesses that several test files compile
 * (the SDK's gRPC, JSON and crypto harnesses), compiled once per source state instead of once
 * per file.
 *
 * Contract: returns exactly the bytes compileAssemblyScript(entry, options) returns for the
 * sources as they are now. A compilation is stored under a key of (entry, options, asc version,
 * asconfig.json) together with the SHA-256 of every file asc read, and of every file it looked
 * for and did not find; it is reused only while all of those still hash the same (the check
 * ccache's "direct mode" makes). asc is deterministic for the same sources and options
 * (test/build/reproducible.test.ts), so a reused module is the module a fresh compile gives.
 * Entries are written to a temporary name and renamed, so parallel test workers never read a
 * half-written one. MESHWASM_NO_COMPILE_CACHE=1 turns the cache off.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import path from "node:path";
import { ASSEMBLYSCRIPT_VERSION, compileAssemblyScript, REPO_ROOT, type CompileOptions } from "../../manager/src/build/index.ts";

const CACHE_DIR = path.join(tmpdir(), `meshwasm-compile-cache-${userInfo().uid}`);

/** Files asc read for one compilation: absolute path -> SHA-256 of its text, or null if absent. */
type ReadSet = Record<string, string | null>;

/** One stored compilation: what it read and the module, in one file so both change together. */
interface CacheEntry {
  reads: ReadSet;
  wasm: string;
}

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

async function currentHash(file: string): Promise<string | null> {
  const text = await readFile(file, "utf8").catch(() => null);
  return text === null ? null : sha256(text);
}

async function stillValid(reads: ReadSet): Promise<boolean> {
  for (const [file, hash] of Object.entries(reads)) if ((await currentHash(file)) !== hash) return false;
  return true;
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  await writeFile(temp, text);
  await rename(temp, file);
}

export async function compileCached(entry: string, options: Omit<CompileOptions, "onRead"> = {}): Promise<Uint8Array> {
  if (process.env.MESHWASM_NO_COMPILE_CACHE === "1") return compileAssemblyScript(entry, options);
  const root = options.root ?? REPO_ROOT;
  const asconfig = await readFile(path.join(root, "asconfig.json"), "utf8").catch(() => "");
  const key = sha256(JSON.stringify([entry, options, root, ASSEMBLYSCRIPT_VERSION, asconfig]));
  const entryFile = path.join(CACHE_DIR, `${key}.json`);
  try {
    const cached = JSON.parse(await readFile(entryFile, "utf8")) as CacheEntry;
    if (await stillValid(cached.reads)) return new Uint8Array(Buffer.from(cached.wasm, "base64"));
  } catch {
    // No entry yet (or a damaged one): compile afresh.
  }
  const reads: ReadSet = {};
  const wasm = await compileAssemblyScript(entry, {
    ...options,
    onRead: (file, text) => void (reads[file] = text === null ? null : sha256(text)),
  });
  await mkdir(CACHE_DIR, { recursive: true });
  const entryJson: CacheEntry = { reads, wasm: Buffer.from(wasm).toString("base64") };
  await writeAtomically(entryFile, JSON.stringify(entryJson));
  return wasm;
}
