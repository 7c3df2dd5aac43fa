import { describe, expect, it } from "vitest";
import { GuestMemory, InvalidMemoryAccessError } from "./memory.ts";

describe("GuestMemory", () => {
  const setup = () => {
    const mem = new WebAssembly.Memory({ initial: 1 });
    let allocs = 0;
    const gm = new GuestMemory(
      () => mem,
      (n) => {
        allocs++;
        return 1024 + n * 0;
      },
    );
    return { mem, gm, allocs: () => allocs };
  };

  it("rejects out-of-bounds reads and writes with InvalidMemoryAccessError", () => {
    const { gm } = setup();
    expect(() => gm.read(65535, 2)).toThrow(InvalidMemoryAccessError);
    expect(() => gm.writeU32(65534, 1)).toThrow(InvalidMemoryAccessError);
    expect(() => gm.read(0xffffffff, 1)).toThrow(InvalidMemoryAccessError);
    expect(gm.read(65535, 1)).toHaveLength(1);
  });

  it("writes (0,0) for an empty value without allocating, else allocates and writes LE ptr/len", () => {
    const { mem, gm, allocs } = setup();
    gm.writeOut(new Uint8Array(0), 8, 12);
    expect(allocs()).toBe(0);
    expect(gm.readU32(8)).toBe(0);
    gm.writeOut(new Uint8Array([1, 2, 3]), 8, 12);
    expect(allocs()).toBe(1);
    expect([gm.readU32(8), gm.readU32(12)]).toEqual([1024, 3]);
    expect([...new Uint8Array(mem.buffer, 1024, 3)]).toEqual([1, 2, 3]);
    gm.writeU64(16, 0x0102030405060708n);
    expect(new Uint8Array(mem.buffer, 16, 8)[0]).toBe(8);
  });

  it("keeps working when the memory grows between and during host calls (cached views are remade)", () => {
    const mem = new WebAssembly.Memory({ initial: 1 });
    // An allocator that grows the memory, as a guest malloc may, and returns the new page.
    const gm = new GuestMemory(
      () => mem,
      (n) => {
        const page = mem.grow(1);
        return page * 65536 + n * 0;
      },
    );
    gm.writeU32(4, 7);
    mem.grow(1);
    gm.writeU32(70_000, 9); // beyond the first page: needs the new buffer
    expect([gm.readU32(4), gm.readU32(70_000)]).toEqual([7, 9]);
    gm.writeOutString("héllo", 8, 12);
    const [ptr, len] = [gm.readU32(8), gm.readU32(12)];
    expect([ptr, len]).toEqual([2 * 65536, 6]);
    expect(gm.readString(ptr, len)).toBe("héllo");
    expect(mem.buffer.byteLength).toBe(3 * 65536);
  });

  it("reads and writes strings as UTF-8 whatever their length and characters (ASCII fast paths included)", () => {
    const mem = new WebAssembly.Memory({ initial: 1 });
    let next = 4096;
    const gm = new GuestMemory(() => mem, (n) => {
      const p = next;
      next += n + 8;
      return p;
    });
    for (const s of ["", ":path", "a".repeat(64), "a".repeat(65), "é", "x-é-y", "日本語".repeat(30), "a".repeat(300), "\u0000\u007f"]) {
      gm.writeOutString(s, 8, 12);
      const [ptr, len] = [gm.readU32(8), gm.readU32(12)];
      expect(len).toBe(Buffer.byteLength(s));
      if (len > 0) expect(Buffer.from(new Uint8Array(mem.buffer, ptr, len)).toString("utf8")).toBe(s);
      const bytes = Buffer.from(s);
      new Uint8Array(mem.buffer).set(bytes, 60000);
      expect(gm.readString(60000, bytes.length)).toBe(s);
    }
    // Invalid UTF-8 is replaced as TextDecoder replaces it, short or long.
    new Uint8Array(mem.buffer).set([0x61, 0xff, 0x62], 60000);
    expect(gm.readString(60000, 3)).toBe("a\ufffdb");
  });
});
