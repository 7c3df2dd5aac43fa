import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { MemoryCounter, MemoryGauge } from "./store.ts";

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Values near the edges of the double-exact range as well as small and huge ones. */
const edgeBig = fc.oneof(
  fc.bigInt({ min: -1000n, max: 1000n }),
  fc.bigInt({ min: SAFE - 1000n, max: SAFE + 1000n }),
  fc.bigInt({ min: -SAFE - 1000n, max: -SAFE + 1000n }),
  fc.bigInt({ min: -(1n << 70n), max: 1n << 70n }),
);
const operand = fc.oneof(
  edgeBig,
  edgeBig.map((b) => Number(b)),
  fc.double({ min: -1e17, max: 1e17, noNaN: true }),
);
const op = fc.tuple(fc.constantFrom("add", "sub", "set"), operand);

const trunc = (v: number | bigint): bigint => (typeof v === "bigint" ? v : BigInt(Math.trunc(v)));

describe("ExactInteger (counter and gauge values)", () => {
  it("equals unbounded bigint arithmetic over random adds, subs and sets across 2^53", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
        const g = new MemoryGauge("g");
        let ref = 0n;
        for (const [kind, v] of ops) {
          if (kind === "add") (g.add(v), (ref += trunc(v)));
          else if (kind === "sub") (g.sub(v), (ref -= trunc(v)));
          else (g.set(v), (ref = trunc(v)));
          expect(g.value()).toBe(ref);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("a counter passes 2^53 exactly and keeps counting one by one", () => {
    const c = new MemoryCounter("c");
    c.add(SAFE - 1n);
    c.inc();
    expect(c.value()).toBe(SAFE);
    c.inc();
    c.inc();
    expect(c.value()).toBe(SAFE + 2n);
    expect(`${c.value()}`).toBe("9007199254740993");
    c.add(1n << 64n);
    expect(c.value()).toBe((1n << 64n) + SAFE + 2n);
  });

  it("a gauge set back into the safe range computes with numbers again, exactly", () => {
    const g = new MemoryGauge("g");
    g.set(1n << 63n);
    g.set(5);
    g.sub(7n);
    expect(g.value()).toBe(-2n);
    g.add(0);
    expect(Object.is(Number(g.value()), -0)).toBe(false);
  });

  it("non-finite number deltas throw RangeError and leave the value", () => {
    const c = new MemoryCounter("c");
    c.add(3);
    expect(() => c.add(Number.NaN)).toThrow(RangeError);
    expect(() => c.add(Infinity)).toThrow(RangeError);
    expect(c.value()).toBe(3n);
    expect(c.used()).toBe(true);
    const g = new MemoryGauge("g");
    expect(() => g.set(Number.NaN)).toThrow(RangeError);
    expect(g.used()).toBe(false);
  });
});
