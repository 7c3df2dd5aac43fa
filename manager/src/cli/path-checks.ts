/**
 * Checks of the paths given on the command line, run before a command does any work, so that a
 * file where a folder is expected (or the reverse), a missing file or a permission problem is one
 * line naming the flag and the path, not a failure halfway through (or a stack trace).
 * They only look (stat, access); nothing is created.
 */
import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import path from "node:path";
import type { Stats } from "node:fs";
import { UserError } from "../errors.ts";

type Lookup = { stats: Stats } | { missing: true } | { code: string };

async function lookup(p: string): Promise<Lookup> {
  try {
    return { stats: await stat(p) };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "EIO";
    return code === "ENOENT" ? { missing: true } : { code };
  }
}

/** "FLAG GIVEN: cannot VERB P: reason", P "it" when it is GIVEN itself. */
function denied(flag: string, given: string, verb: string, p: string, code: string): UserError {
  const what = code === "EACCES" || code === "EPERM" ? "permission denied" : code === "EROFS" ? "read-only file system" : code;
  return new UserError(`${flag} ${given}: cannot ${verb} ${p === path.resolve(given) ? "it" : p}: ${what}`);
}

/**
 * The nearest existing folder at or above `dir`, which must be writable: a folder `dir` is (or
 * will be created in). A file on the way is an error naming it.
 */
async function writableAncestor(flag: string, given: string, dir: string): Promise<string> {
  for (let p = dir; ; p = path.dirname(p)) {
    const found = await lookup(p);
    if ("stats" in found) {
      if (!found.stats.isDirectory()) {
        throw new UserError(p === dir
          ? `${flag} ${given}: is a file, expected a folder`
          : `${flag} ${given}: ${p} is a file, not a folder`);
      }
      try {
        await access(p, constants.W_OK | constants.X_OK);
      } catch (e) {
        throw denied(flag, given, "write in", p, (e as NodeJS.ErrnoException).code ?? "EACCES");
      }
      return p;
    }
    if ("code" in found && found.code !== "ENOTDIR") throw denied(flag, given, "access", p, found.code);
    if (path.dirname(p) === p) throw new UserError(`${flag} ${given}: no existing folder above it`);
  }
}

/** `given` is an existing folder, or one that can be created: no file in the way, writable. */
export async function checkOutputFolder(flag: string, given: string): Promise<void> {
  await writableAncestor(flag, given, path.resolve(given));
}

/** `given` can be written as a file: not a folder, in an existing writable folder. */
export async function checkOutputFile(flag: string, given: string): Promise<void> {
  const file = path.resolve(given);
  const found = await lookup(file);
  if ("stats" in found && found.stats.isDirectory()) throw new UserError(`${flag} ${given}: is a folder, expected a file`);
  const parent = path.dirname(file);
  const dir = await lookup(parent);
  if ("missing" in dir) throw new UserError(`${flag} ${given}: no such folder ${parent}`);
  if ("stats" in dir && !dir.stats.isDirectory()) throw new UserError(`${flag} ${given}: ${parent} is a file, not a folder`);
  await writableAncestor(flag, given, parent);
  if ("stats" in found) {
    try {
      await access(file, constants.W_OK);
    } catch (e) {
      throw denied(flag, given, "write", file, (e as NodeJS.ErrnoException).code ?? "EACCES");
    }
  }
}

/** `given` is an existing, readable file (not a folder). */
export async function checkInputFile(flag: string, given: string): Promise<void> {
  const file = path.resolve(given);
  const found = await lookup(file);
  if ("missing" in found) throw new UserError(`${flag} ${given}: no such file`);
  if ("code" in found) {
    if (found.code === "ENOTDIR") throw new UserError(`${flag} ${given}: no such file (a part of the path is a file)`);
    throw denied(flag, given, "access", file, found.code);
  }
  if (found.stats.isDirectory()) throw new UserError(`${flag} ${given}: is a folder, expected a file`);
  try {
    await access(file, constants.R_OK);
  } catch (e) {
    throw denied(flag, given, "read", file, (e as NodeJS.ErrnoException).code ?? "EACCES");
  }
}

/** `given` is an existing folder that can be listed. */
export async function checkInputFolder(flag: string, given: string): Promise<void> {
  const dir = path.resolve(given);
  const found = await lookup(dir);
  if ("missing" in found) throw new UserError(`${flag} ${given}: no such folder`);
  if ("code" in found) {
    if (found.code === "ENOTDIR") throw new UserError(`${flag} ${given}: no such folder (a part of the path is a file)`);
    throw denied(flag, given, "access", dir, found.code);
  }
  if (!found.stats.isDirectory()) throw new UserError(`${flag} ${given}: is a file, expected a folder`);
  try {
    await access(dir, constants.R_OK | constants.X_OK);
  } catch (e) {
    throw denied(flag, given, "read", dir, (e as NodeJS.ErrnoException).code ?? "EACCES");
  }
}
