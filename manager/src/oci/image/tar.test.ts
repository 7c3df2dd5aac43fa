import fc from "fast-check";
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { findInTar, goBase, singleFileTar, TarError } from "./tar.ts";

function header(name: string, size: number, type = "0", extra: (h: Uint8Array) => void = () => {}): Uint8Array {
  const h = new Uint8Array(512);
  h.set(Buffer.from(name), 0);
  h.set(Buffer.from(size.toString(8).padStart(11, "0") + "\0"), 124);
  h[156] = type.charCodeAt(0);
  h.set(Buffer.from("ustar\0" + "00"), 257);
  extra(h);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.set(Buffer.from(sum.toString(8).padStart(6, "0") + "\0 "), 148);
  return h;
}

function entry(name: string, data: Uint8Array, type = "0", extra?: (h: Uint8Array) => void): Uint8Array {
  const padded = new Uint8Array(Math.ceil(data.length / 512) * 512);
  padded.set(data);
  return Buffer.concat([header(name, data.length, type, extra), padded]);
}

const END = new Uint8Array(1024);
const WASM = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 9, 9]);

describe("singleFileTar", () => {
  it("writes fixed metadata, so the same content gives the same bytes", () => {
    const a = singleFileTar("plugin.wasm", WASM);
    expect(a.length).toBe(512 + 512 + 1024);
    expect(Buffer.from(a.subarray(0, 11)).toString()).toBe("plugin.wasm");
    expect(Buffer.from(a.subarray(100, 108)).toString()).toBe("0000644\0");
    expect(Buffer.from(a.subarray(136, 148)).toString()).toBe("00000000000\0"); // mtime 0
    expect(Buffer.from(a.subarray(257, 265)).toString()).toBe("ustar\x0000");
    // Golden digest: a change in the header layout changes every published digest.
    expect(createHash("sha256").update(a).digest("hex")).toBe(createHash("sha256").update(singleFileTar("plugin.wasm", WASM)).digest("hex"));
    expect(createHash("sha256").update(a).digest("hex")).toMatchInlineSnapshot(`"9508b7dd008b01d55c8c4ce71937e10d2e00657407f1fda85b54f7dcd82f02dd"`);
  });
  it("round-trips through findInTar", () => {
    expect(findInTar(singleFileTar("plugin.wasm", WASM), "plugin.wasm")).toEqual(WASM);
  });
});

describe("findInTar (Go archive/tar semantics)", () => {
  it("matches by basename, first match wins", () => {
    const tar = Buffer.concat([entry("./a.txt", Buffer.from("x")), entry("dir/sub/plugin.wasm", WASM), entry("plugin.wasm", Buffer.from("second")), END]);
    expect(findInTar(tar, "plugin.wasm")).toEqual(WASM);
  });
  it("applies the ustar prefix, GNU long names and pax paths", () => {
    const prefixed = entry("plugin.wasm", WASM, "0", (h) => h.set(Buffer.from("some/prefix"), 345));
    expect(findInTar(Buffer.concat([prefixed, END]), "plugin.wasm")).toEqual(WASM);
    const longName = `${"d/".repeat(80)}plugin.wasm`;
    const gnu = Buffer.concat([entry("././@LongLink", Buffer.from(longName + "\0"), "L"), entry("truncated", WASM), END]);
    expect(findInTar(gnu, "plugin.wasm")).toEqual(WASM);
    const rec = (k: string, v: string) => {
      const body = ` ${k}=${v}\n`;
      let n = body.length + 1;
      if (String(n).length + body.length !== n) n = String(n + 1).length + body.length;
      return `${n}${body}`;
    };
    const pax = Buffer.concat([entry("PaxHeader", Buffer.from(rec("path", "x/plugin.wasm")), "x"), entry("other.bin", WASM), END]);
    expect(findInTar(pax, "plugin.wasm")).toEqual(WASM);
  });
  it("returns null when no entry matches, and stops at the end marker", () => {
    expect(findInTar(Buffer.concat([entry("a.wasm", WASM), END]), "plugin.wasm")).toBeNull();
    expect(findInTar(new Uint8Array(0), "plugin.wasm")).toBeNull();
  });
  it("rejects bad checksums and truncation as Go does", () => {
    const t = Buffer.concat([entry("plugin.wasm", WASM), END]);
    const bad = Buffer.from(t);
    bad[0] = 0x71;
    expect(() => findInTar(bad, "plugin.wasm")).toThrow("archive/tar: invalid tar header");
    expect(() => findInTar(t.subarray(0, 300), "plugin.wasm")).toThrow("unexpected EOF");
    expect(() => findInTar(t.subarray(0, 515), "plugin.wasm")).toThrow("failed to read plugin.wasm: unexpected EOF");
  });
  it("a directory named plugin.wasm/ matches with no content (Go's filepath.Base)", () => {
    expect(goBase("plugin.wasm/")).toBe("plugin.wasm");
    expect(findInTar(Buffer.concat([entry("plugin.wasm/", new Uint8Array(0), "5"), END]), "plugin.wasm")).toEqual(new Uint8Array(0));
  });
  it("never throws anything but TarError on arbitrary bytes (100,000 inputs)", () => {
    const valid = Buffer.concat([entry("x", Buffer.from("abc")), entry("plugin.wasm", WASM), END]);
    const arb = fc.oneof(
      fc.uint8Array({ maxLength: 2048 }),
      // mutations of a valid archive reach deeper than random bytes
      fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }).map((edits) => {
        const b = Uint8Array.from(valid);
        for (const [i, v] of edits) b[i] = v;
        return b;
      }),
      fc.nat(valid.length).map((n) => valid.subarray(0, n)),
    );
    fc.assert(
      fc.property(arb, (bytes) => {
        try {
          const r = findInTar(bytes, "plugin.wasm");
          return r === null || r instanceof Uint8Array;
        } catch (e) {
          return e instanceof TarError;
        }
      }),
      { numRuns: 100_000 },
    );
  });
});
