/**
 * ConfigError: every problem found in a bootstrap file, collected rather than stopping at the
 * first. The message is one line, `<file>:<line>:<col>: <field path>: <what is wrong>`, naming
 * the first problem and "(and N more)"; `errors` holds all of them in document order.
 * Envoy reports only its first validation failure; collecting all of them is a convenience.
 */
import { UserError } from "../../errors.ts";

export interface ConfigIssue {
  /** Field path, e.g. `static_resources.clusters[0].connect_timeout`; "" for syntax errors. */
  path: string;
  line: number;
  column: number;
  message: string;
}

export class ConfigError extends UserError {
  readonly sourceName: string;
  readonly errors: ConfigIssue[];

  constructor(sourceName: string, errors: ConfigIssue[]) {
    super(formatConfigErrors(sourceName, errors));
    this.sourceName = sourceName;
    this.errors = errors;
  }
}

/** `<file>:<line>:<col>: <path>: <message>` for one issue. */
export function formatIssue(sourceName: string, issue: ConfigIssue): string {
  const where = `${sourceName}:${issue.line}:${issue.column}`;
  return issue.path ? `${where}: ${issue.path}: ${issue.message}` : `${where}: ${issue.message}`;
}

function formatConfigErrors(sourceName: string, errors: ConfigIssue[]): string {
  if (errors.length === 0) return `${sourceName}: invalid configuration`;
  const first = formatIssue(sourceName, errors[0]!);
  return errors.length > 1 ? `${first} (and ${errors.length - 1} more)` : first;
}
