/**
 * Flag declarations shared by the registry commands. No imports beyond commander's types, so
 * registering commands stays cheap (cli/index.ts loads every command file at start).
 */
import type { Command } from "commander";

/** Collects a repeatable option. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Registers the shared registry flags on a command. */
export function addRegistryFlags(cmd: Command): Command {
  return cmd
    .option("--username <user>", "registry user (with --password-stdin)")
    .option("--password-stdin", "read the registry password or token from standard input")
    .option("--docker-config <file>", "docker config.json to take credentials from (default $DOCKER_CONFIG/config.json, ~/.docker/config.json)")
    .option("--insecure", "allow plain HTTP to the registry (always allowed for localhost, loopback and private addresses)");
}
