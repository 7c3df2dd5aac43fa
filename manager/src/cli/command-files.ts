/**
 * Which command files the CLI loads, and in what order `meshwasm --help` lists them. Commands are
 * discovered from ./commands/*.ts: each file is named after the command it registers with its
 * `register(program)` export. Loading one costs a module load through tsx, so a run that names
 * its command loads only that file.
 */

/** Commands in the order `meshwasm --help` lists them; files not named here follow, sorted. */
export const HELP_ORDER = ["build", "sidecar", "push", "pull", "verify", "inspect", "policy", "dashboard",
  "render", "deploy", "status", "diff", "rollback", "undeploy", "demo"];

/** Command names from the file names of the commands folder (tests and non-.ts files left out). */
export function commandNames(files: string[]): string[] {
  const names = files.filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts")).map((f) => f.slice(0, -3));
  const rank = (n: string) => (HELP_ORDER.includes(n) ? HELP_ORDER.indexOf(n) : HELP_ORDER.length);
  return names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/**
 * The command files a run needs: only the named command's when the first argument that is not
 * an option names one; all of them otherwise (`--help`, `help X`, no command, an unknown command,
 * which commander then reports with a suggestion).
 */
export function commandsToLoad(names: string[], args: string[]): string[] {
  const first = args.find((a) => !a.startsWith("-"));
  return first !== undefined && names.includes(first) ? [first] : names;
}
