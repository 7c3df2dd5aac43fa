/**
 * Earliest-deadline-first scheduler, as Envoy's Upstream::EdfScheduler (edf_scheduler.h):
 * each entry has a deadline `current_time + 1/weight`; a pick pops the earliest deadline
 * (ties broken by insertion order), advances current time to it and re-adds the entry with
 * the weight the caller computes at that moment (so least-request can re-weigh by load).
 * Over time every entry is picked in proportion to its weight.
 */
interface Item<T> {
  deadline: number;
  order: number;
  entry: T;
}

export class EdfScheduler<T> {
  private heap: Item<T>[] = [];
  private currentTime = 0;
  private orderOffset = 0;

  get size(): number {
    return this.heap.length;
  }

  add(weight: number, entry: T): void {
    if (!(weight > 0)) return;
    this.push({ deadline: this.currentTime + 1 / weight, order: this.orderOffset++, entry });
  }

  /** The entry with the earliest deadline, without removing it. */
  peek(): T | undefined {
    return this.heap[0]?.entry;
  }

  /** Pops the earliest entry and re-adds it with `weightOf(entry)` (dropped if <= 0). */
  pickAndAdd(weightOf: (entry: T) => number): T | undefined {
    const top = this.pop();
    if (!top) return undefined;
    this.currentTime = top.deadline;
    this.add(weightOf(top.entry), top.entry);
    return top.entry;
  }

  private less(a: Item<T>, b: Item<T>): boolean {
    return a.deadline < b.deadline || (a.deadline === b.deadline && a.order < b.order);
  }

  private push(item: Item<T>): void {
    const h = this.heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): Item<T> | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
