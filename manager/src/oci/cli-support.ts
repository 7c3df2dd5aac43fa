/**
 * What the `push`, `pull`, `verify` and `inspect` commands share: registry flags
 * (`--username` with `--password-stdin`, `--docker-config`, `--insecure`) turned into library
 * options, and small parsers. Kept apart from the command files so those stay thin.
 */
import { readFile } from "node:fs/promises";
import { UserError } from "../errors.ts";
import { defaultKeychain, dockerConfigKeychain, type RegistryAuth } from "./auth/credentials.ts";

export interface RegistryFlags {
  username?: string;
  passwordStdin?: boolean;
  dockerConfig?: string;
  insecure?: boolean;
}

/** Reads the password from standard input (one secret; a trailing newline is dropped). */
export async function readPasswordStdin(stdin: NodeJS.ReadableStream = process.stdin): Promise<string> {
  let text = "";
  for await (const chunk of stdin) text += typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8");
  const password = text.replace(/\r?\n$/, "");
  if (password === "") throw new UserError("--password-stdin: standard input was empty");
  return password;
}

/** The `auth` option for the library from the command's flags. */
export async function authFromFlags(flags: RegistryFlags): Promise<RegistryAuth> {
  if (flags.passwordStdin && !flags.username) throw new UserError("--password-stdin needs --username");
  if (flags.username !== undefined) {
    if (!flags.passwordStdin) throw new UserError("--username needs --password-stdin (passwords are never taken on the command line)");
    return { username: flags.username, password: await readPasswordStdin() };
  }
  if (flags.dockerConfig) {
    let text: string;
    try {
      text = await readFile(flags.dockerConfig, "utf8");
    } catch (e) {
      throw new UserError(`--docker-config: cannot read ${flags.dockerConfig}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    return dockerConfigKeychain(text, flags.dockerConfig);
  }
  return defaultKeychain();
}

/** `4096`, `64k`, `8M`, `1G` (binary units) -> bytes. */
export function parseByteSize(text: string, flag: string): number {
  const m = /^(\d+)([kmg]i?b?)?$/i.exec(text.trim());
  if (!m) throw new UserError(`${flag}: expected a byte count such as 4096, 64k or 8M, got "${text}"`);
  const unit = (m[2] ?? "").toLowerCase()[0];
  const n = Number(m[1]) * (unit === "k" ? 1024 : unit === "m" ? 1024 ** 2 : unit === "g" ? 1024 ** 3 : 1);
  if (!Number.isSafeInteger(n) || n < 1) throw new UserError(`${flag}: must be at least 1 byte, got "${text}"`);
  return n;
}
