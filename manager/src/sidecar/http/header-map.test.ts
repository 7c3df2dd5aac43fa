import { describe, expect, it } from "vitest";
import { HeaderMap } from "./header-map.ts";

describe("HeaderMap", () => {
  it("keeps pseudo-headers first through add, remove and setCopy", () => {
    const m = new HeaderMap([["b", "1"], [":path", "/"], ["a", "2"]]);
    m.add(":method", "GET");
    m.remove(":path");
    m.add(":authority", "x");
    m.setCopy("b", "3");
    expect(m.pairs()).toEqual([[":method", "GET"], [":authority", "x"], ["a", "2"], ["b", "3"]]);
  });

  it("view() reads the entries in order without copying", () => {
    const m = new HeaderMap([["x", "1"], [":status", "200"], ["x", "2"]]);
    expect(m.view()).toEqual([[":status", "200"], ["x", "1"], ["x", "2"]]);
    expect(m.view()).toBe(m.view());
  });

  it("byteSize counts UTF-8 bytes", () => {
    expect(new HeaderMap([["k", "é"], ["ab", "cd"]]).byteSize()).toBe(1 + 2 + 2 + 2);
  });
});
