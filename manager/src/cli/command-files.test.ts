import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { HELP_ORDER, commandNames, commandsToLoad } from "./command-files.ts";

describe("commandNames", () => {
  it("lists the command files in help order, then the others sorted; tests and other files left out", () => {
    expect(commandNames(["zeta.ts", "build.ts", "build.test.ts", "alpha.ts", "README.md", "sidecar.ts"])).toEqual(["build", "sidecar", "alpha", "zeta"]);
  });

  it("finds every command of the help order in the commands folder", () => {
    expect(commandNames(readdirSync(new URL("./commands/", import.meta.url)))).toEqual(HELP_ORDER);
  });
});

describe("commandsToLoad", () => {
  const names = ["build", "sidecar", "policy"];
  it.each([
    [["build", "--out", "x"], ["build"]],
    [["--verbose", "policy", "check", "f"], ["policy"]],
    [["build", "--help"], ["build"]],
    [["--help"], names],
    [[], names],
    [["help", "build"], names],
    [["biuld"], names],
  ])("%j loads %j", (args, expected) => {
    expect(commandsToLoad(names, args)).toEqual(expected);
  });
});
