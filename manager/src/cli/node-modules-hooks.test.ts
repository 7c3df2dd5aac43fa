import { readFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { load } from "./node-modules-hooks.mjs";

type Next = Parameters<typeof load>[2];
type Context = Parameters<typeof load>[1];

const context = (format: string): Context => ({ format, conditions: [], importAttributes: {}, importAssertions: {} }) as Context;

/** A next hook that records that it was asked, and answers with a marker. */
function nextHook(): { next: Next; asked: string[] } {
  const asked: string[] = [];
  const next = (async (url: string) => {
    asked.push(url);
    return { format: "module", source: "/* from the next hook */", shortCircuit: true };
  }) as unknown as Next;
  return { next, asked };
}

const binaryen = pathToFileURL(`${process.cwd()}/node_modules/binaryen/index.js`).href;

describe("node-modules-hooks load", () => {
  it("loads an ES module of node_modules itself, byte for byte, without asking the next hook (tsx)", async () => {
    const { next, asked } = nextHook();
    const r = await load(binaryen, context("module"), next);
    expect(asked).toEqual([]);
    expect(r.shortCircuit).toBe(true);
    expect(r.format).toBe("module");
    expect(Buffer.compare(r.source as Buffer, await readFile(new URL(binaryen)))).toBe(0);
  });

  it.each([
    ["the project's TypeScript", pathToFileURL(`${process.cwd()}/manager/src/errors.ts`).href, "module"],
    ["a CommonJS package", pathToFileURL(`${process.cwd()}/node_modules/commander/index.js`).href, "commonjs"],
    ["a JSON file of a package", pathToFileURL(`${process.cwd()}/node_modules/assemblyscript/package.json`).href, "json"],
    ["a package file with a query", `${binaryen}?v=1`, "module"],
    ["a TypeScript file inside node_modules", pathToFileURL(`${process.cwd()}/node_modules/some-package/index.ts`).href, "module"],
    ["a builtin", "node:fs", "builtin"],
  ])("passes %s on to the next hook", async (_what, url, format) => {
    const { next, asked } = nextHook();
    const r = await load(url, context(format), next);
    expect(asked).toEqual([url]);
    expect(r.source).toBe("/* from the next hook */");
  });
});
