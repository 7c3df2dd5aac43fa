/**
 * The per-VM buffer of what streams observed since the last fold: fixed capacity, parallel
 * arrays of primitives (no allocation per event). The fold replays the events, in order, onto the
 * shared table; the stream already applied each one to the VM's local table, so this VM reacts
 * at once and the others at the next fold. When the buffer is full new events are dropped and
 * counted (the local table still has them).
 */

/** A latency sample: `value` in ns, for (class, endpoint). */
// @ts-ignore: decorator
@inline export const EVENT_SAMPLE: u8 = 1;
/** A failure: `value` is the penalised latency in ns. */
// @ts-ignore: decorator
@inline export const EVENT_PENALTY: u8 = 2;
/** A load report: `value` is the endpoint's A58 weight. */
// @ts-ignore: decorator
@inline export const EVENT_ORCA: u8 = 3;
/** The class turned out to be streaming (more than one message in a direction). */
// @ts-ignore: decorator
@inline export const EVENT_STREAMING: u8 = 4;

export class EventBuffer {
  count: i32 = 0;
  dropped: u64 = 0;
  private readonly kinds: StaticArray<u8>;
  private readonly endpoints: StaticArray<i32>;
  private readonly gens: StaticArray<u16>;
  private readonly classes: StaticArray<i32>;
  private readonly values: StaticArray<f64>;
  private readonly times: StaticArray<u64>;

  constructor(public readonly capacity: i32) {
    this.kinds = new StaticArray<u8>(capacity);
    this.endpoints = new StaticArray<i32>(capacity);
    this.gens = new StaticArray<u16>(capacity);
    this.classes = new StaticArray<i32>(capacity);
    this.values = new StaticArray<f64>(capacity);
    this.times = new StaticArray<u64>(capacity);
  }

  push(kind: u8, endpoint: i32, gen: u16, cls: i32, value: f64, time: u64): void {
    if (this.count >= this.capacity) { this.dropped++; return; }
    const i = this.count++;
    unchecked(this.kinds[i] = kind);
    unchecked(this.endpoints[i] = endpoint);
    unchecked(this.gens[i] = gen);
    unchecked(this.classes[i] = cls);
    unchecked(this.values[i] = value);
    unchecked(this.times[i] = time);
  }

  kind(i: i32): u8 { return unchecked(this.kinds[i]); }
  endpoint(i: i32): i32 { return unchecked(this.endpoints[i]); }
  gen(i: i32): u16 { return unchecked(this.gens[i]); }
  cls(i: i32): i32 { return unchecked(this.classes[i]); }
  value(i: i32): f64 { return unchecked(this.values[i]); }
  time(i: i32): u64 { return unchecked(this.times[i]); }

  clear(): void { this.count = 0; }
}
