import { describe, expect, it } from "vitest";
import { GuestMemory, InvalidMemoryAccessError } from "./memory.ts";
import { decodePairs, encodePairs } from "./pairs.ts";

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

  it("writes bytes into memory the allocator grew (writeOut remakes its views after allocating)", () => {
    const mem = new WebAssembly.Memory({ initial: 1 });
    const gm = new GuestMemory(() => mem, () => mem.grow(1) * 65536);
    gm.writeOut(new Uint8Array([5, 6, 7]), 8, 12);
    expect([gm.readU32(8), gm.readU32(12)]).toEqual([65536, 3]);
    expect([...new Uint8Array(mem.buffer, 65536, 3)]).toEqual([5, 6, 7]);
  });

  it("writes a value it wrote before (kept as words) byte for byte, never past its length, and stays exact past its bound", () => {
    const mem = new WebAssembly.Memory({ initial: 1 });
    const u8 = new Uint8Array(mem.buffer);
    let allocs = 0;
    // Each allocation sits right before a guard byte: a word written past the value would hit it.
    const gm = new GuestMemory(() => mem, (n) => {
      allocs++;
      u8.fill(0xee, 5000, 5000 + n + 8);
      return 5001;
    });
    const check = (s: string) => {
      gm.writeOutString(s, 8, 12);
      const [ptr, len] = [gm.readU32(8), gm.readU32(12)];
      expect([ptr, len]).toEqual([5001, Buffer.byteLength(s)]);
      expect(Buffer.from(u8.subarray(ptr, ptr + len)).toString("utf8")).toBe(s);
      expect([u8[5000], u8[ptr + len]]).toEqual([0xee, 0xee]);
    };
    const values = ["0", "ab", "abc", "abcd", "abcde", "application/grpc", "/meshwasm.demo.v1.Echo/Unary", "p".repeat(63), "q".repeat(64), "\u007f"];
    for (let round = 0; round < 3; round++) for (const s of values) check(s);
    expect(allocs).toBe(values.length * 3);
    for (let round = 0; round < 2; round++) for (let i = 0; i < 2000; i++) check(`v${i}-${"w".repeat(i % 50)}`);
    for (const s of values) check(s);
  });

  it("reads short and long values as copies of exactly their bytes (hand-copied and sliced)", () => {
    const { mem, gm } = setup();
    const u8 = new Uint8Array(mem.buffer);
    for (let i = 0; i < 300; i++) u8[2000 + i] = (i * 7 + 3) & 0xff;
    for (const n of [0, 1, 4, 63, 64, 65, 300]) {
      const got = gm.read(2000, n);
      expect([...got]).toEqual([...u8.subarray(2000, 2000 + n)]);
      got.fill(0); // a copy: the guest's bytes stay
      if (n > 0) expect(u8[2000]).toBe(3);
    }
    expect(() => gm.read(65530, 7)).toThrow(InvalidMemoryAccessError);
  });

  it("writes header pairs straight into guest memory byte for byte as encodePairs, NULs included over dirty memory", () => {
    const { mem, gm, allocs } = setup();
    const u8 = new Uint8Array(mem.buffer);
    const cases: Array<Array<[string, string]>> = [
      [[":path", "/a.B/C"], ["content-type", "application/grpc"], ["x-empty", ""]],
      [["x-ünïcode", "välue"], ["k", "\ud800"]],
    ];
    for (const pairs of cases) {
      u8.fill(0xff, 1024, 1024 + 256);
      gm.writeOutPairs(pairs, 8, 12);
      const expected = encodePairs(pairs);
      expect([gm.readU32(8), gm.readU32(12)]).toEqual([1024, expected.length]);
      expect([...u8.subarray(1024, 1024 + expected.length)]).toEqual([...expected]);
      expect(decodePairs(u8.slice(1024, 1024 + expected.length)).length).toBe(pairs.length);
    }
    const before = allocs();
    gm.writeOutPairs([], 8, 12);
    expect([gm.readU32(8), gm.readU32(12), allocs()]).toEqual([0, 0, before]);
    expect(() => gm.writeOutPairs([["a", "b"]], 65534, 12)).toThrow(InvalidMemoryAccessError);
    expect(allocs()).toBe(before); // a bad out-param costs no allocation
  });

  describe("readKey (interned names)", () => {
    const setup = () => {
      const mem = new WebAssembly.Memory({ initial: 1 });
      const gm = new GuestMemory(() => mem, () => 0);
      const put = (ptr: number, s: string | number[]) => {
        const b = typeof s === "string" ? Buffer.from(s) : Uint8Array.from(s);
        new Uint8Array(mem.buffer).set(b, ptr);
        return b.length;
      };
      return { gm, put };
    };

    it("returns the text of the bytes, the same string for the same bytes wherever they are", () => {
      const { gm, put } = setup();
      const n = put(100, "content-type");
      const a = gm.readKey(100, n);
      expect(a).toBe("content-type");
      put(300, "content-type");
      expect(gm.readKey(300, n)).toBe(a);
      for (const key of ["", "a", "ab", "abc", "abcd", "abcde", ":path", "xds\0listener_direction", "x".repeat(64)]) {
        const len = put(1000, key);
        expect(gm.readKey(1000, len)).toBe(key);
        expect(gm.readKey(1000, len)).toBe(key);
      }
    });

    it("reads the bytes as they are now: new bytes at a known pointer, a prefix, other lengths", () => {
      const { gm, put } = setup();
      put(100, "grpc-status");
      expect(gm.readKey(100, 11)).toBe("grpc-status");
      put(100, "grpc-statuz");
      expect(gm.readKey(100, 11)).toBe("grpc-statuz");
      expect(gm.readKey(100, 4)).toBe("grpc");
      expect(gm.readKey(100, 5)).toBe("grpc-");
    });

    it("reads what it does not intern as readString does: non-ASCII, invalid UTF-8, more than 64 bytes", () => {
      const { gm, put } = setup();
      for (const key of ["héllo", "日本", "y".repeat(65), "z".repeat(500)]) {
        const len = put(2000, key);
        expect(gm.readKey(2000, len)).toBe(key);
      }
      put(2000, [0x61, 0xff, 0x62]);
      expect(gm.readKey(2000, 3)).toBe("a\ufffdb");
      expect(() => gm.readKey(65530, 10)).toThrow(InvalidMemoryAccessError);
    });

    it("stays exact past its bound: thousands of distinct names, every one read back", () => {
      const { gm, put } = setup();
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < 3000; i++) {
          const key = `k-${i}-${"q".repeat(i % 40)}`;
          const len = put(4000, key);
          expect(gm.readKey(4000, len)).toBe(key);
        }
      }
    });
  });
});
