import { describe, expect, it } from "vitest";
import type { Context } from "./context.ts";
import { ContextTable } from "./vm.ts";

describe("ContextTable (the effective context kept resolved)", () => {
  const ctx = (id: number) => ({ id }) as unknown as Context;

  it("is always get(effectiveId): through set, delete, clear and a change of id", () => {
    const t = new ContextTable();
    const [a, b, c] = [ctx(1), ctx(2), ctx(2)];
    expect(t.effective).toBeUndefined();
    t.setEffective(2); // not there yet: nothing, until it is added
    expect(t.effective).toBeUndefined();
    t.set(1, a);
    expect(t.effective).toBeUndefined();
    t.set(2, b);
    expect(t.effective).toBe(b);
    t.set(2, c);
    expect(t.effective).toBe(c);
    t.setEffective(1);
    expect(t.effective).toBe(a);
    t.delete(2);
    expect(t.effective).toBe(a);
    t.delete(1);
    expect(t.effective).toBeUndefined();
    t.set(1, a);
    expect(t.effective).toBe(a);
    t.clear();
    expect(t.effective).toBeUndefined();
    t.setEffective(0);
    expect([t.effective, t.get(0), t.effectiveId]).toEqual([undefined, undefined, 0]);
  });
});
