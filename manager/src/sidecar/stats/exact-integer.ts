/**
 * ExactInteger: the value of a counter or gauge, an integer of any size held exactly, as a
 * JavaScript number while it stays within Number.MAX_SAFE_INTEGER (2^53 - 1) and as a bigint
 * beyond. Every write of a safe value then costs a double addition, not a BigInt allocation
 * (the proxy-wasm host updates metrics on every stream event); `value()` is the same bigint
 * the all-bigint representation gave, so the admin output does not change.
 *
 * Arithmetic is that of unbounded integers, number deltas truncated towards zero first, as
 * `BigInt(Math.trunc(x))` would: a sum that leaves the safe range moves the value to a bigint
 * (a double sum of two safe integers that exceeds 2^53 - 1 is rounded to a value that is not a
 * safe integer either, so the check never accepts an inexact sum). Non-finite number deltas
 * throw RangeError, as BigInt() does.
 */

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = -MAX_SAFE;

export class ExactInteger {
  #small = 0;
  /** Set once the value has left the safe range (or a set() put it outside). */
  #large: bigint | undefined = undefined;

  /** The current value. */
  value(): bigint {
    return this.#large ?? BigInt(this.#small);
  }

  protected addExact(delta: number | bigint): void {
    if (this.#large === undefined) {
      const d = typeof delta === "number" ? Math.trunc(delta) : delta >= MIN_SAFE && delta <= MAX_SAFE ? Number(delta) : NaN;
      const sum = this.#small + d;
      if (Number.isSafeInteger(sum)) {
        this.#small = sum === 0 ? 0 : sum; // no -0
        return;
      }
      const large = BigInt(this.#small) + (typeof delta === "bigint" ? delta : BigInt(Math.trunc(delta)));
      this.#large = large;
      return;
    }
    this.#large += typeof delta === "bigint" ? delta : BigInt(Math.trunc(delta));
  }

  protected subExact(delta: number | bigint): void {
    if (typeof delta === "number") this.addExact(-delta);
    else if (this.#large === undefined && delta >= MIN_SAFE && delta <= MAX_SAFE) this.addExact(-Number(delta));
    else this.addExact(-delta);
  }

  protected setExact(value: number | bigint): void {
    if (typeof value === "number") {
      const t = Math.trunc(value);
      if (Number.isSafeInteger(t)) {
        this.#small = t === 0 ? 0 : t;
        this.#large = undefined;
        return;
      }
      this.#large = BigInt(t); // throws for NaN and infinities, as before
      return;
    }
    if (value >= MIN_SAFE && value <= MAX_SAFE) {
      this.#small = Number(value);
      this.#large = undefined;
    } else {
      this.#large = value;
    }
  }
}
