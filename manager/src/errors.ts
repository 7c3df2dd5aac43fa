/**
 * Typed errors of the manager. Library code throws these; only the CLI catches them and
 * decides the exit code. A UserError is the user's mistake (bad config, port in use): the
 * CLI prints its message on one line with no stack trace.
 */
export class UserError extends Error {
  override readonly name = "UserError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A broken internal invariant: printed on one line as an internal error; `--verbose` or DEBUG=meshwasm adds its stack. */
export class InternalError extends Error {
  override readonly name = "InternalError";
}

/** Asks the CLI to exit with `code` after the command printed what it had to say. */
export class ExitError extends Error {
  override readonly name = "ExitError";
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}
