import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MemoryHistogram } from "./store.ts";
import { binLeft, toSample, type Bins } from "./log-linear-histogram.ts";

/** The reference: a cumulative map and a current-interval map, each incremented per sample. */
class ReferenceBins {
  cumulative: Bins = new Map();
  pending: Bins = new Map();
  interval: Bins = new Map();
  record(v: number | bigint): void {
    const left = binLeft(toSample(v));
    this.cumulative.set(left, (this.cumulative.get(left) ?? 0) + 1);
    this.pending.set(left, (this.pending.get(left) ?? 0) + 1);
  }
  merge(): void {
    this.interval = this.pending;
    this.pending = new Map();
  }
}

const sortedEntries = (m: Bins) => [...m].sort((a, b) => a[0] - b[0]);

describe("MemoryHistogram bins", () => {
  it("hold the same cumulative and interval counts as one map per count, for any records and merges", () => {
    const step = fc.oneof(
      { weight: 8, arbitrary: fc.oneof(fc.integer({ min: -5, max: 2000 }), fc.bigInt({ min: -5n, max: 1n << 64n }), fc.double({ min: -5, max: 2 ** 64, noNaN: true })) },
      { weight: 1, arbitrary: fc.constant("merge" as const) },
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 200 }), (steps) => {
        const h = new MemoryHistogram("h");
        const ref = new ReferenceBins();
        for (const s of steps) {
          if (s === "merge") {
            h.merge();
            ref.merge();
          } else {
            h.record(s);
            ref.record(s);
          }
          expect(sortedEntries(h.intervalBins())).toEqual(sortedEntries(ref.interval));
        }
        expect(sortedEntries(h.cumulativeBins())).toEqual(sortedEntries(ref.cumulative));
        expect(h.used()).toBe(ref.cumulative.size > 0);
      }),
      { numRuns: 2000 },
    );
  });
});
