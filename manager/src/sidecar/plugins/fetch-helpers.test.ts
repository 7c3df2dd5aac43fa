import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { moduleName, unbox } from "./index.ts";

const wasm = Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x02]);

/** A one-file USTAR archive. */
function tar(name: string, body: Uint8Array, type = "0"): Uint8Array {
  const header = Buffer.alloc(512);
  header.write(name, 0, "latin1");
  header.write("0000644\0", 100, "latin1");
  header.write(body.length.toString(8).padStart(11, "0") + "\0", 124, "latin1");
  header.write(type, 156, "latin1");
  header.write("ustar\u000000", 257, "latin1");
  const padded = Buffer.alloc(Math.ceil(body.length / 512) * 512);
  Buffer.from(body).copy(padded);
  return new Uint8Array(Buffer.concat([header, padded, Buffer.alloc(1024)]));
}

describe("unbox (istio-agent's unboxIfPossible)", () => {
  it("returns Wasm as is, gunzips, untars the first regular file, and both nested", () => {
    expect(unbox(wasm)).toEqual(wasm);
    expect(unbox(gzipSync(wasm))).toEqual(wasm);
    expect(unbox(tar("plugin.wasm", wasm))).toEqual(wasm);
    expect(unbox(gzipSync(tar("./plugin.wasm", wasm)))).toEqual(wasm);
  });

  it("gives back anything else unchanged (the caller then refuses it as not Wasm)", () => {
    const text = new TextEncoder().encode("not wasm at all");
    expect(unbox(text)).toEqual(text);
    const brokenGzip = Uint8Array.from([0x1f, 0x8b, 1, 2, 3]);
    expect(unbox(brokenGzip)).toEqual(brokenGzip);
  });
});

describe("moduleName (istio-agent's urlAsResourceName)", () => {
  it("drops the tag or digest of an OCI reference, keeps a registry port and http URLs", () => {
    expect(moduleName("oci://reg.example.com:5000/f/guard:1.2")).toBe("oci://reg.example.com:5000/f/guard");
    expect(moduleName(`oci://reg.example.com/f/guard@sha256:${"a".repeat(64)}`)).toBe("oci://reg.example.com/f/guard");
    expect(moduleName("oci://localhost:5000/guard")).toBe("oci://localhost:5000/guard");
    expect(moduleName("https://example.com/x.wasm?v=1")).toBe("https://example.com/x.wasm?v=1");
  });
});
