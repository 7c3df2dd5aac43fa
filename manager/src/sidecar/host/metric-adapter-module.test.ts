import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { METRIC_ADAPTER_BYTES } from "./metric-adapter-module.ts";

/** The WAT of the module's doc comment (the lines after "In WAT", comment markers removed). */
function documentedWat(): string {
  const source = readFileSync(new URL("./metric-adapter-module.ts", import.meta.url), "utf8");
  const doc = source.slice(source.indexOf(" *   (module"), source.indexOf(" */"));
  return doc.split("\n").map((l) => l.replace(/^ \*/, "").replace(/;;.*$/, "")).join("\n");
}

describe("the metric adapter module", () => {
  it("is byte for byte wabt's assembly of the WAT it documents", async () => {
    const wabt = await (await import("wabt")).default();
    const mod = wabt.parseWat("adapter.wat", documentedWat());
    try {
      const expected = new Uint8Array(mod.toBinary({}).buffer);
      expect([...METRIC_ADAPTER_BYTES]).toEqual([...expected]);
    } finally {
      mod.destroy();
    }
    expect(WebAssembly.validate(METRIC_ADAPTER_BYTES)).toBe(true);
  });
});
