/**
 * What the CLI prints when a command fails: one line on stderr, never a stack trace unless asked
 * for (`--verbose`, or `DEBUG` naming meshwasm as the `debug` package reads it: a comma- or
 * space-separated list where `*` and `meshwasm*` match).
 *
 *  - UserError: its message (the library already named the file, field or flag).
 *  - A Node system error (fs, net, dns; `code` like ENOENT plus `syscall`, `path`, `address`),
 *    also when it is the `cause` of another error such as undici's "fetch failed": the operation,
 *    the path or address, and the reason in words (errno names as in errno(3) and libuv).
 *  - Anything else is a defect of meshwasm: its name and message on one line, with the hint to
 *    rerun with --verbose for the stack.
 *
 * Pure: the caller writes the lines and picks the exit code.
 */
import { UserError } from "../errors.ts";

/** Reasons in words for the errno codes users meet (errno(3), libuv's uv_strerror). */
const REASONS: Record<string, string> = {
  ENOENT: "no such file or folder",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOTDIR: "a part of the path is a file, not a folder",
  EISDIR: "is a folder, not a file",
  EEXIST: "already exists",
  ENOTEMPTY: "folder not empty",
  EROFS: "read-only file system",
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  EMFILE: "too many open files",
  ENAMETOOLONG: "name too long",
  ELOOP: "too many symbolic links",
  EBUSY: "resource busy",
  EADDRINUSE: "address already in use",
  EADDRNOTAVAIL: "address not available on this machine",
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset by the peer",
  ETIMEDOUT: "timed out",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ENOTFOUND: "host name not found",
  EAI_AGAIN: "temporary failure resolving the host name",
  EPIPE: "the other end closed the pipe",
  UND_ERR_CONNECT_TIMEOUT: "connection timed out",
  UND_ERR_SOCKET: "connection closed unexpectedly",
};

/** Verbs for the syscalls behind the errors above. */
const OPERATIONS: Record<string, string> = {
  open: "cannot open", read: "cannot read", write: "cannot write", mkdir: "cannot create the folder",
  rmdir: "cannot remove the folder", unlink: "cannot remove", rename: "cannot rename", scandir: "cannot list",
  stat: "cannot access", lstat: "cannot access", access: "cannot access", copyfile: "cannot copy",
  chmod: "cannot change the mode of", symlink: "cannot link", readlink: "cannot read the link",
  connect: "cannot connect to", listen: "cannot listen on", bind: "cannot bind", getaddrinfo: "cannot resolve",
  queryA: "cannot resolve", queryAaaa: "cannot resolve", spawn: "cannot run", watch: "cannot watch",
};

interface SystemErrorLike {
  code: string;
  syscall?: string;
  path?: string;
  dest?: string;
  address?: string;
  port?: number;
  hostname?: string;
  message: string;
}

function isSystemError(e: unknown): e is SystemErrorLike {
  if (!(e instanceof Error)) return false;
  const code = (e as { code?: unknown }).code;
  return typeof code === "string" && Object.hasOwn(REASONS, code);
}

/** The first system error in `e`'s cause chain (`e` included), if any. */
function systemErrorIn(e: unknown): SystemErrorLike | undefined {
  for (let cur: unknown = e, depth = 0; cur !== undefined && cur !== null && depth < 8; depth++) {
    if (isSystemError(cur)) return cur;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The reason of a failed file or network operation in words, with its code: "permission denied (EACCES)". */
export function reasonOf(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === "string" && Object.hasOwn(REASONS, code)) return `${REASONS[code]} (${code})`;
  return e instanceof Error ? e.message.split("\n")[0]! : String(e);
}

/** One line for a system error: operation, where, reason, code. */
export function describeSystemError(e: SystemErrorLike): string {
  const where = e.path !== undefined
    ? e.path + (e.dest !== undefined ? ` -> ${e.dest}` : "")
    : e.hostname ?? (e.address !== undefined ? `${e.address}${e.port !== undefined ? `:${e.port}` : ""}` : undefined);
  const op = e.syscall !== undefined ? OPERATIONS[e.syscall] ?? `${e.syscall} failed on` : undefined;
  const reason = `${REASONS[e.code]} (${e.code})`;
  if (where === undefined) return op ? `${op.replace(/ (to|on|of)$/, "")}: ${reason}` : reason;
  return `${op ?? "failed"} ${where}: ${reason}`;
}

/** True when the environment asks for stack traces: DEBUG=meshwasm, meshwasm*, * (lists allowed). */
export function debugRequested(env: NodeJS.ProcessEnv): boolean {
  const names = (env.DEBUG ?? "").split(/[\s,]+/).filter(Boolean);
  return names.some((n) => !n.startsWith("-") && (n === "*" || n === "meshwasm" || n.startsWith("meshwasm:") || n === "meshwasm*"));
}

export interface FailureReport {
  /** The line to print (without the "meshwasm: " prefix and newline). */
  line: string;
  /** False for a defect of meshwasm (not the user's input or environment). */
  expected: boolean;
}

/** Classifies a failure and words it on one line. */
export function describeFailure(err: unknown): FailureReport {
  // A UserError's later lines are detail the user needs (a compiler's diagnostics): kept.
  if (err instanceof UserError) return { line: err.message, expected: true };
  const sys = systemErrorIn(err);
  if (sys) return { line: describeSystemError(sys), expected: true };
  const text = err instanceof Error ? `${err.name}: ${err.message.split("\n")[0]}` : `thrown value ${String(err).split("\n")[0]}`;
  return { line: `internal error: ${text} (a defect of meshwasm; rerun with --verbose for the stack trace)`, expected: false };
}

/** The full detail for --verbose: each error of the cause chain with its stack. */
export function verboseDetail(err: unknown): string {
  const parts: string[] = [];
  for (let cur: unknown = err, depth = 0; cur !== undefined && cur !== null && depth < 8; depth++) {
    parts.push(depth === 0 ? stackOf(cur) : `caused by: ${stackOf(cur)}`);
    cur = (cur as { cause?: unknown }).cause;
  }
  return parts.join("\n");
}

function stackOf(e: unknown): string {
  return e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e);
}
