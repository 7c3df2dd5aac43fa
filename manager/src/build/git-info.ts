/**
 * The source commit a build records: `git rev-parse HEAD` in the repository root, and whether the
 * files that make up the build (filters/, asconfig.json, package.json, package-lock.json) differ
 * from it (`git status --porcelain`, untracked files included). Outside a git work tree (or in a
 * folder that is not the top of one) the commit is unknown (null); a build never fails for that.
 */
import { execFile } from "node:child_process";
import { realpath } from "node:fs/promises";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface SourceCommit {
  /** Full commit hash, or null outside a git work tree (or without git). */
  commit: string | null;
  /** True when a build input differs from the commit. */
  dirty: boolean;
}

export const BUILD_INPUTS = ["filters", "asconfig.json", "package.json", "package-lock.json"];

export async function sourceCommit(root: string): Promise<SourceCommit> {
  const git = async (args: string[]): Promise<string | null> => {
    try {
      const { stdout } = await run("git", args, { cwd: root, maxBuffer: 16 * 1024 * 1024 });
      return stdout;
    } catch {
      return null;
    }
  };
  const top = (await git(["rev-parse", "--show-toplevel"]))?.trim();
  // A tree copied inside another repository must not borrow that repository's commit.
  if (!top || (await realpath(top).catch(() => top)) !== (await realpath(root).catch(() => root))) return { commit: null, dirty: false };
  const head = (await git(["rev-parse", "--verify", "-q", "HEAD"]))?.trim();
  if (!head) return { commit: null, dirty: false };
  const status = await git(["status", "--porcelain", "--untracked-files=normal", "--", ...BUILD_INPUTS]);
  return { commit: head, dirty: status === null ? false : status.trim().length > 0 };
}

/** `<version>+<first 12 hex of commit>[.dirty]` (SemVer build metadata); the bare version without a commit. */
export function buildVersion(version: string, source: SourceCommit): string {
  if (!source.commit) return version;
  return `${version}+${source.commit.slice(0, 12)}${source.dirty ? ".dirty" : ""}`;
}
